import type { AuctionState, BidDecision, BidReason, BidStatus, PlaceBidCommand } from '@outbid/core';

const nullableNumber = (v: string | undefined): number | null => (v ? Number(v) : null);
const numberField = (n: number | null): string => (n === null ? '' : String(n));

/** The state hash as Lua reads it: every field a string, nulls as ''. */
export function stateToFields(s: AuctionState): string[] {
  return [
    'id', s.id, 'postId', s.postId, 'creatorId', s.creatorId, 'currency', s.currency,
    'startAt', String(s.startAt), 'endAt', String(s.endAt), 'effectiveEndAt', String(s.effectiveEndAt),
    'startPrice', String(s.startPrice), 'increment', JSON.stringify(s.increment),
    'softClose', s.softClose === null ? '' : JSON.stringify(s.softClose), 'status', s.status,
    'currentPrice', String(s.currentPrice), 'currentWinnerId', s.currentWinnerId ?? '', 'version', String(s.version),
    'bidCount', String(s.bidCount), 'extensionCount', String(s.extensionCount), 'createdAt', String(s.createdAt),
    'closedAt', s.closedAt === null ? '' : String(s.closedAt),
    'reservePrice', numberField(s.reservePrice), 'buyNowPrice', numberField(s.buyNowPrice), 'buyNowPolicy', s.buyNowPolicy ?? '',
    'leaderMax', numberField(s.leaderMax),
  ];
}

/**
 * The state hash's fields in the order the scripts read them (HMGET) and reply with their values: common.lua's
 * STATE_FIELDS, the same list in the same order (a test holds the two together).
 */
export const STATE_FIELDS = [
  'id', 'postId', 'creatorId', 'currency', 'startAt', 'endAt', 'effectiveEndAt', 'startPrice', 'increment', 'softClose',
  'status', 'currentPrice', 'currentWinnerId', 'version', 'bidCount', 'extensionCount', 'createdAt', 'closedAt',
  'reservePrice', 'buyNowPrice', 'buyNowPolicy', 'leaderMax',
] as const;

/**
 * The state from the hash's values in STATE_FIELDS order ('' for null, or for a field the hash lacks: one written
 * before proxy bids existed has no reservePrice, buyNowPrice, buyNowPolicy or leaderMax, and reads them as null).
 */
export function stateFromValues(v: readonly string[]): AuctionState {
  const [
    id, postId, creatorId, currency, startAt, endAt, effectiveEndAt, startPrice, increment, softClose, status, currentPrice,
    currentWinnerId, version, bidCount, extensionCount, createdAt, closedAt, reservePrice, buyNowPrice, buyNowPolicy, leaderMax,
  ] = v as [string, ...string[]];
  return {
    id,
    postId: postId!,
    creatorId: creatorId!,
    currency: currency!,
    startAt: Number(startAt),
    endAt: Number(endAt),
    effectiveEndAt: Number(effectiveEndAt),
    startPrice: Number(startPrice),
    increment: JSON.parse(increment!),
    softClose: softClose ? JSON.parse(softClose) : null,
    status: status as AuctionState['status'],
    currentPrice: Number(currentPrice),
    currentWinnerId: currentWinnerId || null,
    version: Number(version),
    bidCount: Number(bidCount),
    extensionCount: Number(extensionCount),
    createdAt: Number(createdAt),
    closedAt: nullableNumber(closedAt),
    reservePrice: nullableNumber(reservePrice),
    buyNowPrice: nullableNumber(buyNowPrice),
    buyNowPolicy: (buyNowPolicy || null) as AuctionState['buyNowPolicy'],
    leaderMax: nullableNumber(leaderMax),
  };
}

/** The decision fields place_bid.lua returns before proxy bids existed; records it stored then have only these. */
const LEGACY_DECISION_FIELDS = 11;
/** The decision fields place_bid.lua returns and stores now (see its header): the 11, then amount, maxAmount, reserveMet, buyNowAvailable. */
export const DECISION_FIELDS = 15;
/** In a packed decision from the ledger: a field the decision does not have (decided before proxy bids existed). */
const ABSENT = '-';

const flagFrom = (v: string): boolean | null => (v === '' ? null : v === '1');
const flagField = (v: boolean | null): string => (v === null ? '' : v ? '1' : '0');

/**
 * The decision fields place_bid.lua returns or stored (see its header), into a BidDecision in canonical order. A
 * record stored before proxy bids existed has 11 fields: its amount is the request's, and it has no maxAmount,
 * reserveMet or buyNowAvailable, so its replay stays byte-identical.
 */
export function decisionFromFields(fields: readonly string[], cmd: PlaceBidCommand): BidDecision {
  const [status, reason, bidId, minNextBid, auctionStatus, currentPrice, winner, version, endAt, extended, decidedAt, amount, maxAmount, reserveMet, buyNowAvailable] =
    fields as [string, ...string[]];
  const legacy = fields.length <= LEGACY_DECISION_FIELDS;
  const decision = {
    status: status as BidStatus,
    reason: (reason || null) as BidReason | null,
    bidId: bidId!,
    auctionId: cmd.auctionId,
    bidderId: cmd.bidderId,
    amount: legacy ? (cmd.amount as number) : Number(amount),
    minNextBid: Number(minNextBid),
    auctionStatus: auctionStatus as AuctionState['status'],
    currentPrice: Number(currentPrice),
    currentWinnerId: winner || null,
    version: Number(version),
    endAt: Number(endAt),
    extended: extended === '1',
    decidedAt: Number(decidedAt),
  } as BidDecision;
  if (legacy) return decision;
  if (maxAmount !== ABSENT) decision.maxAmount = nullableNumber(maxAmount);
  if (reserveMet !== ABSENT) decision.reserveMet = flagFrom(reserveMet!);
  if (buyNowAvailable !== ABSENT) decision.buyNowAvailable = flagFrom(buyNowAvailable!);
  return decision;
}

/** A decision as the fields place_bid.lua stores (the inverse of {@link decisionFromFields}), for hydrate. */
export function decisionToFields(d: BidDecision): string[] {
  return [
    d.status, d.reason ?? '', d.bidId, String(d.minNextBid), d.auctionStatus, String(d.currentPrice), d.currentWinnerId ?? '', String(d.version), String(d.endAt), d.extended ? '1' : '0', String(d.decidedAt),
    String(d.amount),
    d.maxAmount === undefined ? ABSENT : numberField(d.maxAmount),
    d.reserveMet === undefined ? ABSENT : flagField(d.reserveMet),
    d.buyNowAvailable === undefined ? ABSENT : flagField(d.buyNowAvailable),
  ];
}

/** pack() in common.lua: `<byte length>:<bytes>` for each string. */
export const pack = (list: readonly string[]): string => list.map((v) => `${Buffer.byteLength(v)}:${v}`).join('');

/** Reverses pack() in common.lua: `<length>:<bytes>` repeated. Lengths count bytes. */
export function unpack(packed: Buffer | string): string[] {
  const buf = typeof packed === 'string' ? Buffer.from(packed, 'utf8') : packed;
  const out: string[] = [];
  let i = 0;
  while (i < buf.length) {
    const colon = buf.indexOf(0x3a, i);
    const length = Number(buf.subarray(i, colon).toString('latin1'));
    out.push(buf.subarray(colon + 1, colon + 1 + length).toString('utf8'));
    i = colon + 1 + length;
  }
  return out;
}

/** The field of one (bidder, key) in the idempotency hash: length-prefixed so no two pairs collide. */
export const idempotencyField = (bidderId: string, key: string) => `${Buffer.byteLength(bidderId)}:${bidderId}${key}`;
