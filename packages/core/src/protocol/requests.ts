import { z } from 'zod';
import { AUCTION_STATUSES } from '../domain/auction.js';
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
  })
  .refine((b) => (b.minIncrement === undefined) !== (b.incrementTable === undefined), {
    error: 'give exactly one of minIncrement or incrementTable',
    path: ['minIncrement'],
  })
  .meta({ id: 'CreateAuction' });

export const placeBidBody = z.strictObject({ amount: z.number({ error: 'amount must be a number of minor units' }) }).meta({ id: 'PlaceBid' });

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
