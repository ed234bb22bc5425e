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
  /** Hidden reserve: below it nobody wins. Secret: never in responses, events, frames or logs. Null: none. */
  reservePrice: number | null;
  /** Buy It Now price, or null when the auction offers none. */
  buyNowPrice: number | null;
  /** When Buy It Now goes away; null when there is no Buy It Now. */
  buyNowPolicy: BuyNowPolicy | null;
  /**
   * The leader's secret maximum (proxy bidding): the engine bids for the leader up to it. Null when the leader
   * bid a plain amount (their maximum is then the current price) or nobody leads.
   */
  leaderMax: number | null;
}

/**
 * `first-bid`: Buy It Now goes away at the first bid (eBay's default). `reserve-met`: it stays until the reserve
 * is met (with no reserve: until the first bid).
 */
export const BUY_NOW_POLICIES = ['first-bid', 'reserve-met'] as const;
export type BuyNowPolicy = (typeof BUY_NOW_POLICIES)[number];
export const buyNowPolicySchema = z.enum(BUY_NOW_POLICIES);

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
  reservePrice: minorUnitsSchema.nullable(),
  buyNowPrice: minorUnitsSchema.nullable(),
  buyNowPolicy: buyNowPolicySchema.nullable(),
  leaderMax: minorUnitsSchema.nullable(),
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
    reservePrice: minorUnitsSchema.nullable().default(null),
    buyNowPrice: minorUnitsSchema.nullable().default(null),
    buyNowPolicy: buyNowPolicySchema.default('first-bid'),
  })
  .superRefine((input, ctx) => {
    if (input.reservePrice !== null && input.reservePrice <= input.startPrice) {
      ctx.addIssue({ code: 'custom', path: ['reservePrice'], message: 'must be above startPrice (a reserve at the start price is no reserve)' });
    }
    if (input.buyNowPrice !== null && input.buyNowPrice <= Math.max(input.startPrice, input.reservePrice ?? 0)) {
      ctx.addIssue({ code: 'custom', path: ['buyNowPrice'], message: 'must be above startPrice and reservePrice' });
    }
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

/** The leader's maximum: what the engine will bid up to for them (their plain bid when they left no maximum). */
export function leaderMaximum(state: Pick<AuctionState, 'currentWinnerId' | 'currentPrice' | 'leaderMax'>): number | null {
  return state.currentWinnerId === null ? null : (state.leaderMax ?? state.currentPrice);
}

/**
 * True when someone leads at or above the reserve (with no reserve: when anyone leads). Because the price jumps
 * to the reserve as soon as the best maximum reaches it, the visible price tells.
 */
export function isReserveMet(state: Pick<AuctionState, 'currentWinnerId' | 'currentPrice' | 'reservePrice'>): boolean {
  return state.currentWinnerId !== null && (state.reservePrice === null || state.currentPrice >= state.reservePrice);
}

/** True once the auction is over for good: ended or cancelled. */
export function isSealed(state: Pick<AuctionState, 'status'>): boolean {
  return state.status === 'ended' || state.status === 'cancelled';
}

/** True while a bidder may still buy the item now at {@link AuctionState.buyNowPrice} (open status aside). */
export function isBuyNowAvailable(state: AuctionState): boolean {
  if (state.buyNowPrice === null || isSealed(state)) return false;
  return state.buyNowPolicy === 'reserve-met' ? !isReserveMet(state) : state.bidCount === 0;
}

/** What may be told about the reserve: null when there is none (its existence is public, its amount is not). */
export function publicReserveMet(state: AuctionState): boolean | null {
  return state.reservePrice === null ? null : isReserveMet(state);
}

/** What may be told about Buy It Now: null when the auction never offered it. */
export function publicBuyNow(state: AuctionState): boolean | null {
  return state.buyNowPrice === null ? null : isBuyNowAvailable(state);
}

/** The winner of an ended auction: the leader, unless the reserve was not met. */
export function winnerOf(state: AuctionState): { winnerId: string | null; finalPrice: number | null; noWinnerReason: 'NO_BIDS' | 'RESERVE_NOT_MET' | null } {
  if (state.currentWinnerId === null) return { winnerId: null, finalPrice: null, noWinnerReason: 'NO_BIDS' };
  if (!isReserveMet(state)) return { winnerId: null, finalPrice: null, noWinnerReason: 'RESERVE_NOT_MET' };
  return { winnerId: state.currentWinnerId, finalPrice: state.currentPrice, noWinnerReason: null };
}

/** True when the auction is past its effective end or sealed, judged at `now`. */
export function isOver(state: Pick<AuctionState, 'status' | 'effectiveEndAt'>, now: number): boolean {
  return isSealed(state) || now >= state.effectiveEndAt;
}
