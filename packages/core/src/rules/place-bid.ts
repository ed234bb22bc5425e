import { isOver, minNextBid, type AuctionState } from '../domain/auction.js';
import type { BidDecision, BidReason, BidStatus } from '../domain/bid.js';
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
 * amount → cancelled → over (late) → not started → self bid → already leading → too low.
 * The Lua script `place_bid.lua` and the Postgres engine implement exactly this order.
 */
export function decideBid(state: AuctionState, cmd: PlaceBidCommand, now: number): BidOutcome {
  const refuse = (status: BidStatus, reason: BidReason): BidOutcome => ({
    decision: decisionFor(state, cmd, now, status, reason, false),
    next: null,
  });
  if (!isValidBidAmount(cmd.amount)) return refuse('invalid', 'INVALID_AMOUNT');
  if (state.status === 'cancelled') return refuse('rejected', 'AUCTION_CANCELLED');
  if (isOver(state, now)) return refuse('late', 'AUCTION_ENDED');
  if (state.status === 'scheduled' && now < state.startAt) return refuse('rejected', 'AUCTION_NOT_STARTED');
  if (cmd.bidderId === state.creatorId) return refuse('rejected', 'SELF_BID');
  if (cmd.bidderId === state.currentWinnerId) return refuse('rejected', 'ALREADY_LEADING');
  if (cmd.amount < minNextBid(state)) return refuse('rejected', 'BID_TOO_LOW');

  const newEnd = extendedEnd(state.softClose, state.effectiveEndAt, state.extensionCount, now);
  const next: AuctionState = {
    ...state,
    status: 'active',
    currentPrice: cmd.amount,
    currentWinnerId: cmd.bidderId,
    version: state.version + 1,
    bidCount: state.bidCount + 1,
    effectiveEndAt: newEnd ?? state.effectiveEndAt,
    extensionCount: state.extensionCount + (newEnd === null ? 0 : 1),
  };
  return { decision: decisionFor(next, cmd, now, 'accepted', null, newEnd !== null), next };
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
