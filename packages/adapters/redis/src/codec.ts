import type { AuctionState, BidDecision, BidReason, BidStatus, PlaceBidCommand } from '@outbid/core';

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
    closedAt: f.closedAt ? Number(f.closedAt) : null,
  };
}

/** The 11 decision fields place_bid.lua returns (see its header), into a BidDecision in canonical order. */
export function decisionFromFields(fields: string[], cmd: PlaceBidCommand): BidDecision {
  const [status, reason, bidId, minNextBid, auctionStatus, currentPrice, winner, version, endAt, extended, decidedAt] = fields as [string, ...string[]];
  return {
    status: status as BidStatus,
    reason: (reason || null) as BidReason | null,
    bidId: bidId!,
    auctionId: cmd.auctionId,
    bidderId: cmd.bidderId,
    amount: cmd.amount,
    minNextBid: Number(minNextBid),
    auctionStatus: auctionStatus as AuctionState['status'],
    currentPrice: Number(currentPrice),
    currentWinnerId: winner || null,
    version: Number(version),
    endAt: Number(endAt),
    extended: extended === '1',
    decidedAt: Number(decidedAt),
  };
}

/** A decision as the 11 fields place_bid.lua stores (the inverse of {@link decisionFromFields}). */
export function decisionToFields(d: BidDecision): string[] {
  return [d.status, d.reason ?? '', d.bidId, String(d.minNextBid), d.auctionStatus, String(d.currentPrice), d.currentWinnerId ?? '', String(d.version), String(d.endAt), d.extended ? '1' : '0', String(d.decidedAt)];
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
