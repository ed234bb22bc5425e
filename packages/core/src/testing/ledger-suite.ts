import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AuctionState } from '../domain/auction.js';
import { minNextBid } from '../domain/auction.js';
import type { BidRecord } from '../domain/bid.js';
import { makeEvent, type AuctionEvent } from '../domain/events.js';
import { OutbidError } from '../errors.js';
import type { Ledger } from '../ports/ledger.js';
import { bidRecordFromDecision } from '../domain/bid.js';
import { decideBid } from '../rules/place-bid.js';
import { decideCancel, decideEnd, decideStart, type TransitionOutcome } from '../rules/transitions.js';
import { acceptedChange, auctionFixture, bidCommand, buyNowCommand, decidedChange, maxBidCommand, testId } from './fixtures.js';

export interface LedgerSuiteOptions {
  /**
   * Creates the ledger under test (one per suite), migrated and ready. With `offers.locks` it is called once more
   * and must return a second ledger on the same store: the locks are tested across the two.
   */
  create(): Promise<Ledger>;
  teardown?(): Promise<void>;
  /**
   * The optional members the ledger offers. Their tests run only when declared and are reported as skipped
   * otherwise; a test checks that the declaration matches the ledger.
   */
  offers?: {
    /** `applyChanges`: several fenced writes in one transaction. */
    applyChanges?: boolean;
    /** `applyChangesAndAudit`: fenced writes and audit records in one transaction. */
    applyChangesAndAudit?: boolean;
    /** `withGuardLock` and `withRelayLock`: one guard pass and one relay at a time across instances. */
    locks?: boolean;
    /** `relayOutbox`: a whole relay pass under the relay lock, in the store's fewest round trips (needs `locks`). */
    relayOutbox?: boolean;
    /** `pruneOutbox`: the ledger keeps published entries until they are pruned. */
    pruneOutbox?: boolean;
  };
}

const NOW = Date.UTC(2030, 0, 1);

async function expectCode(promise: Promise<unknown>, code: string) {
  const error = await promise.then(
    () => null,
    (e: unknown) => e,
  );
  expect(OutbidError.isInstance(error), `expected OutbidError ${code}, got ${String(error)}`).toBe(true);
  expect((error as OutbidError).code).toBe(code);
}

/**
 * The ledger contract: fenced writes, uniqueness, paging, the outbox and the due list.
 * Each test uses fresh auction ids, so the suite runs against a shared database.
 */
