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
  'OUTBID_BY_PROXY',
  'BUY_NOW_UNAVAILABLE',
] as const;
/** Why a bid was not accepted. Stable: clients and the Lua scripts use the same strings. */
export type BidReason = (typeof BID_REASONS)[number];

/**
 * What a ledger record stands for. `bid`: a bidder's bid (plain, or with a maximum). `proxy`: a bid the engine placed
 * for the leader's standing maximum (automatic; it answers a rival's bid, or lifts the price to the reserve when the
 * leader's maximum reaches it). `maximum`: the leader raised their maximum and nothing visible changed (never shown
 * publicly). `buy_now`: the auction was bought at its Buy It Now price.
 */
export const BID_KINDS = ['bid', 'proxy', 'maximum', 'buy_now'] as const;
export type BidKind = (typeof BID_KINDS)[number];

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
  /** The maximum this bidder asked for (only ever told back to them), or null for a plain bid. */
  maxAmount: number | null;
  /** Whether the reserve is met in the latest state; null when the auction has no reserve. */
  reserveMet: boolean | null;
  /** Whether Buy It Now is still offered in the latest state; null when the auction never offered it. */
  buyNowAvailable: boolean | null;
}

/** A bid as the ledger keeps it: accepted ones carry the auction version they produced. */
export interface BidRecord {
  bidId: string;
  auctionId: string;
  bidderId: string;
  /**
   * Accepted: the price this record set. Otherwise the amount asked for (a maximum-only bid: the minimum next bid
   * it would have opened at).
   */
  amount: number;
  status: BidStatus;
  reason: BidReason | null;
  kind: BidKind;
  /** The bidder's maximum (secret: only the creator sees it, after the end), or null. */
  maxAmount: number | null;
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
  const copy = {
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
  } as BidDecision;
  // A decision stored before proxy bids existed has none of these: its replay stays byte-identical.
  if (d.maxAmount !== undefined) copy.maxAmount = d.maxAmount;
  if (d.reserveMet !== undefined) copy.reserveMet = d.reserveMet;
  if (d.buyNowAvailable !== undefined) copy.buyNowAvailable = d.buyNowAvailable;
  return copy;
}

export function bidRecordFromDecision(
  decision: BidDecision,
  idempotencyKey: string | null,
  fingerprint: string,
  kind: BidKind = 'bid',
): BidRecord {
  return {
    bidId: decision.bidId,
    auctionId: decision.auctionId,
    bidderId: decision.bidderId,
    amount: decision.amount,
    status: decision.status,
    reason: decision.reason,
    kind,
    maxAmount: decision.maxAmount ?? null,
    version: decision.status === 'accepted' ? decision.version : null,
    idempotencyKey,
    fingerprint,
    createdAt: decision.decidedAt,
    decision,
  };
}
