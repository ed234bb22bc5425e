import { describe, expect, it } from 'vitest';
import {
  EBAY_USD_INCREMENTS,
  createAuctionInputSchema,
  decideBid,
  decideCancel,
  decideEnd,
  decideStart,
  extendedEnd,
  incrementAt,
  minNextBid,
  incrementTableSchema,
  minorUnitsSchema,
  type AuctionState,
  type SoftClosePolicy,
} from '@outbid/core';
import { auctionFixture, bidCommand } from '@outbid/core/testing';

const T0 = Date.UTC(2030, 0, 1);
const policy = (overrides: Partial<SoftClosePolicy> = {}): SoftClosePolicy => ({
  windowMs: 60_000,
  extendMs: 120_000,
  mode: 'reset',
  maxExtensions: null,
  hardEndAt: null,
  ...overrides,
});

describe('money', () => {
  it.each([0, 1, 1_000_000_000_000_000])('accepts %d minor units', (n) => {
    expect(minorUnitsSchema.safeParse(n).success).toBe(true);
  });
  it.each([-1, 1.5, Number.NaN, Infinity, 1_000_000_000_000_001, '100'])('rejects %s', (n) => {
    expect(minorUnitsSchema.safeParse(n).success).toBe(false);
  });
});

describe('increments', () => {
  it('a fixed rule is the same at every price', () => {
    expect(incrementAt({ type: 'fixed', amount: 50 }, 0)).toBe(50);
    expect(incrementAt({ type: 'fixed', amount: 50 }, 10 ** 12)).toBe(50);
  });

  it.each([
    [0, 5],
    [99, 5],
    [100, 25],
    [499, 25],
    [500, 50],
    [2_499, 50],
    [2_500, 100],
    [9_999, 100],
    [10_000, 250],
    [24_999, 250],
    [25_000, 500],
    [50_000, 1_000],
    [100_000, 2_500],
    [249_999, 2_500],
    [250_000, 5_000],
    [499_999, 5_000],
    [500_000, 10_000],
    [10 ** 9, 10_000],
  ])('eBay table: at a current price of %d cents the step is %d', (price, step) => {
    expect(incrementAt({ type: 'table', tiers: [...EBAY_USD_INCREMENTS] }, price)).toBe(step);
  });

  it('a table must start at 0, ascend strictly and have positive steps', () => {
    expect(incrementTableSchema.safeParse([...EBAY_USD_INCREMENTS]).success).toBe(true);
    expect(incrementTableSchema.safeParse([{ from: 1, increment: 5 }]).success).toBe(false);
    expect(incrementTableSchema.safeParse([{ from: 0, increment: 5 }, { from: 0, increment: 6 }]).success).toBe(false);
    expect(incrementTableSchema.safeParse([{ from: 0, increment: 0 }]).success).toBe(false);
    expect(incrementTableSchema.safeParse([]).success).toBe(false);
  });

  it('minNextBid is the start price until someone leads, then price + step at that price', () => {
    const state = auctionFixture(T0, { startPrice: 95, currentPrice: 95, increment: { type: 'table', tiers: [...EBAY_USD_INCREMENTS] } });
    expect(minNextBid(state)).toBe(95);
    expect(minNextBid({ ...state, currentWinnerId: 'b', currentPrice: 95 })).toBe(100);
    expect(minNextBid({ ...state, currentWinnerId: 'b', currentPrice: 100 })).toBe(125);
  });
});

describe('soft close', () => {
  const end = T0 + 600_000;
  it('no policy, or a bid before the window: the end does not move', () => {
    expect(extendedEnd(null, end, 0, end - 1)).toBeNull();
    expect(extendedEnd(policy(), end, 0, end - 60_001)).toBeNull();
  });
  it('reset: end = bid time + extension, at the window edge too', () => {
    expect(extendedEnd(policy(), end, 0, end - 60_000)).toBe(end - 60_000 + 120_000);
    expect(extendedEnd(policy(), end, 0, end - 1)).toBe(end - 1 + 120_000);
  });
  it('reset never shortens the end', () => {
    expect(extendedEnd(policy({ extendMs: 10_000 }), end, 0, end - 30_000)).toBeNull();
  });
  it('additive: end = current end + extension (the extended end, not the original)', () => {
    expect(extendedEnd(policy({ mode: 'additive' }), end, 0, end - 1)).toBe(end + 120_000);
    expect(extendedEnd(policy({ mode: 'additive' }), end + 120_000, 1, end + 119_000)).toBe(end + 240_000);
  });
  it('caps: max extensions and the hard deadline', () => {
    expect(extendedEnd(policy({ maxExtensions: 2 }), end, 1, end - 1)).not.toBeNull();
    expect(extendedEnd(policy({ maxExtensions: 2 }), end, 2, end - 1)).toBeNull();
    expect(extendedEnd(policy({ maxExtensions: 0 }), end, 0, end - 1)).toBeNull();
    expect(extendedEnd(policy({ hardEndAt: end + 5_000 }), end, 0, end - 1)).toBe(end + 5_000);
    expect(extendedEnd(policy({ hardEndAt: end }), end, 0, end - 1)).toBeNull();
  });
});

