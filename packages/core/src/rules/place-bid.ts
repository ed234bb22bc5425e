import { isOver, minNextBid, type AuctionState } from '../domain/auction.js';
import type { BidDecision, BidReason, BidStatus } from '../domain/bid.js';
import { isOutbiddable } from '../domain/increments.js';
import { isValidBidAmount } from '../domain/money.js';
import { extendedEnd } from '../domain/soft-close.js';

/** A bid as an engine receives it. `bidId` and `fingerprint` come from the caller so every engine agrees. */
export interface PlaceBidCommand {
  auctionId: string;
  bidderId: string;
  amount: number;
  bidId: string;
  /** Scoped to (auction, bidder); null when the caller does not ask for idempotency. */
  idempotencyKey: string | null;
  /** Canonical form of the request payload; a reused key with another fingerprint is refused. */
  fingerprint: string;
}

export interface BidOutcome {
  decision: BidDecision;
  /** The new state when accepted, else null (nothing changes). */
  next: AuctionState | null;
}

/**
 * The bid rules, pure. Checks run in this order and the first failure decides:
 * amount (a positive integer; a jump above the minimum next bid must leave room for an answer) → cancelled → over
 * (late) → not started → self bid → already leading → too low.
 * The memory and Postgres engines call this function; the Lua script `place_bid.lua` re-implements it in the same
 * order (the differential test in @outbid/redis holds the two together).
 */
export function decideBid(state: AuctionState, cmd: PlaceBidCommand, now: number): BidOutcome {
  const refusal = refusalReason(state, cmd, now);
  if (refusal !== null) {
    const status: BidStatus = refusal === 'INVALID_AMOUNT' ? 'invalid' : refusal === 'AUCTION_ENDED' ? 'late' : 'rejected';
    return { decision: decisionFor(state, cmd, now, status, refusal, false), next: null };
  }
  const newEnd = extendedEnd(state.softClose, state.effectiveEndAt, state.extensionCount, now);
  // Spelled out rather than spread: this literal is the hottest allocation of the engine.
  const next: AuctionState = {
    id: state.id,
    postId: state.postId,
    creatorId: state.creatorId,
    currency: state.currency,
    startAt: state.startAt,
    endAt: state.endAt,
    effectiveEndAt: newEnd ?? state.effectiveEndAt,
    startPrice: state.startPrice,
    increment: state.increment,
    softClose: state.softClose,
    status: 'active',
    currentPrice: cmd.amount,
    currentWinnerId: cmd.bidderId,
    version: state.version + 1,
    bidCount: state.bidCount + 1,
    extensionCount: state.extensionCount + (newEnd === null ? 0 : 1),
    createdAt: state.createdAt,
    closedAt: state.closedAt,
  };
  return { decision: decisionFor(next, cmd, now, 'accepted', null, newEnd !== null), next };
}

/** The first rule the bid breaks, or null when it is acceptable. */
function refusalReason(state: AuctionState, cmd: PlaceBidCommand, now: number): BidReason | null {
  if (!isValidBidAmount(cmd.amount)) return 'INVALID_AMOUNT';
  // A jump must leave room for an answer (see isOutbiddable); the minimum next bid itself is always allowed.
  if (!isOutbiddable(state.increment, cmd.amount) && cmd.amount !== minNextBid(state)) return 'INVALID_AMOUNT';
  if (state.status === 'cancelled') return 'AUCTION_CANCELLED';
  if (isOver(state, now)) return 'AUCTION_ENDED';
  if (state.status === 'scheduled' && now < state.startAt) return 'AUCTION_NOT_STARTED';
  if (cmd.bidderId === state.creatorId) return 'SELF_BID';
  if (cmd.bidderId === state.currentWinnerId) return 'ALREADY_LEADING';
  if (cmd.amount < minNextBid(state)) return 'BID_TOO_LOW';
  return null;
}

function decisionFor(
  state: AuctionState,
  cmd: PlaceBidCommand,
  now: number,
  status: BidStatus,
  reason: BidReason | null,
  extended: boolean,
): BidDecision {
  return {
    status,
    reason,
    bidId: cmd.bidId,
    auctionId: state.id,
    bidderId: cmd.bidderId,
    amount: cmd.amount,
    minNextBid: minNextBid(state),
    auctionStatus: state.status,
    currentPrice: state.currentPrice,
    currentWinnerId: state.currentWinnerId,
    version: state.version,
    endAt: state.effectiveEndAt,
    extended,
    decidedAt: now,
  };
}

/** A decision for a reused idempotency key: never stored, never changes anything. */
export function keyReusedDecision(state: AuctionState, cmd: PlaceBidCommand, now: number): BidDecision {
  return decisionFor(state, cmd, now, 'invalid', 'IDEMPOTENCY_KEY_REUSED', false);
}

/** Decisions worth replaying for a retried key. Invalid input stores nothing (the corrected retry runs). */
export function isStoredDecision(decision: BidDecision): boolean {
  return decision.status !== 'invalid';
}
