import { z } from 'zod';
import { AUCTION_STATUSES, BUY_NOW_POLICIES } from '../domain/auction.js';
import { incrementTableSchema } from '../domain/increments.js';
import { currencySchema, minorUnitsSchema, positiveMinorUnitsSchema } from '../domain/money.js';
import { idSchema, isStorableText } from '../domain/text.js';

/** ISO 8601 with an offset at the edge; epoch ms inside. */
export const isoTime = z.iso.datetime({ offset: true, error: 'must be an ISO 8601 date-time with an offset, e.g. 2030-01-01T12:00:00Z' });
const id = idSchema;
const cursor = z.string().max(512).refine(isStorableText, { error: 'must not contain control characters' });

export const createAuctionBody = z
  .strictObject({
    postId: id,
    startAt: isoTime,
    endAt: isoTime,
    startPrice: minorUnitsSchema,
    minIncrement: positiveMinorUnitsSchema.optional(),
    incrementTable: incrementTableSchema.optional(),
    currency: currencySchema.optional(),
    softClose: z
      .strictObject({
        windowMs: z.number().int().min(1).max(86_400_000),
        extendMs: z.number().int().min(1).max(86_400_000),
        mode: z.enum(['reset', 'additive']),
        maxExtensions: z.number().int().min(0).max(1_000_000).optional(),
        hardEndAt: isoTime.optional(),
      })
      .optional(),
    reservePrice: positiveMinorUnitsSchema.optional().describe('hidden reserve: below it nobody wins; never shown to anyone, responses carry only reserveMet'),
    buyNowPrice: positiveMinorUnitsSchema.optional().describe('Buy It Now price (POST /auctions/{id}/buy-now); above startPrice and reservePrice'),
    buyNowPolicy: z.enum(BUY_NOW_POLICIES).optional().describe('when Buy It Now goes away: at the first bid (default) or once the reserve is met'),
  })
  .refine((b) => (b.minIncrement === undefined) !== (b.incrementTable === undefined), {
    error: 'give exactly one of minIncrement or incrementTable',
    path: ['minIncrement'],
  })
  .refine((b) => b.reservePrice === undefined || b.reservePrice > b.startPrice, { error: 'must be above startPrice', path: ['reservePrice'] })
  .refine((b) => b.buyNowPrice === undefined || b.buyNowPrice > Math.max(b.startPrice, b.reservePrice ?? 0), {
    error: 'must be above startPrice and reservePrice',
    path: ['buyNowPrice'],
  })
  .refine((b) => b.buyNowPolicy === undefined || b.buyNowPrice !== undefined, { error: 'give buyNowPrice with buyNowPolicy', path: ['buyNowPolicy'] })
  .meta({ id: 'CreateAuction' });

const bidAmount = (name: string) => z.number({ error: `${name} must be a number of minor units` });

/** `{ amount }`, `{ maxAmount }` (proxy bid: the engine bids for you up to it, kept secret), or both. */
export const placeBidBody = z
  .strictObject({
    amount: bidAmount('amount').optional(),
    maxAmount: bidAmount('maxAmount').optional().describe('proxy bid: the most the engine may bid for you; only ever told back to you'),
  })
  .refine((b) => b.amount !== undefined || b.maxAmount !== undefined, { error: 'give amount, maxAmount, or both', path: ['amount'] })
  .refine((b) => b.amount === undefined || b.maxAmount === undefined || b.amount <= b.maxAmount, { error: 'must not be below amount', path: ['maxAmount'] })
  .meta({ id: 'PlaceBid', description: 'amount, maxAmount, or both (amount at most maxAmount)', anyOf: [{ required: ['amount'] }, { required: ['maxAmount'] }] });

/** `POST /auctions/:id/buy-now`: no fields (an empty body or `{}`). */
export const buyNowBody = z.strictObject({}).meta({ id: 'BuyNow' });

export const listAuctionsQuery = z.object({
  status: z.enum(AUCTION_STATUSES).optional(),
  creatorId: id.optional(),
  postId: id.optional(),
  cursor: cursor.optional(),
  limit: z.coerce.number().int().min(1).max(100).optional(),
});

export const listBidsQuery = z.object({
  cursor: cursor.optional(),
  limit: z.coerce.number().int().min(1).max(100).optional(),
  include: z.enum(['accepted', 'all']).optional(),
});
