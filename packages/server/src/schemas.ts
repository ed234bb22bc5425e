import {
  AUCTION_STATUSES,
  BID_REASONS,
  currencySchema,
  idSchema,
  isStorableText,
  incrementTableSchema,
  minorUnitsSchema,
  positiveMinorUnitsSchema,
  type CreateAuctionInput,
  type ListBidsRequest,
} from '@outbid/core';
import { z } from 'zod';

/** ISO 8601 with an offset at the edge; epoch ms inside. */
export const isoTime = z.iso.datetime({ offset: true, error: 'must be an ISO 8601 date-time with an offset, e.g. 2030-01-01T12:00:00Z' });
const id = idSchema;

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

const ms = (iso: string) => Date.parse(iso);

/** A valid create-auction body as the service's input (times to epoch ms, the increment as one rule). */
export function createAuctionInput(body: z.output<typeof createAuctionBody>): CreateAuctionInput {
  return {
    postId: body.postId,
    startAt: ms(body.startAt),
    endAt: ms(body.endAt),
    startPrice: body.startPrice,
    increment: body.incrementTable ? { type: 'table', tiers: body.incrementTable } : { type: 'fixed', amount: body.minIncrement! },
    ...(body.currency ? { currency: body.currency } : {}),
    softClose: body.softClose
      ? {
          windowMs: body.softClose.windowMs,
          extendMs: body.softClose.extendMs,
          mode: body.softClose.mode,
          maxExtensions: body.softClose.maxExtensions ?? null,
          hardEndAt: body.softClose.hardEndAt ? ms(body.softClose.hardEndAt) : null,
        }
      : null,
  };
}

export const placeBidBody = z.strictObject({ amount: z.number({ error: 'amount must be a number of minor units' }) }).meta({ id: 'PlaceBid' });

export const listAuctionsQuery = z.object({
  status: z.enum(AUCTION_STATUSES).optional(),
  creatorId: id.optional(),
  postId: id.optional(),
  cursor: z.string().max(512).refine(isStorableText, { error: 'must not contain control characters' }).optional(),
  limit: z.coerce.number().int().min(1).max(100).optional(),
});

export const listBidsQuery = z.object({
  cursor: z.string().max(512).refine(isStorableText, { error: 'must not contain control characters' }).optional(),
  limit: z.coerce.number().int().min(1).max(100).optional(),
  include: z.enum(['accepted', 'all']).optional(),
});

/** A valid list-bids query as the service's request, for the reader `actorId` (null: anonymous). */
export function listBidsRequest(q: z.output<typeof listBidsQuery>, actorId: string | null): ListBidsRequest {
  return {
    ...(q.cursor ? { cursor: q.cursor } : {}),
    ...(q.limit ? { limit: q.limit } : {}),
    include: q.include ?? 'accepted',
    ...(actorId !== null ? { actorId } : {}),
  };
}

export const devTokenBody = z.strictObject({
  userId: id,
  roles: z.array(z.enum(['creator', 'bidder', 'viewer'])).min(1).max(3),
});

const increment = z.union([
  z.object({ minIncrement: z.number().int() }),
  z.object({ incrementTable: z.array(z.object({ from: z.number().int(), increment: z.number().int() })) }),
]);

export const auctionResponse = z
  .object({
    id: z.string(),
    postId: z.string(),
    creatorId: z.string(),
    status: z.enum(AUCTION_STATUSES),
    currency: z.string(),
    startAt: isoTime,
    endAt: isoTime.describe('the effective end, after soft-close extensions'),
    scheduledEndAt: isoTime.describe('the end as created'),
    startPrice: z.number().int(),
    currentPrice: z.number().int(),
    currentWinnerId: z.string().nullable(),
    minIncrement: z.number().int().describe('the increment at the current price'),
    minNextBid: z.number().int(),
    incrementRule: increment,
    softClose: z.object({ windowMs: z.number(), extendMs: z.number(), mode: z.string(), maxExtensions: z.number().nullable(), hardEndAt: isoTime.nullable() }).nullable(),
    version: z.number().int(),
    bidCount: z.number().int(),
    extensionCount: z.number().int(),
    createdAt: isoTime,
    closedAt: isoTime.nullable(),
    serverTime: isoTime,
  })
  .meta({ id: 'Auction' });

export const bidAcceptedResponse = z
  .object({
    status: z.literal('accepted'),
    bidId: z.string(),
    amount: z.number().int(),
    currentPrice: z.number().int(),
    currentWinnerId: z.string(),
    minNextBid: z.number().int(),
    version: z.number().int(),
    endAt: isoTime,
    extended: z.boolean(),
    serverTime: isoTime,
  })
  .meta({ id: 'BidAccepted' });

export const bidRejectedResponse = z
  .object({
    status: z.enum(['rejected', 'late']),
    reason: z.enum(BID_REASONS),
    bidId: z.string(),
    amount: z.number(),
    minNextBid: z.number().int(),
    currentPrice: z.number().int(),
    currentWinnerId: z.string().nullable(),
    version: z.number().int(),
    endAt: isoTime,
    serverTime: isoTime,
  })
  .meta({ id: 'BidRejected' });

export const bidListResponse = z
  .object({
    items: z.array(
      z.object({
        bidId: z.string(),
        version: z.number().int().nullable(),
        amount: z.number(),
        bidderId: z.string(),
        status: z.enum(['accepted', 'rejected', 'late', 'invalid']),
        reason: z.enum(BID_REASONS).optional(),
        createdAt: isoTime,
      }),
    ),
    nextCursor: z.string().nullable(),
  })
  .meta({ id: 'BidPage' });

export const problemResponseSchema = z
  .object({
    type: z.string(),
    title: z.string(),
    status: z.number().int(),
    detail: z.string(),
    instance: z.string().optional(),
    code: z.string(),
    errors: z.array(z.object({ path: z.string(), message: z.string() })).optional(),
  })
  .meta({ id: 'Problem' });
