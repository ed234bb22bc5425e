import { isDeepStrictEqual } from 'node:util';
import { describe, expect, it } from 'vitest';
import { bidRecordFromDecision, decideBid, isValidSuccessor, type BidDecision, type BidKind } from '@outbid/core';
import type { AuctionState } from '@outbid/core';
import { auctionFixture, bidCommand, buyNowCommand, maxBidCommand } from '@outbid/core/testing';
import { sameState } from '../src/rules/verify-change.js';
import { setup } from './service-setup.js';

/** Proxy bids, hidden reserve and Buy It Now through the whole service (memory engine and ledger, fake clock). */

describe('proxy bids through the service', () => {
  it('the automatic answer is an accepted bid of its own version, recorded with the refused bid that caused it', async () => {
    const { outbid, events, create } = setup();
    const auction = await create();
    await outbid.placeBid({ auctionId: auction.id, bidderId: 'alice', maxAmount: 5_000, idempotencyKey: 'a1' });
    const bob = await outbid.placeBid({ auctionId: auction.id, bidderId: 'bob', amount: 2_000, idempotencyKey: 'b1' });
    expect(bob.decision).toMatchObject({ status: 'rejected', reason: 'OUTBID_BY_PROXY', currentPrice: 2_100, currentWinnerId: 'alice', version: 3 });
    await outbid.idle();

    const history = await outbid.listBids(auction.id, { limit: 10 });
    expect(history.items.map((b) => [b.version, b.bidderId, b.amount, b.kind])).toEqual([
      [3, 'alice', 2_100, 'proxy'],
      [2, 'alice', 1_000, 'bid'],
    ]);
    const bobs = await outbid.ledger.findBidByIdempotencyKey(auction.id, 'bob', 'b1');
    expect(bobs).toMatchObject({ status: 'rejected', reason: 'OUTBID_BY_PROXY', version: null, decision: bob.decision });
    const accepted = events.filter((e) => e.type === 'BidAccepted');
    expect(accepted.at(-1)).toMatchObject({ version: 3, bidderId: 'alice', amount: 2_100, automatic: true });
    // The maximum is in no event (as a whole token: ids and times may hold the digits by chance).
    expect(JSON.stringify(events)).not.toMatch(/(?<![0-9A-Za-z])5000(?![0-9A-Za-z])/);

    // The retry gets the first answer byte for byte and places nothing.
    const again = await outbid.placeBid({ auctionId: auction.id, bidderId: 'bob', amount: 2_000, idempotencyKey: 'b1' });
    expect(again.replayed).toBe(true);
    expect(JSON.stringify(again.decision)).toBe(JSON.stringify(bob.decision));
    expect((await outbid.getAuction(auction.id)).version).toBe(3);
  });

  it('a raised maximum takes a version but shows in no public history and no event', async () => {
    const { outbid, events, create } = setup();
    const auction = await create();
    await outbid.placeBid({ auctionId: auction.id, bidderId: 'alice', maxAmount: 1_500 });
    const raise = await outbid.placeBid({ auctionId: auction.id, bidderId: 'alice', maxAmount: 4_000 });
    expect(raise.decision).toMatchObject({ status: 'accepted', version: 3, currentPrice: 1_000 });
    await outbid.idle();
    expect((await outbid.listBids(auction.id, { limit: 10 })).items.map((b) => b.version)).toEqual([2]);
    const audit = await outbid.listBids(auction.id, { limit: 10, include: 'all', actorId: 'seller' });
    expect(audit.items.map((b) => b.kind)).toContain('maximum');
    expect(events.filter((e) => e.version === 3)).toEqual([]);
    expect((await outbid.getAuction(auction.id)).bidCount).toBe(1);
  });

  it('maximums show only in the creator’s audit, and only once the auction is closed', async () => {
    const { outbid, create } = setup();
    const auction = await create();
    await outbid.placeBid({ auctionId: auction.id, bidderId: 'alice', maxAmount: 4_321 });
    await outbid.placeBid({ auctionId: auction.id, bidderId: 'bob', amount: 1_500 });
    const audit = () => outbid.listBids(auction.id, { limit: 10, include: 'all', actorId: 'seller' });
    // As a whole token: a bid id (UUIDv7 hex) may hold "4321" by chance, and once did in CI.
    const maximum = /(?<![0-9A-Za-z])4321(?![0-9A-Za-z])/;
    expect(JSON.stringify(await outbid.listBids(auction.id, { limit: 10 }))).not.toMatch(maximum);
    expect(JSON.stringify(await audit())).not.toMatch(maximum);
    await outbid.endAuction(auction.id, 'seller');
    expect(JSON.stringify(await outbid.listBids(auction.id, { limit: 10 }))).not.toMatch(maximum);
    expect((await audit()).items.find((b) => b.bidderId === 'alice' && b.kind === 'bid')).toMatchObject({ maxAmount: 4_321 });
  });
});