describe('decideBid: every reason code, first failure wins', () => {
  const state = auctionFixture(T0, { id: 'a1', creatorId: 'seller', startPrice: 1_000, currentPrice: 1_000, endAt: T0 + 60_000 });
  const bid = (s: AuctionState, bidder: string, amount: number, at = T0) => decideBid(s, bidCommand(s.id, bidder, amount), at);

  it('accepted: price, leader, version +1, bid count +1; status active', () => {
    const { decision, next } = bid(state, 'b1', 1_000);
    expect(decision).toMatchObject({ status: 'accepted', reason: null, currentPrice: 1_000, currentWinnerId: 'b1', version: 2, minNextBid: 1_100, decidedAt: T0 });
    expect(next).toMatchObject({ currentPrice: 1_000, currentWinnerId: 'b1', version: 2, bidCount: 1, status: 'active' });
  });
  it('INVALID_AMOUNT (invalid) before anything else, even on a cancelled auction', () => {
    expect(bid({ ...state, status: 'cancelled' }, 'seller', -5).decision).toMatchObject({ status: 'invalid', reason: 'INVALID_AMOUNT' });
    for (const amount of [0, 0.5, 1e15 + 1, Number.NaN]) expect(bid(state, 'b1', amount).decision.reason).toBe('INVALID_AMOUNT');
  });
  it('AUCTION_CANCELLED (rejected)', () => {
    expect(bid({ ...state, status: 'cancelled' }, 'b1', 5_000).decision).toMatchObject({ status: 'rejected', reason: 'AUCTION_CANCELLED' });
  });
  it('AUCTION_ENDED (late): at the end instant (exclusive) and after; one ms before is accepted', () => {
    expect(bid(state, 'b1', 5_000, state.effectiveEndAt).decision).toMatchObject({ status: 'late', reason: 'AUCTION_ENDED' });
    expect(bid(state, 'b1', 5_000, state.effectiveEndAt + 1).decision.status).toBe('late');
    expect(bid({ ...state, status: 'ended' }, 'b1', 5_000).decision.status).toBe('late');
    expect(bid(state, 'b1', 5_000, state.effectiveEndAt - 1).decision.status).toBe('accepted');
  });
  it('AUCTION_NOT_STARTED (rejected) for a scheduled auction before its start; at the start it is accepted', () => {
    const scheduled = { ...state, status: 'scheduled' as const, startAt: T0 + 1_000 };
    expect(bid(scheduled, 'b1', 1_000, T0 + 999).decision).toMatchObject({ status: 'rejected', reason: 'AUCTION_NOT_STARTED' });
    expect(bid(scheduled, 'b1', 1_000, T0 + 1_000).decision).toMatchObject({ status: 'accepted', auctionStatus: 'active' });
  });
  it('an auction started early accepts bids before its planned start', () => {
    expect(bid({ ...state, status: 'active', startAt: T0 + 5_000 }, 'b1', 1_000).decision.status).toBe('accepted');
  });
  it('SELF_BID (rejected)', () => {
    expect(bid(state, 'seller', 5_000).decision).toMatchObject({ status: 'rejected', reason: 'SELF_BID' });
  });
  it('ALREADY_LEADING (rejected)', () => {
    const led = bid(state, 'b1', 1_000).next!;
    expect(bid(led, 'b1', 9_000).decision).toMatchObject({ status: 'rejected', reason: 'ALREADY_LEADING' });
  });
  it('BID_TOO_LOW (rejected) carries minNextBid, for the first bid and later ones', () => {
    expect(bid(state, 'b1', 999).decision).toMatchObject({ status: 'rejected', reason: 'BID_TOO_LOW', minNextBid: 1_000 });
    const led = bid(state, 'b1', 1_000).next!;
    expect(bid(led, 'b2', 1_099).decision).toMatchObject({ reason: 'BID_TOO_LOW', minNextBid: 1_100 });
    expect(bid(led, 'b2', 1_100).decision.status).toBe('accepted');
  });
  it('a rejected decision carries the unchanged latest state', () => {
    const { decision, next } = bid(state, 'b1', 10);
    expect(next).toBeNull();
    expect(decision).toMatchObject({ version: 1, currentPrice: 1_000, currentWinnerId: null, endAt: state.effectiveEndAt });
  });
  it('only accepted bids extend: end − 1 ms accepted and extends; rejected bids in the window do not', () => {
    const soft = { ...state, softClose: policy() };
    const at = soft.effectiveEndAt - 1;
    expect(bid(soft, 'b1', 10, at).decision).toMatchObject({ status: 'rejected', extended: false, endAt: soft.effectiveEndAt });
    const accepted = bid(soft, 'b1', 1_000, at);
    expect(accepted.decision).toMatchObject({ status: 'accepted', extended: true, endAt: at + 120_000 });
    expect(accepted.next).toMatchObject({ effectiveEndAt: at + 120_000, endAt: soft.endAt, extensionCount: 1 });
    expect(bid(accepted.next!, 'b2', 1_100, at + 120_000).decision.status).toBe('late');
  });
});

