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

export function stateFromFields(flat: string[]): AuctionState {
  const f: Record<string, string> = {};
  for (let i = 0; i + 1 < flat.length; i += 2) f[flat[i]!] = flat[i + 1]!;
  return {
    id: f.id!,
    postId: f.postId!,
    creatorId: f.creatorId!,
    currency: f.currency!,
    startAt: Number(f.startAt),
    endAt: Number(f.endAt),
    effectiveEndAt: Number(f.effectiveEndAt),
    startPrice: Number(f.startPrice),
    increment: JSON.parse(f.increment!),
    softClose: f.softClose ? JSON.parse(f.softClose) : null,
    status: f.status as AuctionState['status'],
    currentPrice: Number(f.currentPrice),
    currentWinnerId: f.currentWinnerId || null,
    version: Number(f.version),
    bidCount: Number(f.bidCount),
    extensionCount: Number(f.extensionCount),
    createdAt: Number(f.createdAt),
    closedAt: nullableNumber(f.closedAt),
    // Absent in a hash written before proxy bids existed: null, as '' is.
    reservePrice: nullableNumber(f.reservePrice),
    buyNowPrice: nullableNumber(f.buyNowPrice),
    buyNowPolicy: (f.buyNowPolicy || null) as AuctionState['buyNowPolicy'],
    leaderMax: nullableNumber(f.leaderMax),
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