describe('the README example', () => {
  it('gives the answers packages/core/README.md shows', async () => {
    const { outbid, create } = setup();
    const auction = await create({ reservePrice: 5_000, buyNowPrice: 20_000, buyNowPolicy: 'first-bid' });
    const alice = await outbid.placeBid({ auctionId: auction.id, bidderId: 'alice', maxAmount: 8_000 });
    expect(alice.decision).toMatchObject({ status: 'accepted', currentPrice: 5_000, reserveMet: true });
    const bob = await outbid.placeBid({ auctionId: auction.id, bidderId: 'bob', amount: 6_000 });
    expect(bob.decision).toMatchObject({ status: 'rejected', reason: 'OUTBID_BY_PROXY', currentPrice: 6_100, currentWinnerId: 'alice', reserveMet: true });
    const carol = await outbid.placeBid({ auctionId: auction.id, bidderId: 'carol', buyNow: true });
    expect(carol.decision).toMatchObject({ status: 'rejected', reason: 'BUY_NOW_UNAVAILABLE' });
  });
});

describe('hidden reserve through the service', () => {
  it('an auction ending below its reserve has no winner, and AuctionEnded says why', async () => {
    const { clock, outbid, events, create } = setup();
    const auction = await create({ reservePrice: 5_000 });
    const bid = await outbid.placeBid({ auctionId: auction.id, bidderId: 'alice', amount: 2_000 });
    expect(bid.decision).toMatchObject({ status: 'accepted', reserveMet: false });
    await clock.advance(61_000);
    await outbid.runDueJob({ auctionId: auction.id, kind: 'end', at: auction.endAt });
    await outbid.idle();
    const ended = events.find((e) => e.type === 'AuctionEnded');
    expect(ended).toMatchObject({ winnerId: null, finalPrice: null, noWinnerReason: 'RESERVE_NOT_MET', snapshot: { reserveMet: false } });
    expect(JSON.stringify(events)).not.toMatch(/(?<![0-9A-Za-z])5000(?![0-9A-Za-z])/);
  });

  it('an auction ending at or above its reserve is won; with no bids AuctionEnded says NO_BIDS', async () => {
    const { clock, outbid, events, create } = setup();
    const sold = await create({ reservePrice: 2_000 });
    const unsold = await create({ reservePrice: 2_000 });
    await outbid.placeBid({ auctionId: sold.id, bidderId: 'alice', maxAmount: 3_000 });
    await clock.advance(61_000);
    for (const a of [sold, unsold]) await outbid.runDueJob({ auctionId: a.id, kind: 'end', at: a.endAt });
    await outbid.idle();
    const endOf = (id: string) => events.find((e) => e.type === 'AuctionEnded' && e.auctionId === id);
    expect(endOf(sold.id)).toMatchObject({ winnerId: 'alice', finalPrice: 2_000, noWinnerReason: null });
    expect(endOf(unsold.id)).toMatchObject({ winnerId: null, noWinnerReason: 'NO_BIDS' });
  });

  it('refuses a reserve at or below the start price and a Buy It Now at or below the reserve', async () => {
    const { create } = setup();
    await expect(create({ reservePrice: 1_000 })).rejects.toMatchObject({ code: 'VALIDATION_FAILED' });
    await expect(create({ reservePrice: 3_000, buyNowPrice: 3_000 })).rejects.toMatchObject({ code: 'VALIDATION_FAILED' });
  });
});

describe('Buy It Now through the service', () => {
  it('ends the auction at once: BidAccepted and AuctionEnded at one version, its end job cancelled', async () => {
    const { clock, outbid, events, create } = setup();
    const auction = await create({ buyNowPrice: 9_000 });
    const bought = await outbid.placeBid({ auctionId: auction.id, bidderId: 'alice', buyNow: true, idempotencyKey: 'k' });
    expect(bought.decision).toMatchObject({ status: 'accepted', amount: 9_000, auctionStatus: 'ended', currentWinnerId: 'alice' });
    await outbid.idle();
    expect(events.filter((e) => e.version === 2).map((e) => e.type)).toEqual(['BidAccepted', 'AuctionEnded']);
    expect(events.find((e) => e.type === 'AuctionEnded')).toMatchObject({ winnerId: 'alice', finalPrice: 9_000 });
    const state = await outbid.getAuction(auction.id);
    expect(state).toMatchObject({ status: 'ended', closedAt: bought.decision.decidedAt });
    // The scheduled end finds nothing to do and emits nothing more.
    await clock.advance(61_000);
    await outbid.runDueJob({ auctionId: auction.id, kind: 'end', at: auction.endAt });
    await outbid.idle();
    expect(events.filter((e) => e.type === 'AuctionEnded')).toHaveLength(1);
  });

  it('a Buy It Now with an amount, or a bid with neither amount nor maximum, is bad input', async () => {
    const { outbid, create } = setup();
    const auction = await create({ buyNowPrice: 9_000 });
    await expect(outbid.placeBid({ auctionId: auction.id, bidderId: 'a', buyNow: true, amount: 9_000 })).rejects.toMatchObject({ code: 'VALIDATION_FAILED' });
    await expect(outbid.placeBid({ auctionId: auction.id, bidderId: 'a' })).rejects.toMatchObject({ code: 'VALIDATION_FAILED' });
    await expect(outbid.placeBid({ auctionId: auction.id, bidderId: 'a', amount: 2_000, maxAmount: 1_500 })).rejects.toMatchObject({ code: 'VALIDATION_FAILED' });
    expect((await outbid.getAuction(auction.id)).version).toBe(1);
  });
});

