import type { AuctionStatus } from './auction.js';

export const BID_STATUSES = ['accepted', 'rejected', 'late', 'invalid'] as const;
export type BidStatus = (typeof BID_STATUSES)[number];

export const BID_REASONS = [
  'BID_TOO_LOW',
  'AUCTION_NOT_STARTED',
  'AUCTION_ENDED',
  'AUCTION_CANCELLED',
  'SELF_BID',
  'ALREADY_LEADING',
  'INVALID_AMOUNT',
  'IDEMPOTENCY_KEY_REUSED',
] as const;
/** Why a bid was not accepted. Stable: clients and the Lua scripts use the same strings. */
export type BidReason = (typeof BID_REASONS)[number];

/**
 * The answer to one bid, with the auction's latest state and the authoritative time of the decision.
 * Engines build it field by field in this order, so a stored decision serialises to identical bytes.
 */
export interface BidDecision {
  status: BidStatus;
  reason: BidReason | null;
  bidId: string;
  auctionId: string;
  bidderId: string;
  amount: number;
  /** Lowest acceptable next bid in the latest state. */
  minNextBid: number;
  auctionStatus: AuctionStatus;
  currentPrice: number;
  currentWinnerId: string | null;
  version: number;
  /** Effective end, epoch ms. */
  endAt: number;
  /** True when this accepted bid moved the end (soft close). */
  extended: boolean;
  /** Authoritative time of the decision, epoch ms. */
  decidedAt: number;
}

/** A bid as the ledger keeps it: accepted ones carry the auction version they produced. */
export interface BidRecord {
  bidId: string;
  auctionId: string;
  bidderId: string;
  amount: number;
  status: BidStatus;
  reason: BidReason | null;
  /** The auction version this bid produced; null unless accepted. */
  version: number | null;
  idempotencyKey: string | null;
  /** Fingerprint of the request payload the key was first used with. */
  fingerprint: string;
  createdAt: number;
  /** The decision as first answered, replayed for retries. */
  decision: BidDecision;
}

/** Field-by-field copy in canonical order (see {@link BidDecision}). */
export function canonicalDecision(d: BidDecision): BidDecision {
  return {
    status: d.status,
    reason: d.reason,
    bidId: d.bidId,
    auctionId: d.auctionId,
    bidderId: d.bidderId,
    amount: d.amount,
    minNextBid: d.minNextBid,
    auctionStatus: d.auctionStatus,
    currentPrice: d.currentPrice,
    currentWinnerId: d.currentWinnerId,
    version: d.version,
    endAt: d.endAt,
    extended: d.extended,
    decidedAt: d.decidedAt,
  };
}

export function bidRecordFromDecision(
  decision: BidDecision,
  idempotencyKey: string | null,
  fingerprint: string,
): BidRecord {
  return {
    bidId: decision.bidId,
    auctionId: decision.auctionId,
    bidderId: decision.bidderId,
    amount: decision.amount,
    status: decision.status,
    reason: decision.reason,
    version: decision.status === 'accepted' ? decision.version : null,
    idempotencyKey,
    fingerprint,
    createdAt: decision.decidedAt,
    decision,
  };
}