describe('transitions', () => {
  const scheduled = auctionFixture(T0, { status: 'scheduled', startAt: T0 + 1_000, endAt: T0 + 60_000 });
  it('start: due before startAt → not_due; at startAt → active, version +1; now → early', () => {
    expect(decideStart(scheduled, T0, 'due')).toMatchObject({ kind: 'not_due', dueAt: T0 + 1_000 });
    expect(decideStart(scheduled, T0 + 1_000, 'due')).toMatchObject({ kind: 'applied', state: { status: 'active', version: 2, startAt: T0 + 1_000 } });
    expect(decideStart(scheduled, T0, 'now')).toMatchObject({ kind: 'applied', state: { status: 'active', startAt: T0 } });
    expect(decideStart({ ...scheduled, status: 'active' }, T0, 'now').kind).toBe('unchanged');
    expect(decideStart(scheduled, T0 + 60_000, 'due')).toMatchObject({ kind: 'refused', reason: 'AUCTION_ENDED' });
  });
  it('end: due before the effective end → not_due with it (re-arm); after → ended once', () => {
    const active = { ...scheduled, status: 'active' as const, effectiveEndAt: T0 + 90_000 };
    expect(decideEnd(active, T0 + 60_000, 'due')).toMatchObject({ kind: 'not_due', dueAt: T0 + 90_000 });
    const ended = decideEnd(active, T0 + 90_500, 'due');
    expect(ended).toMatchObject({ kind: 'applied', state: { status: 'ended', effectiveEndAt: T0 + 90_000, closedAt: T0 + 90_500, version: 2 } });
    if (ended.kind === 'applied') expect(decideEnd(ended.state, T0 + 91_000, 'due').kind).toBe('unchanged');
    expect(decideEnd(active, T0 + 10_000, 'now')).toMatchObject({ kind: 'applied', state: { effectiveEndAt: T0 + 10_000 } });
  });
  it('cancel: only before the end; never after', () => {
    expect(decideCancel(scheduled, T0)).toMatchObject({ kind: 'applied', state: { status: 'cancelled' } });
    expect(decideCancel(scheduled, T0 + 60_000)).toMatchObject({ kind: 'refused', reason: 'AUCTION_ENDED' });
    expect(decideEnd({ ...scheduled, status: 'cancelled' }, T0, 'now')).toMatchObject({ kind: 'refused', reason: 'AUCTION_CANCELLED' });
  });
});

describe('create input', () => {
  const valid = { postId: 'p', startAt: T0, endAt: T0 + 1, startPrice: 0, increment: { type: 'fixed', amount: 1 } };
  it('defaults currency to USD and soft close to none', () => {
    expect(createAuctionInputSchema.parse(valid)).toMatchObject({ currency: 'USD', softClose: null });
  });
  it.each([
    ['endAt ≤ startAt', { endAt: T0 }],
    ['negative price', { startPrice: -1 }],
    ['fractional price', { startPrice: 1.5 }],
    ['unknown field', { bidderId: 'x' }],
    ['lowercase currency', { currency: 'usd' }],
    ['hard deadline before end', { softClose: { windowMs: 1, extendMs: 1, mode: 'reset', hardEndAt: T0 } }],
  ])('rejects %s', (_name, patch) => {
    expect(createAuctionInputSchema.safeParse({ ...valid, ...patch }).success).toBe(false);
  });
});
