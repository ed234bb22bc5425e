import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AuctionState } from '../domain/auction.js';
import { bidRecordFromDecision } from '../domain/bid.js';
import { EBAY_USD_INCREMENTS } from '../domain/increments.js';
import type { BidEngine, EngineBidResult } from '../ports/engine.js';
import { auctionFixture, bidCommand, buyNowCommand, eventually, maxBidCommand, testId } from './fixtures.js';

export interface EngineSuiteOptions {
  /** Creates the engine under test (one per suite). Its clock must be real time. */
  create(): Promise<BidEngine>;
  /** Releases what `create` started, after `engine.close()`. */
  teardown?(): Promise<void>;
}

function decided(result: EngineBidResult) {
  if (result.kind !== 'decided') throw new Error(`expected a decision, got ${result.kind}`);
  return result;
}

/**
 * The bid engine contract. Every engine (memory, Redis, Postgres) runs it against a real backend:
 * `describeEngineConformance('redis', { create: async () => createRedisEngine(...) })`.
 */
export function describeEngineConformance(name: string, options: EngineSuiteOptions): void {
  describe(`BidEngine conformance: ${name}`, () => {
    let engine: BidEngine;
    beforeAll(async () => {
      engine = await options.create();
    });
    afterAll(async () => {
      await engine?.close();
      await options.teardown?.();
    });

    const active = async (overrides: Partial<AuctionState> = {}) => {
      const state = auctionFixture(await engine.now(), overrides);
      expect(await engine.hydrate(state)).toEqual({ applied: true });
      return state;
    };
    const bid = async (auction: AuctionState, bidder: string, amount: number, key: string | null = null) =>
      decided(await engine.placeBid(bidCommand(auction.id, bidder, amount, key)));

    it('declares its name and the port version it implements', () => {
      expect(engine.name).toBe(name);
      expect(engine.specificationVersion).toBe('v1');
    });

    it('.placeBid on an auction it does not hold answers needs_hydration', async () => {
      expect(await engine.placeBid(bidCommand(testId('missing'), 'b1', 1_000))).toEqual({ kind: 'needs_hydration' });
      expect(await engine.getState(testId('missing'))).toBeNull();
    });

    it('.hydrate then .getState returns the same state', async () => {
      const state = await active({ softClose: { windowMs: 1_000, extendMs: 2_000, mode: 'additive', maxExtensions: 3, hardEndAt: null } });
      expect(await engine.getState(state.id)).toEqual(state);
    });

    it('.hydrate refuses a state older than the one it holds, and accepts a newer one', async () => {
      const state = await active();
      await bid(state, 'b1', 1_000);
      expect(await engine.hydrate(state)).toEqual({ applied: false, currentVersion: 2 });
      const newer = { ...state, version: 5, currentPrice: 5_000, currentWinnerId: 'b9', bidCount: 4 };
      expect(await engine.hydrate(newer)).toEqual({ applied: true });
      expect(await engine.getState(state.id)).toEqual(newer);
    });

    it('.now is the authoritative clock and decisions carry it', async () => {
      const state = await active();
      const before = await engine.now();
      const { decision } = await bid(state, 'b1', 1_000);
      const after = await engine.now();
      expect(Math.abs(before - Date.now())).toBeLessThan(5_000);
      expect(decision.decidedAt).toBeGreaterThanOrEqual(before);
      expect(decision.decidedAt).toBeLessThanOrEqual(after);
    });

    it('the first bid must reach the start price (BID_TOO_LOW carries minNextBid)', async () => {
      const state = await active();
      const low = await bid(state, 'b1', 999);
      expect(low.decision).toMatchObject({ status: 'rejected', reason: 'BID_TOO_LOW', minNextBid: 1_000, version: 1 });
      const ok = await bid(state, 'b1', 1_000);
      expect(ok.decision).toMatchObject({ status: 'accepted', reason: null, currentPrice: 1_000, currentWinnerId: 'b1' });
    });

    it('an accepted bid bumps the version by one and returns the whole new state', async () => {
      const state = await active();
      const result = await bid(state, 'b1', 1_500);
      expect(result.replayed).toBe(false);
      expect(result.decision).toMatchObject({ status: 'accepted', version: 2, minNextBid: 1_600, auctionStatus: 'active', extended: false });
      expect(result.state).toEqual({ ...state, currentPrice: 1_500, currentWinnerId: 'b1', version: 2, bidCount: 1 });
      expect(result.previousEndAt).toBeNull();
      expect(await engine.getState(state.id)).toEqual(result.state);
    });

    it('later bids must beat the current price by the fixed increment', async () => {
      const state = await active();
      await bid(state, 'b1', 1_000);
      expect((await bid(state, 'b2', 1_099)).decision).toMatchObject({ status: 'rejected', reason: 'BID_TOO_LOW', minNextBid: 1_100 });
      expect((await bid(state, 'b2', 1_100)).decision).toMatchObject({ status: 'accepted', version: 3 });
    });

    it('later bids must beat the current price by the tier that applies at the current price', async () => {
      const state = await active({ startPrice: 95, currentPrice: 95, increment: { type: 'table', tiers: [...EBAY_USD_INCREMENTS] } });
      await bid(state, 'b1', 95); // price 95 (< 100): step 5
      expect((await bid(state, 'b2', 99)).decision).toMatchObject({ reason: 'BID_TOO_LOW', minNextBid: 100 });
      await bid(state, 'b2', 100); // price 100: step 25
      expect((await bid(state, 'b1', 124)).decision).toMatchObject({ reason: 'BID_TOO_LOW', minNextBid: 125 });
      expect((await bid(state, 'b1', 125)).decision.status).toBe('accepted');
    });

    it('the creator cannot bid on their own auction (SELF_BID)', async () => {
      const state = await active();
      expect((await bid(state, state.creatorId, 5_000)).decision).toMatchObject({ status: 'rejected', reason: 'SELF_BID' });
    });

    it('the leader cannot bid against themselves (ALREADY_LEADING)', async () => {
      const state = await active();
      await bid(state, 'b1', 1_000);
      expect((await bid(state, 'b1', 9_000)).decision).toMatchObject({ status: 'rejected', reason: 'ALREADY_LEADING', version: 2 });
    });

    it('invalid amounts are answered invalid (INVALID_AMOUNT) and change nothing', async () => {
      const state = await active();
      for (const amount of [0, -100, 1_000.5, 1e16, Number.NaN]) {
        expect((await bid(state, 'b1', amount)).decision).toMatchObject({ status: 'invalid', reason: 'INVALID_AMOUNT' });
      }
      expect(await engine.getState(state.id)).toEqual(state);
    });

    it('at the 10^15 cap: a jump must leave room for an answer, the minimum next bid is always allowed, nothing freezes by surprise', async () => {
      const MAX = 1_000_000_000_000_000;
      const state = await active({ currentPrice: MAX - 1_000, currentWinnerId: 'w', version: 3, bidCount: 2 }); // minNextBid MAX - 900
      // Jumps: MAX - 100 leaves exactly one increment of room; MAX - 99 and MAX leave none.
      for (const amount of [MAX, MAX - 99]) {
        expect((await bid(state, 'g', amount)).decision).toMatchObject({ status: 'invalid', reason: 'INVALID_AMOUNT' });
      }
      expect((await bid(state, 'g', MAX - 100)).decision).toMatchObject({ status: 'accepted', minNextBid: MAX });
      // The outbid rival can always answer with the minimum next bid, even at the cap itself.
      expect((await bid(state, 'w', MAX)).decision).toMatchObject({ status: 'accepted', currentPrice: MAX, currentWinnerId: 'w' });
      // The top is reached only by an answer (open to everyone), never by one jump.
      expect((await bid(state, 'g', MAX)).decision).toMatchObject({ status: 'invalid', reason: 'INVALID_AMOUNT' });
      expect((await engine.getState(state.id))?.version).toBe(5);
    });

    it('a bid before the start of a scheduled auction is AUCTION_NOT_STARTED', async () => {
      const now = await engine.now();
      const state = await active({ status: 'scheduled', startAt: now + 60_000, endAt: now + 120_000 });
      expect((await bid(state, 'b1', 1_000)).decision).toMatchObject({ status: 'rejected', reason: 'AUCTION_NOT_STARTED', auctionStatus: 'scheduled' });
    });

    it('a scheduled auction whose start has passed accepts bids and becomes active with them', async () => {
      const state = await active({ status: 'scheduled' });
      const result = await bid(state, 'b1', 1_000);
      expect(result.decision).toMatchObject({ status: 'accepted', auctionStatus: 'active', version: 2 });
    });

    it('a bid at or after the effective end is late (AUCTION_ENDED), judged by the engine clock', async () => {
      const now = await engine.now();
      const state = await active({ endAt: now + 150 });
      await eventually(async () => expect(await engine.now()).toBeGreaterThanOrEqual(state.effectiveEndAt), 2_000);
      expect((await bid(state, 'b1', 1_000)).decision).toMatchObject({ status: 'late', reason: 'AUCTION_ENDED', version: 1 });
    });

    it('bids on a cancelled auction are AUCTION_CANCELLED and on an ended one late', async () => {
      const cancelled = await active();
      expect((await engine.cancel(cancelled.id)).kind).toBe('applied');
      expect((await bid(cancelled, 'b1', 1_000)).decision).toMatchObject({ status: 'rejected', reason: 'AUCTION_CANCELLED' });
      const ended = await active();
      expect((await engine.end(ended.id, 'now')).kind).toBe('applied');
      expect((await bid(ended, 'b1', 1_000)).decision).toMatchObject({ status: 'late', reason: 'AUCTION_ENDED' });
    });

    it('a retry with the same key and payload gets the first answer and places no second bid', async () => {
      const state = await active();
      const key = testId('key');
      const first = await bid(state, 'b1', 1_000, key);
      const retry = await bid(state, 'b1', 1_000, key);
      expect(retry.replayed).toBe(true);
      expect(JSON.stringify(retry.decision)).toBe(JSON.stringify(first.decision));
      expect(retry.state).toBeNull();
      expect((await engine.getState(state.id))?.version).toBe(2);
    });

    it('a rejected answer is replayed too', async () => {
      const state = await active();
      const key = testId('key');
      const first = await bid(state, 'b1', 10, key);
      await bid(state, 'b2', 1_000);
      const retry = await bid(state, 'b1', 10, key);
      expect(retry).toMatchObject({ replayed: true });
      expect(retry.decision).toEqual(first.decision);
    });

    it('.hydrate with the ledger’s records: retries after a rebuild get their first answers, accepted and rejected', async () => {
      const state = await active();
      const [acceptedKey, rejectedKey] = [testId('key'), testId('key')];
      const accepted = await bid(state, 'x', 1_000, acceptedKey);
      const rejected = await bid(state, 'y', 1_000, rejectedKey); // BID_TOO_LOW
      const ledgerState = (await engine.getState(state.id))!;
      const records = [accepted, rejected].map(({ decision }, i) => ({
        ...bidRecordFromDecision(decision, [acceptedKey, rejectedKey][i]!, JSON.stringify({ amount: decision.amount })),
      }));
      // Rebuilt from scratch (a restart, Redis emptied, failover back): the copy is gone, then loaded again.
      await engine.drop(state.id);
      expect(await engine.hydrate(ledgerState, records)).toEqual({ applied: true });
      const x = await bid(state, 'x', 1_000, acceptedKey);
      expect(x.replayed).toBe(true);
      expect(JSON.stringify(x.decision)).toBe(JSON.stringify(accepted.decision));
      const y = await bid(state, 'y', 1_000, rejectedKey);
      expect(y.replayed).toBe(true);
      expect(JSON.stringify(y.decision)).toBe(JSON.stringify(rejected.decision));
      expect((await bid(state, 'x', 2_000, acceptedKey)).decision).toMatchObject({ status: 'invalid', reason: 'IDEMPOTENCY_KEY_REUSED' });
      expect((await engine.getState(state.id))?.version).toBe(2);
    });

    it('.hydrate of an older copy replaces its records with the given ones; the same version keeps its own', async () => {
      const state = await active();
      const [kept, lost] = [testId('key'), testId('key')];
      const first = await bid(state, 'x', 1_000, kept); // v2
      const v2 = (await engine.getState(state.id))!;
      expect(await engine.hydrate(v2)).toEqual({ applied: true }); // same version, no records given: keeps its own
      expect((await bid(state, 'x', 1_000, kept)).replayed).toBe(true);
      await bid(state, 'y', 1_100, lost); // v3, never reaches "the ledger"
      expect(await engine.hydrate({ ...v2, version: 4 }, [bidRecordFromDecision(first.decision, kept, JSON.stringify({ amount: 1_000 }))])).toEqual({ applied: true });
      expect((await bid(state, 'x', 1_000, kept)).replayed).toBe(true);
      expect((await bid(state, 'y', 1_100, lost)).replayed).toBe(false); // the unrecorded answer went with its copy
    });

    it('the same key with a different payload is IDEMPOTENCY_KEY_REUSED and changes nothing', async () => {
      const state = await active();
      const key = testId('key');
      await bid(state, 'b1', 1_000, key);
      const reused = await bid(state, 'b1', 2_000, key);
      expect(reused.decision).toMatchObject({ status: 'invalid', reason: 'IDEMPOTENCY_KEY_REUSED', version: 2 });
      expect(reused.replayed).toBe(false);
      expect((await engine.getState(state.id))?.currentPrice).toBe(1_000);
    });

    it('keys are scoped to the bidder: another bidder’s identical key is a new bid', async () => {
      const state = await active();
      const key = testId('key');
      await bid(state, 'b1', 1_000, key);
      const other = await bid(state, 'b2', 1_100, key);
      expect(other).toMatchObject({ replayed: false, decision: { status: 'accepted', currentWinnerId: 'b2' } });
    });

    it('an invalid answer is not stored: the same key with a corrected amount is processed', async () => {
      const state = await active();
      const key = testId('key');
      expect((await bid(state, 'b1', 10.5, key)).decision.status).toBe('invalid');
      expect(await bid(state, 'b1', 1_000, key)).toMatchObject({ replayed: false, decision: { status: 'accepted' } });
    });

    it('concurrent bids of the same amount: exactly one is accepted', async () => {
      const state = await active();
      const results = await Promise.all(
        Array.from({ length: 100 }, (_, i) => engine.placeBid(bidCommand(state.id, `b${i}`, 1_000))),
      );
      const accepted = results.map(decided).filter((r) => r.decision.status === 'accepted');
      expect(accepted).toHaveLength(1);
      expect((await engine.getState(state.id))?.version).toBe(2);
    });

    it('concurrent requests with one key resolve to one decision', async () => {
      const state = await active();
      const key = testId('key');
      const results = (await Promise.all(Array.from({ length: 20 }, () => engine.placeBid(bidCommand(state.id, 'b1', 1_000, key))))).map(decided);
      expect(results.filter((r) => !r.replayed)).toHaveLength(1);
      expect(new Set(results.map((r) => r.decision.bidId)).size).toBe(1);
      expect((await engine.getState(state.id))?.bidCount).toBe(1);
    });

    it('soft close (reset): a bid inside the window moves the end to bid time + extension', async () => {
      const now = await engine.now();
      const state = await active({ endAt: now + 5_000, softClose: { windowMs: 60_000, extendMs: 30_000, mode: 'reset', maxExtensions: null, hardEndAt: null } });
      const result = await bid(state, 'b1', 1_000);
      expect(result.decision.extended).toBe(true);
      expect(result.decision.endAt).toBe(result.decision.decidedAt + 30_000);
      expect(result.previousEndAt).toBe(state.effectiveEndAt);
      expect(result.state).toMatchObject({ effectiveEndAt: result.decision.endAt, endAt: state.endAt, extensionCount: 1 });
    });

    it('soft close (additive): a bid inside the window adds the extension to the current end', async () => {
      const now = await engine.now();
      const state = await active({ endAt: now + 5_000, softClose: { windowMs: 60_000, extendMs: 30_000, mode: 'additive', maxExtensions: null, hardEndAt: null } });
      await bid(state, 'b1', 1_000);
      const second = await bid(state, 'b2', 1_100);
      expect(second.decision.endAt).toBe(state.effectiveEndAt + 60_000);
    });

    it('soft close: outside the window, rejected bids, and a spent cap do not extend', async () => {
      const now = await engine.now();
      const policy = { windowMs: 60_000, extendMs: 30_000, mode: 'additive' as const, maxExtensions: 1, hardEndAt: null };
      const far = await active({ endAt: now + 600_000, softClose: policy });
      expect((await bid(far, 'b1', 1_000)).decision.extended).toBe(false);
      const near = await active({ endAt: now + 5_000, softClose: policy });
      expect((await bid(near, 'b1', 10)).decision.endAt).toBe(near.effectiveEndAt);
      expect((await bid(near, 'b1', 1_000)).decision.extended).toBe(true);
      const capped = await bid(near, 'b2', 1_100);
      expect(capped.decision).toMatchObject({ status: 'accepted', extended: false, endAt: near.effectiveEndAt + 30_000 });
    });

    it('soft close: the hard deadline caps the extension', async () => {
      const now = await engine.now();
      const hardEndAt = now + 7_000;
      const state = await active({ endAt: now + 5_000, softClose: { windowMs: 60_000, extendMs: 30_000, mode: 'additive', maxExtensions: null, hardEndAt } });
      expect((await bid(state, 'b1', 1_000)).decision.endAt).toBe(hardEndAt);
      expect((await bid(state, 'b2', 1_100)).decision).toMatchObject({ extended: false, endAt: hardEndAt });
    });

    it('.start(now) activates a scheduled auction early; .start(due) before its time is not_due', async () => {
      const now = await engine.now();
      const state = await active({ status: 'scheduled', startAt: now + 60_000, endAt: now + 120_000 });
      expect(await engine.start(state.id, 'due')).toMatchObject({ kind: 'not_due', dueAt: state.startAt });
      const started = await engine.start(state.id, 'now');
      expect(started).toMatchObject({ kind: 'applied', state: { status: 'active', version: 2 } });
      if (started.kind === 'applied') expect(started.state.startAt).toBeLessThanOrEqual(await engine.now());
      expect(await engine.start(state.id, 'now')).toMatchObject({ kind: 'unchanged' });
      expect((await bid(state, 'b1', 1_000)).decision.status).toBe('accepted');
    });

    it('.end(due) before the effective end answers not_due with the (extended) end to re-arm at', async () => {
      const now = await engine.now();
      const state = await active({ endAt: now + 5_000, softClose: { windowMs: 60_000, extendMs: 30_000, mode: 'additive', maxExtensions: null, hardEndAt: null } });
      await bid(state, 'b1', 1_000);
      expect(await engine.end(state.id, 'due')).toMatchObject({ kind: 'not_due', dueAt: state.effectiveEndAt + 30_000 });
    });

    it('.end(due) after the effective end seals once; a second end is unchanged', async () => {
      const now = await engine.now();
      const state = await active({ endAt: now + 150 });
      await bid(state, 'b1', 1_000);
      await eventually(async () => expect(await engine.now()).toBeGreaterThanOrEqual(state.effectiveEndAt), 2_000);
      const ended = await engine.end(state.id, 'due');
      expect(ended).toMatchObject({ kind: 'applied', state: { status: 'ended', version: 3, currentWinnerId: 'b1', effectiveEndAt: state.effectiveEndAt } });
      expect(await engine.end(state.id, 'due')).toMatchObject({ kind: 'unchanged', state: { version: 3 } });
      expect(await engine.end(state.id, 'now')).toMatchObject({ kind: 'unchanged' });
    });

    it('.end(now) seals at once and later bids are late', async () => {
      const state = await active();
      const ended = await engine.end(state.id, 'now');
      expect(ended).toMatchObject({ kind: 'applied', state: { status: 'ended', version: 2 } });
      if (ended.kind === 'applied') expect(ended.state.effectiveEndAt).toBeLessThanOrEqual(await engine.now());
    });

    it('.cancel refuses an ended auction and is unchanged when repeated', async () => {
      const state = await active();
      expect(await engine.cancel(state.id)).toMatchObject({ kind: 'applied', state: { status: 'cancelled' } });
      expect(await engine.cancel(state.id)).toMatchObject({ kind: 'unchanged' });
      expect(await engine.start(state.id, 'now')).toMatchObject({ kind: 'refused', reason: 'AUCTION_CANCELLED' });
      const ended = await active();
      await engine.end(ended.id, 'now');
      expect(await engine.cancel(ended.id)).toMatchObject({ kind: 'refused', reason: 'AUCTION_ENDED' });
      expect(await engine.end(state.id, 'now')).toMatchObject({ kind: 'refused', reason: 'AUCTION_CANCELLED' });
    });

    it('transitions on an auction it does not hold answer needs_hydration', async () => {
      const id = testId('missing');
      expect(await engine.start(id, 'now')).toEqual({ kind: 'needs_hydration' });
      expect(await engine.end(id, 'due')).toEqual({ kind: 'needs_hydration' });
      expect(await engine.cancel(id)).toEqual({ kind: 'needs_hydration' });
    });

    it('.drop forgets the auction and its idempotency records', async () => {
      const state = await active();
      const key = testId('key');
      await bid(state, 'b1', 1_000, key);
      await engine.drop(state.id);
      expect(await engine.getState(state.id)).toBeNull();
      await engine.hydrate(state);
      expect(await bid(state, 'b1', 1_000, key)).toMatchObject({ replayed: false, decision: { status: 'accepted', version: 2 } });
    });

    describe('proxy (maximum) bids, hidden reserve, Buy It Now', () => {
      const maxBid = async (auction: AuctionState, bidder: string, maxAmount: number, amount: number | null = null, key: string | null = null) =>
        decided(await engine.placeBid(maxBidCommand(auction.id, bidder, maxAmount, amount, key)));
      const buyNow = async (auction: AuctionState, bidder: string, key: string | null = null) =>
        decided(await engine.placeBid(buyNowCommand(auction.id, bidder, key)));
      const stateOf = async (auction: AuctionState) => (await engine.getState(auction.id))!;

      it('a first maximum leads at the start price and keeps the maximum secret in the state only', async () => {
        const state = await active();
        const first = await maxBid(state, 'alice', 5_000);
        expect(first.decision).toMatchObject({ status: 'accepted', amount: 1_000, maxAmount: 5_000, currentPrice: 1_000, currentWinnerId: 'alice', version: 2, minNextBid: 1_100 });
        expect(first.bidKind).toBe('bid');
        expect(first.state).toMatchObject({ leaderMax: 5_000, currentPrice: 1_000, bidCount: 1 });
      });

      it('a first maximum on a start price of 0 opens at one minor unit (a bid is never 0)', async () => {
        const state = await active({ startPrice: 0, currentPrice: 0 });
        expect((await maxBid(state, 'alice', 500)).decision).toMatchObject({ status: 'accepted', amount: 1, currentPrice: 1, minNextBid: 101 });
      });

      it('a plain bid under a standing maximum is OUTBID_BY_PROXY, and the automatic answer is a new version', async () => {
        const state = await active();
        await maxBid(state, 'alice', 5_000);
        const bob = await bid(state, 'bob', 2_000);
        expect(bob.decision).toMatchObject({ status: 'rejected', reason: 'OUTBID_BY_PROXY', amount: 2_000, currentPrice: 2_100, currentWinnerId: 'alice', version: 3, minNextBid: 2_200 });
        expect(bob.bidKind).toBe('proxy');
        expect(bob.state).toMatchObject({ currentPrice: 2_100, currentWinnerId: 'alice', leaderMax: 5_000, version: 3, bidCount: 2 });
        expect(await stateOf(state)).toEqual(bob.state);
      });

      it('equal maximums: the earlier one wins, at that maximum', async () => {
        const state = await active();
        await maxBid(state, 'alice', 2_000);
        const bob = await maxBid(state, 'bob', 2_000);
        expect(bob.decision).toMatchObject({ status: 'rejected', reason: 'OUTBID_BY_PROXY', currentPrice: 2_000, currentWinnerId: 'alice' });
      });

      it('a plain bid equal to a standing maximum loses to it, at that maximum', async () => {
        const state = await active();
        await maxBid(state, 'alice', 1_500);
        const bob = await bid(state, 'bob', 1_500);
        expect(bob.decision).toMatchObject({ status: 'rejected', reason: 'OUTBID_BY_PROXY', currentPrice: 1_500, currentWinnerId: 'alice', minNextBid: 1_600 });
      });

      it('a higher maximum leads at one increment over the old maximum, or at its own maximum when that is less', async () => {
        const state = await active();
        await maxBid(state, 'alice', 1_500);
        const bob = await maxBid(state, 'bob', 3_000);
        expect(bob.decision).toMatchObject({ status: 'accepted', amount: 1_600, currentPrice: 1_600, currentWinnerId: 'bob' });
        const carol = await maxBid(state, 'carol', 3_050);
        expect(carol.decision).toMatchObject({ status: 'accepted', amount: 3_050, currentPrice: 3_050, currentWinnerId: 'carol' });
        const withFloor = await active();
        await maxBid(withFloor, 'alice', 1_500);
        expect((await maxBid(withFloor, 'bob', 3_000, 2_500)).decision).toMatchObject({ status: 'accepted', amount: 2_500, currentPrice: 2_500 });
      });

      it('a maximum below the next increment is BID_TOO_LOW; amount above maximum is INVALID_AMOUNT', async () => {
        const state = await active();
        await bid(state, 'alice', 1_000);
        expect((await maxBid(state, 'bob', 1_050)).decision).toMatchObject({ status: 'rejected', reason: 'BID_TOO_LOW', version: 2 });
        expect((await maxBid(state, 'bob', 1_500, 2_000)).decision).toMatchObject({ status: 'invalid', reason: 'INVALID_AMOUNT', version: 2 });
      });

      it('the leader raises their maximum without raising the price; a lower one or a plain bid is ALREADY_LEADING', async () => {
        const state = await active();
        await maxBid(state, 'alice', 1_500);
        const raise = await maxBid(state, 'alice', 3_000);
        expect(raise.decision).toMatchObject({ status: 'accepted', amount: 1_000, currentPrice: 1_000, version: 3, maxAmount: 3_000, extended: false });
        expect(raise.bidKind).toBe('maximum');
        expect(raise.state).toMatchObject({ leaderMax: 3_000, bidCount: 1, version: 3 });
        expect((await maxBid(state, 'alice', 2_000)).decision).toMatchObject({ status: 'rejected', reason: 'ALREADY_LEADING' });
        expect((await bid(state, 'alice', 1_200)).decision).toMatchObject({ status: 'rejected', reason: 'ALREADY_LEADING' });
        expect((await bid(state, 'bob', 2_000)).decision).toMatchObject({ reason: 'OUTBID_BY_PROXY', currentPrice: 2_100, currentWinnerId: 'alice' });
      });

      it('reserve: not met below it; a maximum reaching it exactly lifts the price to it', async () => {
        const state = await active({ reservePrice: 2_000 });
        const low = await maxBid(state, 'alice', 1_500);
        expect(low.decision).toMatchObject({ currentPrice: 1_000, reserveMet: false });
        const exact = await maxBid(state, 'bob', 2_000);
        expect(exact.decision).toMatchObject({ status: 'accepted', amount: 2_000, currentPrice: 2_000, currentWinnerId: 'bob', reserveMet: true });
      });

      it('reserve: crossed by a proxy — a first maximum above it opens at the reserve, a raise past it jumps there', async () => {
        const state = await active({ reservePrice: 2_500 });
        expect((await maxBid(state, 'alice', 3_000)).decision).toMatchObject({ amount: 2_500, currentPrice: 2_500, reserveMet: true });
        expect((await bid(state, 'bob', 2_600)).decision).toMatchObject({ reason: 'OUTBID_BY_PROXY', currentPrice: 2_700, reserveMet: true });
        const raised = await active({ reservePrice: 2_500 });
        await maxBid(raised, 'alice', 1_500);
        const jump = await maxBid(raised, 'alice', 4_000);
        expect(jump.decision).toMatchObject({ status: 'accepted', amount: 2_500, currentPrice: 2_500, reserveMet: true });
        expect(jump.bidKind).toBe('proxy');
        expect(jump.state).toMatchObject({ bidCount: 2, leaderMax: 4_000 });
      });

      it('a proxy counter-bid inside the soft-close window extends the end', async () => {
        const now = await engine.now();
        const state = await active({ endAt: now + 5_000, softClose: { windowMs: 60_000, extendMs: 30_000, mode: 'additive', maxExtensions: null, hardEndAt: null } });
        await maxBid(state, 'alice', 3_000);
        const bob = await bid(state, 'bob', 1_500);
        expect(bob.decision).toMatchObject({ reason: 'OUTBID_BY_PROXY', extended: true, endAt: state.effectiveEndAt + 60_000 });
        expect(bob.previousEndAt).toBe(state.effectiveEndAt + 30_000);
        expect(bob.state).toMatchObject({ extensionCount: 2 });
      });

      it('an OUTBID_BY_PROXY answer is replayed to a retry without a second automatic bid', async () => {
        const state = await active();
        await maxBid(state, 'alice', 3_000);
        const key = testId('key');
        const first = await bid(state, 'bob', 1_500, key);
        const again = await bid(state, 'bob', 1_500, key);
        expect(again).toMatchObject({ replayed: true, state: null, decision: first.decision });
        expect((await stateOf(state)).version).toBe(3);
      });

      it('Buy It Now ends the auction at once with the buyer at that price; it is gone after the first bid', async () => {
        const state = await active({ buyNowPrice: 9_000, buyNowPolicy: 'first-bid' });
        const bought = await buyNow(state, 'alice');
        expect(bought.decision).toMatchObject({ status: 'accepted', amount: 9_000, currentPrice: 9_000, currentWinnerId: 'alice', auctionStatus: 'ended', buyNowAvailable: false });
        expect(bought.bidKind).toBe('buy_now');
        expect(bought.state).toMatchObject({ status: 'ended', bidCount: 1, closedAt: bought.decision.decidedAt });
        expect((await bid(state, 'bob', 1_000)).decision).toMatchObject({ status: 'late', reason: 'AUCTION_ENDED' });
        expect((await buyNow(state, 'bob')).decision).toMatchObject({ status: 'late' });
        const bidFirst = await active({ buyNowPrice: 9_000, buyNowPolicy: 'first-bid' });
        expect((await bid(bidFirst, 'alice', 1_000)).decision.buyNowAvailable).toBe(false);
        expect((await buyNow(bidFirst, 'bob')).decision).toMatchObject({ status: 'rejected', reason: 'BUY_NOW_UNAVAILABLE', version: 2 });
        expect((await buyNow(await active(), 'bob')).decision).toMatchObject({ status: 'rejected', reason: 'BUY_NOW_UNAVAILABLE', buyNowAvailable: null });
      });

      it('Buy It Now with the reserve-met policy stays until the reserve is met', async () => {
        const state = await active({ reservePrice: 3_000, buyNowPrice: 9_000, buyNowPolicy: 'reserve-met' });
        expect((await bid(state, 'alice', 1_000)).decision).toMatchObject({ buyNowAvailable: true, reserveMet: false });
        expect((await bid(state, 'bob', 3_000)).decision).toMatchObject({ buyNowAvailable: false, reserveMet: true });
        expect((await buyNow(state, 'carol')).decision.reason).toBe('BUY_NOW_UNAVAILABLE');
        const open = await active({ reservePrice: 3_000, buyNowPrice: 9_000, buyNowPolicy: 'reserve-met' });
        await bid(open, 'alice', 1_000);
        expect((await buyNow(open, 'carol')).decision).toMatchObject({ status: 'accepted', currentWinnerId: 'carol' });
      });

      it('Buy It Now racing a bid, 1,000 rounds: exactly one of them wins each time', async () => {
        // Ten lanes of 100 rounds each, each round on its own auction: the race is inside a round (the buy and the
        // bid are sent together); the lanes only keep a slow backend (one transaction per call) within the timeout.
        const lane = async (l: number) => {
          for (let round = 0; round < 100; round++) {
            const state = await active({ buyNowPrice: 9_000, buyNowPolicy: 'first-bid' });
            const results = (await Promise.all([engine.placeBid(buyNowCommand(state.id, 'buyer')), engine.placeBid(bidCommand(state.id, 'bidder', 1_000))])).map(decided);
            const winners = results.filter((r) => r.decision.status === 'accepted');
            expect(winners, `lane ${l} round ${round}`).toHaveLength(1);
            expect((await stateOf(state)).version).toBe(2);
          }
        };
        await Promise.all(Array.from({ length: 10 }, (_, l) => lane(l)));
      }, 180_000);
    });
  });
}