export function describeLedgerConformance(name: string, options: LedgerSuiteOptions): void {
  const offersApplyChanges = options.offers?.applyChanges ?? false;
  const offersApplyChangesAndAudit = options.offers?.applyChangesAndAudit ?? false;
  const offersLocks = options.offers?.locks ?? false;
  const offersRelayOutbox = options.offers?.relayOutbox ?? false;
  const offersPruneOutbox = options.offers?.pruneOutbox ?? false;
  describe(`Ledger conformance: ${name}`, () => {
    let ledger: Ledger;
    beforeAll(async () => {
      ledger = await options.create();
    });
    afterAll(async () => {
      await ledger?.close();
      await options.teardown?.();
    });

    const created = async (overrides: Partial<AuctionState> = {}) => {
      const state = auctionFixture(NOW, overrides);
      await ledger.createAuction(state, [makeEvent('AuctionCreated', state, minNextBid(state), NOW, { creatorId: state.creatorId, postId: state.postId })]);
      return state;
    };
    /** A refused bid's record for the audit trail, made from an accepted one of the same auction. */
    const refusal = (of: BidRecord, bidderId: string, key: string | null): BidRecord => ({
      ...of,
      bidId: testId('bid'),
      bidderId,
      status: 'rejected',
      reason: 'BID_TOO_LOW',
      version: null,
      amount: 5,
      idempotencyKey: key,
      decision: { ...of.decision, bidderId, status: 'rejected', reason: 'BID_TOO_LOW', amount: 5 },
    });
    const drainOutbox = async () => {
      for (;;) {
        const entries = await ledger.readOutbox(1_000);
        if (entries.length === 0) return;
        await ledger.markPublished(entries.map((e) => e.position));
      }
    };

    it('declares its name and the port version it implements', () => {
      expect(ledger.name).toBe(name);
      expect(ledger.specificationVersion).toBe('v1');
    });

    it('offers exactly the optional members it declares (applyChanges, applyChangesAndAudit, withGuardLock, withRelayLock, relayOutbox, pruneOutbox)', () => {
      expect(typeof ledger.applyChanges === 'function').toBe(offersApplyChanges);
      expect(typeof ledger.applyChangesAndAudit === 'function').toBe(offersApplyChangesAndAudit);
      expect(typeof ledger.withGuardLock === 'function').toBe(offersLocks);
      expect(typeof ledger.withRelayLock === 'function').toBe(offersLocks);
      expect(typeof ledger.relayOutbox === 'function').toBe(offersRelayOutbox);
      expect(typeof ledger.pruneOutbox === 'function').toBe(offersPruneOutbox);
    });

    it('.ping resolves while the ledger is reachable', async () => {
      await expect(ledger.ping()).resolves.toBeUndefined();
    });

    it('.createAuction then .getAuction returns the same state; an unknown id is null', async () => {
      const state = await created({
        increment: { type: 'table', tiers: [{ from: 0, increment: 5 }, { from: 100, increment: 25 }] },
        softClose: { windowMs: 1_000, extendMs: 2_000, mode: 'reset', maxExtensions: null, hardEndAt: NOW + 99_000 },
      });
      expect(await ledger.getAuction(state.id)).toEqual(state);
      expect(await ledger.getAuction(testId('missing'))).toBeNull();
    });

    it('a second open auction for the same post is POST_HAS_ACTIVE_AUCTION; after it ends a new one may open', async () => {
      const first = await created();
      await expectCode(created({ postId: first.postId }), 'POST_HAS_ACTIVE_AUCTION');
      const ended = { ...first, status: 'ended' as const, version: 2, closedAt: NOW };
      expect(await ledger.applyChange({ state: ended, events: [] })).toEqual({ ok: true });
      await expect(created({ postId: first.postId })).resolves.toBeDefined();
    });

    it('.applyChange writes version v only on top of v - 1 (behind, conflict, not_found otherwise)', async () => {
      const state = await created();
      const v2 = acceptedChange(state, 'b1', 1_000, NOW);
      const v3 = acceptedChange(v2.state, 'b2', 1_100, NOW + 1);
      expect(await ledger.applyChange(v3)).toEqual({ ok: false, reason: 'behind', ledgerVersion: 1 });
      expect(await ledger.applyChange(v2)).toEqual({ ok: true });
      expect(await ledger.applyChange({ ...v2, bid: { ...v2.bid, bidId: testId('bid'), idempotencyKey: null } })).toEqual({
        ok: false,
        reason: 'conflict',
        ledgerVersion: 2,
      });
      expect(await ledger.applyChange(v3)).toEqual({ ok: true });
      expect(await ledger.getAuction(state.id)).toEqual(v3.state);
      const ghost = acceptedChange(auctionFixture(NOW), 'b1', 1_000, NOW);
      expect(await ledger.applyChange(ghost)).toEqual({ ok: false, reason: 'not_found' });
    });

    it('.applyChange refuses a change decided on another predecessor with the same version (conflict)', async () => {
      const state = await created();
      const lost = acceptedChange(state, 'b1', 1_100, NOW); // decided, never recorded
      const builtOnLost = acceptedChange(lost.state, 'b2', 1_200, NOW + 1);
      const recorded = acceptedChange(state, 'b3', 1_500, NOW + 2); // the v2 that did reach the ledger
      expect(await ledger.applyChange(recorded)).toEqual({ ok: true });
      // Same version numbers line up (v3 on v2), but v3 was decided on the lost v2: a falling price.
      expect(await ledger.applyChange(builtOnLost)).toEqual({ ok: false, reason: 'conflict', ledgerVersion: 2 });
      const forged = { ...acceptedChange(recorded.state, 'b4', 1_600, NOW + 3) };
      forged.state = { ...forged.state, currentPrice: 1_550 }; // state and bid disagree
      expect(await ledger.applyChange(forged)).toEqual({ ok: false, reason: 'conflict', ledgerVersion: 2 });
      const endedWithNewLeader = { state: { ...recorded.state, version: 3, status: 'ended' as const, currentWinnerId: 'b9', closedAt: NOW }, events: [] };
      expect(await ledger.applyChange(endedWithNewLeader)).toEqual({ ok: false, reason: 'conflict', ledgerVersion: 2 });
      expect((await ledger.getAuction(state.id))?.currentPrice).toBe(1_500);
    });

    it('concurrent writes of the same version: exactly one succeeds', async () => {
      const state = await created();
      const rivals = Array.from({ length: 8 }, (_, i) => acceptedChange(state, `b${i}`, 1_000 + i * 100, NOW));
      const results = await Promise.all(rivals.map((c) => ledger.applyChange(c)));
      expect(results.filter((r) => r.ok)).toHaveLength(1);
      expect((await ledger.listBids(state.id, { include: 'accepted', limit: 50 })).items).toHaveLength(1);
    });

    // Optional: without applyChanges the service writes changes one by one.
    it.skipIf(!offersApplyChanges)('.applyChanges (optional) judges each change as applyChange would and writes only the ok ones', async () => {
      const applyChanges = ledger.applyChanges!.bind(ledger);
      const toEnd = await created();
      const ended = { ...toEnd, status: 'ended' as const, version: 2, closedAt: NOW };
      const endEvent = makeEvent('AuctionEnded', ended, minNextBid(ended), NOW, { winnerId: null, finalPrice: null });
      const ahead = await created();
      const behind = acceptedChange(acceptedChange(ahead, 'b1', 1_000, NOW).state, 'b2', 1_100, NOW + 1);
      const taken = await created();
      expect(await ledger.applyChange(acceptedChange(taken, 'b1', 1_000, NOW))).toEqual({ ok: true });
      const rival = acceptedChange(taken, 'b2', 1_200, NOW);
      const keyed = await created();
      const first = acceptedChange(keyed, 'b1', 1_000, NOW, 'same-key');
      expect(await ledger.applyChange(first)).toEqual({ ok: true });
      const again = acceptedChange(first.state, 'b1', 1_100, NOW + 1, 'same-key');
      const open = await created();
      const bid = acceptedChange(open, 'b3', 1_300, NOW);
      const ghost = acceptedChange(auctionFixture(NOW), 'b1', 1_000, NOW);
      await drainOutbox();

      const results = await applyChanges([{ state: ended, events: [endEvent] }, behind, rival, again, bid, ghost]);
      expect(results).toEqual([
        { ok: true },
        { ok: false, reason: 'behind', ledgerVersion: 1 },
        { ok: false, reason: 'conflict', ledgerVersion: 2 },
        { ok: false, reason: 'duplicate_key', existing: first.bid },
        { ok: true },
        { ok: false, reason: 'not_found' },
      ]);
      expect(await ledger.getAuction(toEnd.id)).toEqual(ended);
      expect(await ledger.getAuction(open.id)).toEqual(bid.state);
      expect(await ledger.getAuction(ahead.id)).toEqual(ahead);
      expect((await ledger.getAuction(taken.id))?.currentPrice).toBe(1_000);
      expect((await ledger.listBids(open.id, { include: 'accepted', limit: 10 })).items).toEqual([bid.bid]);
      const mine = new Set([toEnd.id, ahead.id, taken.id, keyed.id, open.id]);
      const events = (await ledger.readOutbox(1_000)).filter((e) => mine.has(e.event.auctionId)).map((e) => e.event);
      expect(events).toEqual([endEvent, ...bid.events]);
      await drainOutbox();

      expect(await applyChanges([])).toEqual([]);
    });

    it.skipIf(!offersApplyChanges)('.applyChanges (optional) takes consecutive versions of one auction, each fenced against the one before it', async () => {
      const applyChanges = ledger.applyChanges!.bind(ledger);
      const hot = await created();
      const other = await created();
      const v2 = acceptedChange(hot, 'b1', 1_000, NOW, 'hot-1');
      const v3 = acceptedChange(v2.state, 'b2', 1_100, NOW + 1, 'hot-2');
      const v4 = acceptedChange(v3.state, 'b1', 1_200, NOW + 2, 'hot-3');
      const otherV2 = acceptedChange(other, 'b9', 1_000, NOW);
      await drainOutbox();
      expect(await applyChanges([v2, otherV2, v3, v4])).toEqual([{ ok: true }, { ok: true }, { ok: true }, { ok: true }]);
      expect(await ledger.getAuction(hot.id)).toEqual(v4.state);
      expect((await ledger.listBids(hot.id, { include: 'accepted', limit: 10 })).items).toEqual([v4.bid, v3.bid, v2.bid]);
      const events = (await ledger.readOutbox(1_000)).filter((e) => e.event.auctionId === hot.id).map((e) => e.event);
      expect(events).toEqual([...v2.events, ...v3.events, ...v4.events]);
      await drainOutbox();

      // A refused change refuses what was built on it: v6 on a v5 that is not the ledger's successor of v4.
      const bad = acceptedChange(v4.state, 'b1', 1_300, NOW + 3); // b1 already leads: not a valid successor
      const onBad = acceptedChange(bad.state, 'b2', 1_400, NOW + 4);
      const results = await applyChanges([bad, onBad]);
      expect(results).toEqual([
        { ok: false, reason: 'conflict', ledgerVersion: 4 },
        { ok: false, reason: 'behind', ledgerVersion: 4 },
      ]);
      expect(await ledger.getAuction(hot.id)).toEqual(v4.state);

      // Out of order, or a gap, within one auction is a programming error.
      const v5 = acceptedChange(v4.state, 'b2', 1_300, NOW + 3);
      const v6 = acceptedChange(v5.state, 'b1', 1_400, NOW + 4);
      await expect(applyChanges([v6, v5])).rejects.toThrow(TypeError);
      await expect(applyChanges([v4, v6])).rejects.toThrow(TypeError);
      expect(await ledger.getAuction(hot.id)).toEqual(v4.state);
    });

    it.skipIf(!offersApplyChanges)('.applyChanges (optional) from many writers at once: every auction written once, no deadlock', async () => {
      const applyChanges = ledger.applyChanges!.bind(ledger);
      const states = await Promise.all(Array.from({ length: 20 }, () => created()));
      // Overlapping batches in opposite orders: a ledger locking rows in input order would deadlock here.
      const batches = Array.from({ length: 6 }, (_, i) => {
        const batch = states.map((s) => ({ state: { ...s, status: 'ended' as const, version: 2, closedAt: NOW + i }, events: [] }));
        return i % 2 === 0 ? batch : batch.reverse();
      });
      const results = (await Promise.all(batches.map((b) => applyChanges(b)))).flat();
      expect(results.filter((r) => r.ok)).toHaveLength(states.length);
      for (const s of states) expect((await ledger.getAuction(s.id))?.status).toBe('ended');
    });

    it('an accepted bid’s (auction, bidder, key) is unique: a second one is duplicate_key with the first record', async () => {
      const state = await created();
      const v2 = acceptedChange(state, 'b1', 1_000, NOW, 'key-1');
      await ledger.applyChange(v2);
      const again = acceptedChange(v2.state, 'b1', 1_200, NOW, 'key-1');
      const result = await ledger.applyChange(again);
      expect(result).toEqual({ ok: false, reason: 'duplicate_key', existing: v2.bid });
      expect((await ledger.getAuction(state.id))?.version).toBe(2);
    });

    it('.findBidByIdempotencyKey returns the stored decision byte for byte', async () => {
      const state = await created();
      const v2 = acceptedChange(state, 'b1', 1_000, NOW, 'key-7');
      await ledger.applyChange(v2);
      const found = await ledger.findBidByIdempotencyKey(state.id, 'b1', 'key-7');
      expect(found).toEqual(v2.bid);
      expect(JSON.stringify(found?.decision)).toBe(JSON.stringify(v2.bid.decision));
      expect(await ledger.findBidByIdempotencyKey(state.id, 'b2', 'key-7')).toBeNull();
    });

    it('.idempotencyRecords lists the keyed bids of one auction, accepted and audited, byte for byte', async () => {
      const state = await created();
      const other = await created();
      const v2 = acceptedChange(state, 'b1', 1_000, NOW, 'key-a');
      await ledger.applyChange(v2);
      const v3 = acceptedChange(v2.state, 'b2', 1_200, NOW, null);
      await ledger.applyChange(v3);
      await ledger.applyChange(acceptedChange(other, 'b1', 1_000, NOW, 'key-other'));
      const rejected: BidRecord = {
        ...v2.bid,
        bidId: testId('bid'),
        bidderId: 'b3',
        status: 'rejected',
        reason: 'BID_TOO_LOW',
        version: null,
        amount: 5,
        idempotencyKey: 'key-r',
        decision: { ...v2.bid.decision, bidderId: 'b3', status: 'rejected', reason: 'BID_TOO_LOW', amount: 5 },
      };
      await ledger.recordAudit([rejected]);
      const records = await ledger.idempotencyRecords(state.id);
      const byKey = (a: BidRecord, b: BidRecord) => (a.idempotencyKey! < b.idempotencyKey! ? -1 : 1);
      expect(records.sort(byKey)).toEqual([v2.bid, rejected]);
      expect(records.map((r) => JSON.stringify(r.decision))).toEqual([v2.bid, rejected].map((r) => JSON.stringify(r.decision)));
      expect(await ledger.idempotencyRecords(testId('missing'))).toEqual([]);
    });

    it('.recordAudit never replaces a key another bid holds: it writes nothing for it and returns the holder', async () => {
      const state = await created();
      const v2 = acceptedChange(state, 'b1', 1_000, NOW, 'key-held');
      await ledger.applyChange(v2);
      const late = refusal(v2.bid, 'b1', 'key-held');
      const fresh = refusal(v2.bid, 'b2', 'key-free');
      const held = (await ledger.recordAudit([late, fresh])) ?? [];
      expect(held).toEqual([v2.bid]);
      expect(await ledger.findBidByIdempotencyKey(state.id, 'b1', 'key-held')).toEqual(v2.bid);
      expect(await ledger.findBidByIdempotencyKey(state.id, 'b2', 'key-free')).toEqual(fresh);
      // Recording the same record again is no conflict.
      expect((await ledger.recordAudit([fresh])) ?? []).toEqual([]);
      const all = await ledger.listBids(state.id, { include: 'all', limit: 50 });
      expect(all.items.map((b) => b.bidId).sort()).toEqual([v2.bid.bidId, fresh.bidId].sort());
    });

    it('.listBids gives accepted bids newest first, paged by cursor; include all adds the audit trail', async () => {
      let state = await created();
      const accepted: BidRecord[] = [];
      for (let i = 0; i < 5; i++) {
        const change = acceptedChange(state, `b${i % 2}`, 1_000 + i * 100, NOW + i);
        expect(await ledger.applyChange(change)).toEqual({ ok: true });
        accepted.push(change.bid);
        state = change.state;
      }
      const rejected: BidRecord = {
        ...accepted[0]!,
        bidId: testId('bid'),
        status: 'rejected',
        reason: 'BID_TOO_LOW',
        version: null,
        amount: 5,
        idempotencyKey: null,
        decision: { ...accepted[0]!.decision, status: 'rejected', reason: 'BID_TOO_LOW', amount: 5 },
      };
      await ledger.recordAudit([rejected, rejected]);
      const first = await ledger.listBids(state.id, { include: 'accepted', limit: 2 });
      expect(first.items.map((b) => b.version)).toEqual([6, 5]);
      expect(first.nextCursor).not.toBeNull();
      const second = await ledger.listBids(state.id, { include: 'accepted', limit: 2, cursor: first.nextCursor! });
      expect(second.items.map((b) => b.version)).toEqual([4, 3]);
      const third = await ledger.listBids(state.id, { include: 'accepted', limit: 2, cursor: second.nextCursor! });
      expect(third.items.map((b) => b.version)).toEqual([2]);
      expect(third.nextCursor).toBeNull();
      const all = await ledger.listBids(state.id, { include: 'all', limit: 50 });
      expect(all.items).toHaveLength(6);
      expect(all.items.filter((b) => b.status === 'rejected')).toEqual([rejected]);
      // The audit trail is in decision-time order, whatever order the (batched) writes arrived in.
      expect(all.items.map((b) => b.createdAt)).toEqual([NOW + 4, NOW + 3, NOW + 2, NOW + 1, NOW, NOW]);
      const allPage1 = await ledger.listBids(state.id, { include: 'all', limit: 4 });
      const allPage2 = await ledger.listBids(state.id, { include: 'all', limit: 4, cursor: allPage1.nextCursor! });
      expect([...allPage1.items, ...allPage2.items]).toEqual(all.items);
      expect(allPage2.nextCursor).toBeNull();
    });

    // Proxy bids, hidden reserve, Buy It Now (#16): the rules decide every change below (decidedChange), as the service does.

    it('the reserve, Buy It Now and leader maximum fields round-trip, and so do a record’s kind and maximum', async () => {
      const state = await created({ reservePrice: 5_000, buyNowPrice: 9_000, buyNowPolicy: 'reserve-met' });
      expect(await ledger.getAuction(state.id)).toEqual(state);
      expect((await ledger.listAuctions({ postId: state.postId, limit: 5 })).items).toEqual([state]);
      // A maximum reaching the reserve: the price jumps to it, the maximum is kept secret in leaderMax.
      const v2 = decidedChange(state, maxBidCommand(state.id, 'b1', 7_000, null, testId('key')), NOW);
      expect(v2.state).toMatchObject({ currentPrice: 5_000, leaderMax: 7_000 });
      expect(v2.bid).toMatchObject({ kind: 'bid', maxAmount: 7_000, amount: 5_000 });
      expect(await ledger.applyChange(v2)).toEqual({ ok: true });
      expect(await ledger.getAuction(state.id)).toEqual(v2.state);
      expect(await ledger.findBidByIdempotencyKey(state.id, 'b1', v2.bid.idempotencyKey!)).toEqual(v2.bid);
      expect((await ledger.listBids(state.id, { include: 'accepted', limit: 5 })).items).toEqual([v2.bid]);

      // A refused bid with a maximum keeps it in the audit trail.
      const tooLow = maxBidCommand(state.id, 'b2', 5_000, null, testId('key'));
      const low = decideBid(v2.state, tooLow, NOW + 1);
      expect(low.decision.reason).toBe('BID_TOO_LOW');
      const refused = bidRecordFromDecision(low.decision, tooLow.idempotencyKey, tooLow.fingerprint);
      expect(refused).toMatchObject({ kind: 'bid', maxAmount: 5_000 });
      await ledger.recordAudit([refused]);
      expect(await ledger.findBidByIdempotencyKey(state.id, 'b2', tooLow.idempotencyKey!)).toEqual(refused);

      // Buy It Now ends the auction at its price.
      const offer = await created({ buyNowPrice: 3_000, buyNowPolicy: 'first-bid' });
      const bought = decidedChange(offer, buyNowCommand(offer.id, 'b3', testId('key')), NOW + 2);
      expect(bought.state).toMatchObject({ status: 'ended', currentPrice: 3_000, currentWinnerId: 'b3', closedAt: NOW + 2 });
      expect(bought.bid).toMatchObject({ kind: 'buy_now', maxAmount: null });
      expect(await ledger.applyChange(bought)).toEqual({ ok: true });
      expect(await ledger.getAuction(offer.id)).toEqual(bought.state);
      expect((await ledger.listBids(offer.id, { include: 'accepted', limit: 5 })).items).toEqual([bought.bid]);
      expect(await ledger.findBidByIdempotencyKey(offer.id, 'b3', bought.bid.idempotencyKey!)).toEqual(bought.bid);
      expect((await ledger.findDue(NOW + 120_000, 10_000)).map((s) => s.id)).not.toContain(offer.id);
    });

    it('every column a change moves reads back: an early start, a soft-close extension, an early end, a cancel', async () => {
      const applied = (outcome: TransitionOutcome) => {
        expect(outcome.kind).toBe('applied');
        return { state: outcome.state, events: [] };
      };
      const softClose = { windowMs: 30_000, extendMs: 20_000, mode: 'reset' as const, maxExtensions: null, hardEndAt: null };
      const scheduled = await created({ status: 'scheduled', startAt: NOW + 60_000, endAt: NOW + 120_000, softClose });
      const started = applied(decideStart(scheduled, NOW, 'now'));
      expect(started.state.startAt).toBe(NOW);
      expect(await ledger.applyChange(started)).toEqual({ ok: true });
      expect(await ledger.getAuction(scheduled.id)).toEqual(started.state);
      // A bid 10 s before the end moves it (reset: to the bid's time + 20 s).
      const late = decidedChange(started.state, maxBidCommand(scheduled.id, 'b1', 3_000, 1_000, testId('key')), NOW + 110_000);
      expect(late.state).toMatchObject({ effectiveEndAt: NOW + 130_000, extensionCount: 1, leaderMax: 3_000, bidCount: 1 });
      expect(await ledger.applyChange(late)).toEqual({ ok: true });
      expect(await ledger.getAuction(scheduled.id)).toEqual(late.state);
      const ended = applied(decideEnd(late.state, NOW + 111_000, 'now'));
      expect(await ledger.applyChange(ended)).toEqual({ ok: true });
      expect(await ledger.getAuction(scheduled.id)).toEqual(ended.state);
      const open = await created();
      const cancelled = applied(decideCancel(open, NOW));
      expect(await ledger.applyChange(cancelled)).toEqual({ ok: true });
      expect(await ledger.getAuction(open.id)).toEqual(cancelled.state);
    });

    it('a change with a trigger writes the automatic bid and the rival’s refused bid together, or neither', async () => {
      const state = await created();
      const v2 = decidedChange(state, maxBidCommand(state.id, 'b1', 2_000, null, testId('key')), NOW);
      const v3 = decidedChange(v2.state, bidCommand(state.id, 'b2', 1_500, 'rival-key'), NOW + 1);
      expect(v3.trigger).toMatchObject({ bidderId: 'b2', status: 'rejected', reason: 'OUTBID_BY_PROXY', kind: 'bid', version: null, amount: 1_500 });
      expect(v3.bid).toMatchObject({ bidderId: 'b1', status: 'accepted', kind: 'proxy', version: 3, amount: 1_600, idempotencyKey: null });
      // Refused (v2 is not in yet): neither record is written.
      expect(await ledger.applyChange(v3)).toEqual({ ok: false, reason: 'behind', ledgerVersion: 1 });
      expect(await ledger.findBidByIdempotencyKey(state.id, 'b2', 'rival-key')).toBeNull();
      expect((await ledger.listBids(state.id, { include: 'all', limit: 10 })).items).toEqual([]);

      expect(await ledger.applyChange(v2)).toEqual({ ok: true });
      expect(await ledger.applyChange(v3)).toEqual({ ok: true });
      expect(await ledger.getAuction(state.id)).toEqual(v3.state);
      expect((await ledger.listBids(state.id, { include: 'accepted', limit: 10 })).items).toEqual([v3.bid, v2.bid]);
      const found = await ledger.findBidByIdempotencyKey(state.id, 'b2', 'rival-key');
      expect(found).toEqual(v3.trigger);
      expect(JSON.stringify(found?.decision)).toBe(JSON.stringify(v3.trigger!.decision));
      expect(await ledger.idempotencyRecords(state.id)).toContainEqual(v3.trigger);
      // The audit trail has both; recording the trigger again (same bidId) changes nothing.
      await ledger.recordAudit([v3.trigger!]);
      const all = (await ledger.listBids(state.id, { include: 'all', limit: 10 })).items;
      expect(all).toHaveLength(3);
      expect(all).toContainEqual(v3.trigger);
      expect(all).toContainEqual(v3.bid);
    });

    it.skipIf(!offersApplyChanges)('.applyChanges (optional) writes triggers too, and a key an earlier change of the batch took is duplicate_key', async () => {
      const applyChanges = ledger.applyChanges!.bind(ledger);
      const state = await created();
      const v2 = decidedChange(state, maxBidCommand(state.id, 'b1', 3_000, null, testId('key')), NOW);
      const v3 = decidedChange(v2.state, bidCommand(state.id, 'b2', 1_500, 'batch-key'), NOW + 1);
      const v4 = decidedChange(v3.state, bidCommand(state.id, 'b2', 1_700, 'batch-key'), NOW + 2); // the same key again
      expect(v4.trigger?.reason).toBe('OUTBID_BY_PROXY');
      expect(await applyChanges([v2, v3, v4])).toEqual([{ ok: true }, { ok: true }, { ok: false, reason: 'duplicate_key', existing: v3.trigger }]);
      expect(await ledger.getAuction(state.id)).toEqual(v3.state);
      expect((await ledger.listBids(state.id, { include: 'accepted', limit: 10 })).items).toEqual([v3.bid, v2.bid]);
      expect(await ledger.findBidByIdempotencyKey(state.id, 'b2', 'batch-key')).toEqual(v3.trigger);
      expect(await applyChanges([v4])).toEqual([{ ok: false, reason: 'duplicate_key', existing: v3.trigger }]);
    });

    // Optional: without applyChangesAndAudit the service writes refusals in transactions of their own.
    it.skipIf(!offersApplyChangesAndAudit)('.applyChangesAndAudit (optional) judges the changes as applyChanges and writes the records as recordAudit, in one call', async () => {
      const write = ledger.applyChangesAndAudit!.bind(ledger);
      // All changes on top of what this ledger wrote (a ledger may take a shorter way then), then one refused.
      for (const refuseOne of [false, true]) {
        const hot = await created();
        const other = await created();
        const v2 = acceptedChange(hot, 'b1', 1_000, NOW, testId('key'));
        const v3 = acceptedChange(v2.state, 'b2', 1_100, NOW + 1);
        const elsewhere = acceptedChange(other, 'b1', 1_000, NOW, 'held-key');
        expect(await ledger.applyChange(elsewhere)).toEqual({ ok: true });
        const stale = acceptedChange(other, 'b3', 1_200, NOW + 1); // decided on version 1: the ledger has 2
        const low = refusal(v2.bid, 'b4', testId('key'));
        const unkeyed = refusal(v2.bid, 'b5', null);
        const late = refusal(elsewhere.bid, 'b1', 'held-key'); // its key is the accepted bid's
        const onOther = refusal(elsewhere.bid, 'b6', testId('key'));
        const { results, held } = await write(refuseOne ? [v2, v3, stale] : [v2, v3], [low, unkeyed, late, onOther, low]);
        expect(results).toEqual(refuseOne ? [{ ok: true }, { ok: true }, { ok: false, reason: 'conflict', ledgerVersion: 2 }] : [{ ok: true }, { ok: true }]);
        expect(held).toEqual([elsewhere.bid]);
        expect(await ledger.getAuction(hot.id)).toEqual(v3.state);
        expect(await ledger.getAuction(other.id)).toEqual(elsewhere.state);
        const trail = async (id: string) => (await ledger.listBids(id, { include: 'all', limit: 50 })).items.map((b) => b.bidId).sort();
        expect(await trail(hot.id)).toEqual([v2.bid.bidId, v3.bid.bidId, low.bidId, unkeyed.bidId].sort());
        expect(await trail(other.id)).toEqual([elsewhere.bid.bidId, onOther.bidId].sort());
        const stored = await ledger.findBidByIdempotencyKey(hot.id, 'b4', low.idempotencyKey!);
        expect(JSON.stringify(stored?.decision)).toBe(JSON.stringify(low.decision));
        // Written again: nothing changes, nothing is held.
        expect(await write([], [low, onOther])).toEqual({ results: [], held: [] });
        expect(await trail(hot.id)).toHaveLength(4);
      }
      await drainOutbox();
    });

    it.skipIf(!offersApplyChangesAndAudit)('.applyChangesAndAudit (optional) with no records is applyChanges, and with no changes is recordAudit', async () => {
      const write = ledger.applyChangesAndAudit!.bind(ledger);
      const state = await created();
      const v2 = acceptedChange(state, 'b1', 1_000, NOW, 'only-change');
      expect(await write([v2], [])).toEqual({ results: [{ ok: true }], held: [] });
      const late = refusal(v2.bid, 'b1', 'only-change');
      const fresh = refusal(v2.bid, 'b2', 'only-record');
      expect(await write([], [late, fresh])).toEqual({ results: [], held: [v2.bid] });
      expect(await ledger.findBidByIdempotencyKey(state.id, 'b2', 'only-record')).toEqual(fresh);
      expect(await write([], [])).toEqual({ results: [], held: [] });
      await drainOutbox();
    });

    it('a trigger whose (auction, bidder, key) already has a bid is duplicate_key with that record', async () => {
      const state = await created();
      const v2 = decidedChange(state, bidCommand(state.id, 'b2', 1_000, 'reused'), NOW);
      const v3 = decidedChange(v2.state, maxBidCommand(state.id, 'b1', 3_000, null, testId('key')), NOW + 1);
      expect(await ledger.applyChange(v2)).toEqual({ ok: true });
      expect(await ledger.applyChange(v3)).toEqual({ ok: true });
      const v4 = decidedChange(v3.state, bidCommand(state.id, 'b2', 1_500, 'reused'), NOW + 2);
      expect(v4.trigger?.reason).toBe('OUTBID_BY_PROXY');
      expect(await ledger.applyChange(v4)).toEqual({ ok: false, reason: 'duplicate_key', existing: v2.bid });
      // A key an audited refusal holds counts too.
      const low = decideBid(v3.state, bidCommand(state.id, 'b4', 900, 'audited'), NOW + 2);
      await ledger.recordAudit([bidRecordFromDecision(low.decision, 'audited', JSON.stringify({ amount: 900 }))]);
      const again = decidedChange(v3.state, bidCommand(state.id, 'b4', 1_500, 'audited'), NOW + 3);
      const result = await ledger.applyChange(again);
      expect(result).toMatchObject({ ok: false, reason: 'duplicate_key', existing: { bidderId: 'b4', reason: 'BID_TOO_LOW' } });
      expect(await ledger.getAuction(state.id)).toEqual(v3.state);
      expect((await ledger.listBids(state.id, { include: 'all', limit: 10 })).items).toHaveLength(3);
    });

    it('a change the rules would not produce from its trigger is a conflict, and writes nothing', async () => {
      const state = await created();
      const v2 = decidedChange(state, maxBidCommand(state.id, 'b1', 2_000, null, testId('key')), NOW);
      expect(await ledger.applyChange(v2)).toEqual({ ok: true });
      const v3 = decidedChange(v2.state, bidCommand(state.id, 'b2', 1_500, 'forged'), NOW + 1);
      const trigger = v3.trigger!;
      const conflict = { ok: false, reason: 'conflict', ledgerVersion: 2 };
      // The automatic answer placed higher than the leader's maximum allows from this trigger.
      expect(await ledger.applyChange({ ...v3, state: { ...v3.state, currentPrice: 1_700 }, bid: { ...v3.bid, amount: 1_700 } })).toEqual(conflict);
      // The trigger says it asked less than it did (the answer would be lower).
      expect(await ledger.applyChange({ ...v3, trigger: { ...trigger, amount: 1_200 } })).toEqual(conflict);
      // The automatic bid without its trigger: the leader cannot bid against their own maximum.
      expect(await ledger.applyChange({ state: v3.state, bid: v3.bid, events: v3.events })).toEqual(conflict);
      // The rival's bid refused while it beats the leader's maximum.
      expect(decidedChange(v2.state, bidCommand(state.id, 'b2', 2_500), NOW + 1).trigger).toBeUndefined();
      expect(await ledger.applyChange({ ...v3, trigger: { ...trigger, amount: 2_500 } })).toEqual(conflict);
      // A kind that does not match what the rules made.
      expect(await ledger.applyChange({ ...v3, bid: { ...v3.bid, kind: 'bid' } })).toEqual(conflict);
      expect(await ledger.getAuction(state.id)).toEqual(v2.state);
      expect(await ledger.findBidByIdempotencyKey(state.id, 'b2', 'forged')).toBeNull();
      expect(await ledger.applyChange(v3)).toEqual({ ok: true });
    });

    it('records that do not say what the rules did are a conflict: a trigger the rules accept, a bid not holding the version', async () => {
      const state = await created();
      const v2 = decidedChange(state, maxBidCommand(state.id, 'b1', 2_000, null, testId('key')), NOW);
      expect(await ledger.applyChange(v2)).toEqual({ ok: true });
      const conflict = { ok: false, reason: 'conflict', ledgerVersion: 2 };
      // b2 beats the maximum and leads: passed off as a refused trigger, with someone else's record holding the version.
      const wins = decidedChange(v2.state, bidCommand(state.id, 'b2', 2_500, 'mislabelled'), NOW + 1);
      expect(wins.trigger).toBeUndefined();
      const refusedLook = { ...wins.bid, status: 'rejected' as const, reason: 'OUTBID_BY_PROXY' as const, version: null };
      expect(await ledger.applyChange({ ...wins, bid: { ...wins.bid, bidId: testId('bid'), bidderId: 'b9', idempotencyKey: null }, trigger: refusedLook })).toEqual(conflict);
      // The right state, but the record does not hold the new version, or names another bidder or price.
      expect(await ledger.applyChange({ ...wins, bid: { ...wins.bid, status: 'rejected', reason: 'BID_TOO_LOW', version: null } })).toEqual(conflict);
      expect(await ledger.applyChange({ ...wins, bid: { ...wins.bid, bidderId: 'b9' } })).toEqual(conflict);
      expect(await ledger.applyChange({ ...wins, bid: { ...wins.bid, amount: 2_400 } })).toEqual(conflict);
      // An automatic answer whose trigger is not written as the refused bid it was.
      const answered = decidedChange(v2.state, bidCommand(state.id, 'b3', 1_500, 'answered'), NOW + 1);
      expect(await ledger.applyChange({ ...answered, trigger: { ...answered.trigger!, status: 'accepted', reason: null } })).toEqual(conflict);
      // A transition carries no trigger.
      const ended = { ...v2.state, version: 3, status: 'ended' as const, closedAt: NOW + 1 };
      expect(await ledger.applyChange({ state: ended, trigger: answered.trigger!, events: [] })).toEqual(conflict);
      expect(await ledger.findBidByIdempotencyKey(state.id, 'b2', 'mislabelled')).toBeNull();
      expect(await ledger.findBidByIdempotencyKey(state.id, 'b3', 'answered')).toBeNull();
      expect((await ledger.listBids(state.id, { include: 'all', limit: 10 })).items).toEqual([v2.bid]);
      expect(await ledger.applyChange(wins)).toEqual({ ok: true });
    });

    it('a raised maximum (kind maximum) is listed under all, never under accepted', async () => {
      const state = await created();
      const v2 = decidedChange(state, maxBidCommand(state.id, 'b1', 2_000, null, testId('key')), NOW);
      const v3 = decidedChange(v2.state, maxBidCommand(state.id, 'b1', 3_000, null, testId('key')), NOW + 1);
      expect(v3.bid).toMatchObject({ kind: 'maximum', status: 'accepted', version: 3, amount: 1_000, maxAmount: 3_000 });
      expect(v3.state).toMatchObject({ currentPrice: 1_000, leaderMax: 3_000, bidCount: 1 });
      const v4 = decidedChange(v3.state, bidCommand(state.id, 'b2', 3_500), NOW + 2);
      for (const change of [v2, v3, v4]) expect(await ledger.applyChange(change)).toEqual({ ok: true });
      expect(await ledger.getAuction(state.id)).toEqual(v4.state);
      expect((await ledger.listBids(state.id, { include: 'accepted', limit: 10 })).items).toEqual([v4.bid, v2.bid]);
      // Paged: the cursor steps over the hidden version.
      const first = await ledger.listBids(state.id, { include: 'accepted', limit: 1 });
      expect(first.items).toEqual([v4.bid]);
      expect(await ledger.listBids(state.id, { include: 'accepted', limit: 1, cursor: first.nextCursor! })).toEqual({ items: [v2.bid], nextCursor: null });
      const all = (await ledger.listBids(state.id, { include: 'all', limit: 10 })).items;
      expect(all).toEqual([v4.bid, v3.bid, v2.bid]);
      expect(await ledger.findBidByIdempotencyKey(state.id, 'b1', v3.bid.idempotencyKey!)).toEqual(v3.bid);
    });

    it('a cursor that is not one of ours is INVALID_CURSOR', async () => {
      const state = await created();
      for (const cursor of ['nope', 'e30', Buffer.from('[1,2,3]').toString('base64url')]) {
        await expectCode(ledger.listBids(state.id, { include: 'accepted', limit: 5, cursor }), 'INVALID_CURSOR');
        await expectCode(ledger.listAuctions({ limit: 5, cursor }), 'INVALID_CURSOR');
      }
    });

    it('.listAuctions filters by status, creator and post, newest first, paged', async () => {
      const creatorId = testId('creator');
      const made: AuctionState[] = [];
      for (let i = 0; i < 3; i++) made.push(await created({ creatorId, status: i === 1 ? 'scheduled' : 'active' }));
      const page1 = await ledger.listAuctions({ creatorId, limit: 2 });
      expect(page1.items.map((a) => a.id)).toEqual([made[2]!.id, made[1]!.id]);
      const page2 = await ledger.listAuctions({ creatorId, limit: 2, cursor: page1.nextCursor! });
      expect(page2).toEqual({ items: [made[0]], nextCursor: null });
      const scheduled = await ledger.listAuctions({ creatorId, status: 'scheduled', limit: 10 });
      expect(scheduled.items.map((a) => a.id)).toEqual([made[1]!.id]);
      expect((await ledger.listAuctions({ postId: made[0]!.postId, limit: 10 })).items).toEqual([made[0]]);
    });

    it('the outbox holds the events of every write in order; a refused write adds none', async () => {
      await drainOutbox();
      const state = await created();
      const v2 = acceptedChange(state, 'b1', 1_000, NOW);
      await ledger.applyChange(v2);
      await ledger.applyChange(v2); // conflict: no events
      const entries = await ledger.readOutbox(100);
      const mine = entries.filter((e) => e.event.auctionId === state.id);
      expect(mine.map((e) => [e.event.type, e.event.version])).toEqual([
        ['AuctionCreated', 1],
        ['BidAccepted', 2],
      ]);
      expect(mine[1]!.event).toEqual(v2.events[0]);
      const positions = entries.map((e) => e.position);
      expect([...positions].sort((a, b) => a - b)).toEqual(positions);
      await ledger.markPublished(positions);
      expect((await ledger.readOutbox(100)).filter((e) => e.event.auctionId === state.id)).toEqual([]);
    });

    it('.findDue lists open auctions whose start or effective end has passed', async () => {
      const ended = await created({ endAt: NOW - 10, effectiveEndAt: NOW - 10 });
      const toStart = await created({ status: 'scheduled', startAt: NOW - 5, endAt: NOW + 60_000 });
      const future = await created({ endAt: NOW + 60_000 });
      const closed = await created({ endAt: NOW - 10, status: 'ended', closedAt: NOW - 10 });
      const due = (await ledger.findDue(NOW, 10_000)).map((s) => s.id);
      expect(due).toContain(ended.id);
      expect(due).toContain(toStart.id);
      expect(due).not.toContain(future.id);
      expect(due).not.toContain(closed.id);
    });

    it.skipIf(!offersPruneOutbox)('.pruneOutbox (optional) deletes entries published before the cutoff and keeps every one not published', async () => {
      await created();
      await drainOutbox();
      await created();
      const waiting = await ledger.readOutbox(1_000);
      expect(waiting.length).toBeGreaterThan(0);
      // Everything published so far was published before now: nothing before an hour ago.
      expect(await ledger.pruneOutbox!(Date.now() - 3_600_000, 100_000)).toBe(0);
      expect(await ledger.pruneOutbox!(Date.now() + 1, 100_000)).toBeGreaterThan(0);
      expect(await ledger.pruneOutbox!(Date.now() + 1, 100_000)).toBe(0);
      expect(await ledger.readOutbox(1_000)).toEqual(waiting);
    });

    it.skipIf(!offersRelayOutbox)('.relayOutbox (optional) hands out up to limit unpublished entries, oldest first, and marks them', async () => {
      await drainOutbox();
      const first = await created();
      const v2 = acceptedChange(first, 'b1', 1_000, NOW);
      expect(await ledger.applyChange(v2)).toEqual({ ok: true });
      await created();
      await created();
      const waiting = (await ledger.readOutbox(1_000)).map((e) => e.event);
      expect(waiting.length).toBe(3 + v2.events.length);
      const batches: AuctionEvent[][] = [];
      for (;;) {
        let handed = 0;
        const published = await ledger.relayOutbox!(async (events) => {
          handed = events.length;
          batches.push(events);
        }, 2);
        expect(published).toBe(handed);
        if (published! < 2) break;
      }
      expect(batches.flat()).toEqual(waiting);
      expect(batches.slice(0, -1).every((b) => b.length === 2)).toBe(true);
      expect(await ledger.readOutbox(1_000)).toEqual([]);
      expect(await ledger.relayOutbox!(async () => expect.unreachable('nothing to publish'), 2)).toBe(0);
    });

    it.skipIf(!offersRelayOutbox)('.relayOutbox (optional): a publish that throws rejects, and the entries it was handed stay unpublished', async () => {
      await drainOutbox();
      for (let i = 0; i < 3; i++) await created();
      const waiting = await ledger.readOutbox(1_000);
      await expect(ledger.relayOutbox!(async () => Promise.reject(new Error('bus down')), 10)).rejects.toThrow('bus down');
      expect(await ledger.readOutbox(1_000)).toEqual(waiting);
      const handed: AuctionEvent[] = [];
      expect(await ledger.relayOutbox!(async (events) => void handed.push(...events), 10)).toBe(3);
      expect(handed).toEqual(waiting.map((e) => e.event));
    });

    // Optional: without the locks every instance runs the guard and the relay (correct, as writes are fenced).
    it.skipIf(!offersLocks)('.withGuardLock and .withRelayLock (optional): one holder at a time; a second is turned away until the first commits', async () => {
      const [a, b] = [ledger, await options.create()];
      try {
        await created(); // an entry waiting in the outbox: a relay pass ignoring the lock would publish it
        for (const lock of ['withGuardLock', 'withRelayLock'] as const) {
          let release!: () => void;
          const held = a[lock]!(() => new Promise<string>((r) => (release = () => r('first'))));
          await new Promise((r) => setTimeout(r, 100));
          expect(await b[lock]!(async () => 'second')).toBeNull();
          if (lock === 'withRelayLock' && offersRelayOutbox) {
            const handed: AuctionEvent[] = [];
            expect(await b.relayOutbox!(async (events) => void handed.push(...events), 100)).toBeNull();
            expect(handed).toEqual([]);
          }
          release();
          expect(await held).toBe('first');
          expect(await b[lock]!(async () => 'second')).toBe('second');
        }
      } finally {
        await b.close();
      }
    });
  });
}
