import { z } from 'zod';
import { idSchema } from './text.js';
import { currencySchema, minorUnitsSchema } from './money.js';
import { incrementAt, incrementRuleSchema, type IncrementRule } from './increments.js';
import { softClosePolicySchema, type SoftClosePolicy } from './soft-close.js';

export const AUCTION_STATUSES = ['scheduled', 'active', 'ended', 'cancelled'] as const;
export type AuctionStatus = (typeof AUCTION_STATUSES)[number];
export const auctionStatusSchema = z.enum(AUCTION_STATUSES);

/**
 * The whole state of one auction: what an engine holds hot and what the ledger stores.
 * Every state change bumps `version` by exactly one, so versions are gapless per auction; accepted bids
 * are a contiguous run of them (start comes before every bid, end and cancel after).
 */
export interface AuctionState {
  id: string;
  postId: string;
  creatorId: string;
  currency: string;
  /** Epoch ms. Bids are accepted from here (or from an earlier manual start). */
  startAt: number;
  /** Epoch ms: the end as created. */
  endAt: number;
  /** Epoch ms: the end after soft-close extensions or an early end. Exclusive: a bid at this instant is late. */
  effectiveEndAt: number;
  startPrice: number;
  increment: IncrementRule;
  softClose: SoftClosePolicy | null;
  status: AuctionStatus;
  /** The leading bid, or the start price while nobody leads. */
  currentPrice: number;
  currentWinnerId: string | null;
  version: number;
  bidCount: number;
  extensionCount: number;
  createdAt: number;
  /** Epoch ms when the auction was sealed (ended or cancelled), else null. */
  closedAt: number | null;
}

const id = idSchema;
const epochMs = z.number().int().min(0).max(8_640_000_000_000_000);

/** Validates a whole {@link AuctionState}, e.g. one read back from storage. */
export const auctionStateSchema = z.strictObject({
  id,
  postId: id,
  creatorId: id,
  currency: currencySchema,
  startAt: epochMs,
  endAt: epochMs,
  effectiveEndAt: epochMs,
  startPrice: minorUnitsSchema,
  increment: incrementRuleSchema,
  softClose: softClosePolicySchema.nullable(),
  status: auctionStatusSchema,
  currentPrice: minorUnitsSchema,
  currentWinnerId: id.nullable(),
  version: z.number().int().min(1),
  bidCount: z.number().int().min(0),
  extensionCount: z.number().int().min(0),
  createdAt: epochMs,
  closedAt: epochMs.nullable(),
});

/** What a creator supplies to open an auction (times in epoch ms; the server converts ISO 8601). */
export const createAuctionInputSchema = z
  .strictObject({
    postId: id,
    startAt: epochMs,
    endAt: epochMs,
    startPrice: minorUnitsSchema,
    increment: incrementRuleSchema,
    currency: currencySchema.default('USD'),
    softClose: softClosePolicySchema.nullable().default(null),
  })
  .superRefine((input, ctx) => {
    if (input.endAt <= input.startAt) ctx.addIssue({ code: 'custom', path: ['endAt'], message: 'must be after startAt' });
    const hardEndAt = input.softClose?.hardEndAt;
    if (hardEndAt != null && hardEndAt < input.endAt) {
      ctx.addIssue({ code: 'custom', path: ['softClose', 'hardEndAt'], message: 'must not be before endAt' });
    }
  });
export type CreateAuctionInput = z.input<typeof createAuctionInputSchema>;

/** The lowest amount the next bid must reach. */
export function minNextBid(state: Pick<AuctionState, 'currentWinnerId' | 'currentPrice' | 'startPrice' | 'increment'>): number {
  return state.currentWinnerId === null ? state.startPrice : state.currentPrice + incrementAt(state.increment, state.currentPrice);
}

/** True when the auction is past its effective end or sealed, judged at `now`. */
export function isOver(state: Pick<AuctionState, 'status' | 'effectiveEndAt'>, now: number): boolean {
  return state.status === 'ended' || state.status === 'cancelled' || now >= state.effectiveEndAt;
}
