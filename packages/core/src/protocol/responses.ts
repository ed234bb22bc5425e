import { z } from 'zod';
import { AUCTION_STATUSES } from '../domain/auction.js';
import { BID_REASONS } from '../domain/bid.js';
import { isoTime } from './requests.js';

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
    reserveMet: z.boolean().optional().describe('only when the auction has a hidden reserve (its amount is never shown)'),
    buyNowPrice: z.number().int().optional().describe('only when the auction offers Buy It Now'),
    buyNowAvailable: z.boolean().optional().describe('only when the auction offers Buy It Now: whether it still may be bought now'),
  })
  .meta({ id: 'Auction' });

/** Appended to both bid answers, each only when it applies. */
const bidExtras = {
  maxAmount: z.number().optional().describe("only when the request had one: the requester's own maximum"),
  reserveMet: z.boolean().optional().describe('only when the auction has a hidden reserve'),
  buyNowAvailable: z.boolean().optional().describe('only when the auction offers Buy It Now'),
};

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
    ...bidExtras,
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
    ...bidExtras,
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
        automatic: z.literal(true).optional().describe("a bid the engine placed for the leader's maximum (proxy bidding)"),
        buyNow: z.literal(true).optional().describe('the purchase at the Buy It Now price'),
        maxAmount: z.number().optional().describe("the bidder's maximum: only in the creator's include=all, after the end"),
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