describe('the ledger fence re-derives proxy changes', () => {
  const now = 1_900_000_000_000;
  const recordOf = (decision: BidDecision, kind: BidKind, key: string | null = null) => bidRecordFromDecision(decision, key, '', kind);

  it('accepts the automatic answer only with the refused bid that caused it, and only at the price the rules give', () => {
    const start = auctionFixture(now);
    const first = decideBid(start, maxBidCommand(start.id, 'alice', 5_000), now);
    const led = first.next!;
    expect(isValidSuccessor(start, led, recordOf(first.decision, 'bid'))).toBe(true);
    const rival = decideBid(led, bidCommand(led.id, 'bob', 2_000), now);
    expect(rival.kind).toBe('proxy');
    const next = rival.next!;
    const automatic = { ...recordOf({ ...rival.decision, status: 'accepted', reason: null, bidderId: 'alice', amount: next.currentPrice }, 'proxy'), bidId: 'auto' };
    const trigger = recordOf(rival.decision, 'bid', 'k');
    expect(isValidSuccessor(led, next, automatic, trigger)).toBe(true);
    expect(isValidSuccessor(led, { ...next, currentPrice: 2_200 }, automatic, trigger)).toBe(false);
    expect(isValidSuccessor(led, next, automatic, { ...trigger, amount: 1_100 })).toBe(false);
    expect(isValidSuccessor(led, { ...next, leaderMax: 9_000 }, automatic)).toBe(false);
  });

  it('accepts a Buy It Now and a raised maximum as the rules produce them, nothing else', () => {
    const start = auctionFixture(now, { buyNowPrice: 9_000, buyNowPolicy: 'first-bid' });
    const bought = decideBid(start, buyNowCommand(start.id, 'carol'), now);
    expect(isValidSuccessor(start, bought.next!, recordOf(bought.decision, 'buy_now'))).toBe(true);
    expect(isValidSuccessor(start, { ...bought.next!, currentPrice: 1_000 }, recordOf(bought.decision, 'buy_now'))).toBe(false);
    const led = decideBid(start, maxBidCommand(start.id, 'alice', 2_000), now).next!;
    const raise = decideBid(led, maxBidCommand(led.id, 'alice', 6_000), now);
    expect(raise.kind).toBe('maximum');
    expect(isValidSuccessor(led, raise.next!, recordOf(raise.decision, 'maximum'))).toBe(true);
    expect(isValidSuccessor(led, raise.next!, recordOf(raise.decision, 'bid'))).toBe(false);
  });
});

describe('the fence compares states as isDeepStrictEqual does', () => {
  it('sameState agrees with isDeepStrictEqual on every field changed, removed or added, and on nested rules', () => {
    const base = auctionFixture(1_900_000_000_000, { softClose: { windowMs: 60_000, extendMs: 30_000, mode: 'reset', maxExtensions: null, hardEndAt: null }, reservePrice: 5_000 });
    const variants: Array<[string, Record<string, unknown>]> = [['copy', { ...base, increment: { ...base.increment } }]];
    for (const [key, value] of Object.entries(base)) {
      const changed = typeof value === 'number' ? value + 1 : typeof value === 'string' ? `${value}x` : value === null ? 0 : { ...value, extra: 1 };
      variants.push([`${key} changed`, { ...base, [key]: changed }]);
      variants.push([`${key} removed`, Object.fromEntries(Object.entries(base).filter(([k]) => k !== key))]);
      variants.push([`${key} removed, another key added`, { ...Object.fromEntries(Object.entries(base).filter(([k]) => k !== key)), other: value }]);
      if (value === null) variants.push([`${key} undefined`, { ...base, [key]: undefined }]);
    }
    variants.push(['extra key', { ...base, other: undefined }]);
    variants.push(['a nested value changed', { ...base, softClose: { ...base.softClose!, extendMs: 1 } }]);
    variants.push(['a nested key added', { ...base, increment: { ...base.increment, extra: undefined } }]);
    variants.push(['0 and -0', { ...base, extensionCount: -0 }]);
    const verdicts = variants.map(([name, other]) => [name, sameState(base, other as never), sameState(other as never, base)]);
    expect(verdicts).toEqual(variants.map(([name, other]) => [name, isDeepStrictEqual(base, other), isDeepStrictEqual(other, base)]));
    expect(verdicts.filter(([, equal]) => equal).map(([name]) => name)).toEqual(['copy']);
    // The same number of keys, each undefined where the other has none: not the same state.
    const [one, two] = [{ ...base, one: undefined }, { ...base, two: undefined }] as unknown as AuctionState[];
    expect([sameState(one!, two!), isDeepStrictEqual(one, two)]).toEqual([false, false]);
  });
});
