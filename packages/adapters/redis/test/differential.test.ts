import fc from 'fast-check';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, expect, it } from 'vitest';
import {
  EBAY_USD_INCREMENTS,
  MAX_MINOR_UNITS,
  bidFingerprint,
  createMemoryEngine,
  incrementAt,
  isStoredDecision,
  leaderMaximum,
  minNextBid,
  type AuctionState,
  type BidDecision,
  type BidEngine,
  type BidRecord,
  type EngineBidResult,
  type EngineTransitionResult,
  type PlaceBidCommand,
} from '@outbid/core';
import { auctionFixture } from '@outbid/core/testing';
import { createRedisEngine } from '../src/index.js';
import { useRedisServer } from './redis-server.js';
import { scriptCalls } from './script-calls.js';

/**
 * Model-based differential test: the same random command sequences run against the memory engine (the reference
 * model) and the Redis engine must give identical decisions and states. The engines have different clocks (Date.now
 * vs Redis TIME), so auctions stay far from their end and only deterministic soft close (additive) is used; the
 * instants a decision or an early start/end took are compared as "present", not by value.
 * Auctions may have a hidden reserve and Buy It Now (either policy); bids are plain, maximum-only, amount + maximum
 * or Buy It Now, with amounts and maximums chosen around the minimum next bid, the leader's maximum (ties, one
 * above, one below) and the reserve, and the leader often raises their own maximum.
 */
const server = useRedisServer();
let redis: BidEngine;
beforeAll(async () => {
  redis = await createRedisEngine({ redis: new Redis(server.url), quitOnClose: true });
});
afterAll(async () => {
  await redis?.close();
});

/** Where an amount or a maximum lands, relative to the state the bid meets (see `pick`). */
const LEVELS = [
  'below', 'min', 'above', 'leaderMax', 'leaderMaxMinus1', 'leaderMaxPlus1', 'leaderMaxPlusInc', 'reserve', 'reserveMinus1', 'reservePlusInc', 'buyNow',
  'far', 'big', 'nearTop', 'fraction', 'zero', 'huge',
] as const;
type Level = (typeof LEVELS)[number];
/** plain: amount only; max: maximum only; both: amount + maximum; buyNow; buyNowJunk: Buy It Now with an amount; neither. */
type Mode = 'plain' | 'max' | 'both' | 'buyNow' | 'buyNowJunk' | 'neither';

type Cmd =
  | { t: 'bid'; a: number; who: 'creator' | 'leader' | 1 | 2 | 3 | 4; mode: Mode; amount: Level; max: Level; key: 'none' | 'new' | 'same' | 'changed' }
  | { t: 'start' | 'end'; a: number; mode: 'due' | 'now' }
  | { t: 'cancel'; a: number }
  | { t: 'reload'; a: number; legacy: boolean };

const RARE: readonly Level[] = ['big', 'nearTop', 'fraction', 'zero', 'huge'];
// Mostly amounts that may be placed, so the proxy paths are taken often; now and then one that may not.
// Most bids go to the first auction, so its bidding runs deep enough for maximums to meet and answer each other.
const auctionIndex = fc.oneof({ weight: 3, arbitrary: fc.constant(0) }, { weight: 2, arbitrary: fc.nat(3) });
const level = fc.oneof(
  { weight: 6, arbitrary: fc.constantFrom(...LEVELS.filter((l) => !RARE.includes(l))) },
  { weight: 1, arbitrary: fc.constantFrom(...RARE) },
);
type BidCmd = Extract<Cmd, { t: 'bid' }>;
const bidCmd: fc.Arbitrary<BidCmd> = fc.record({
  t: fc.constant('bid' as const),
  a: auctionIndex,
  who: fc.oneof({ weight: 1, arbitrary: fc.constant('creator' as const) }, { weight: 3, arbitrary: fc.constant('leader' as const) }, { weight: 8, arbitrary: fc.constantFrom(1 as const, 2 as const, 3 as const, 4 as const) }),
  mode: fc.oneof(
    { weight: 5, arbitrary: fc.constant('plain' as const) },
    { weight: 5, arbitrary: fc.constant('max' as const) },
    { weight: 3, arbitrary: fc.constant('both' as const) },
    { weight: 2, arbitrary: fc.constant('buyNow' as const) },
    { weight: 1, arbitrary: fc.constantFrom('buyNowJunk' as const, 'neither' as const) },
  ),
  amount: level,
  max: level,
  key: fc.constantFrom('none', 'new', 'same', 'changed'),
});
const cmd: fc.Arbitrary<Cmd> = fc.oneof(
  { weight: 30, arbitrary: bidCmd },
  { weight: 1, arbitrary: fc.record({ t: fc.constantFrom('start' as const, 'end' as const), a: fc.nat(3), mode: fc.constantFrom('due' as const, 'now' as const) }) },
  { weight: 1, arbitrary: fc.record({ t: fc.constant('cancel' as const), a: fc.nat(3) }) },
  { weight: 1, arbitrary: fc.record({ t: fc.constant('reload' as const), a: fc.nat(3), legacy: fc.boolean() }) },
);

const auctionsArb = fc.array(
  fc.record({
    scheduled: fc.nat(3).map((n) => n === 0),
    table: fc.boolean(),
    startPrice: fc.oneof({ weight: 5, arbitrary: fc.integer({ min: 0, max: 2_000 }) }, { weight: 1, arbitrary: fc.constant(999_999_999_999_000) }),
    soft: fc.option(fc.record({ maxExtensions: fc.option(fc.nat(3), { nil: null }), hardOffset: fc.option(fc.integer({ min: 1, max: 600_000 }), { nil: null }) }), { nil: null }),
    /** Above the start price by this much. */
    reserve: fc.option(fc.integer({ min: 1, max: 3_000 }), { nil: null }),
    /** Above the start price and the reserve by this much, with its policy. */
    buyNow: fc.option(fc.record({ over: fc.integer({ min: 1, max: 5_000 }), policy: fc.constantFrom('first-bid' as const, 'reserve-met' as const) }), { nil: null }),
  }),
  { minLength: 4, maxLength: 4 },
);

/** An amount at `lvl` for a bid on `s`: around the minimum next bid, the leader's maximum, the reserve, Buy It Now, or out of range. */
function pick(s: AuctionState, lvl: Level): number {
  const min = minNextBid(s);
  const inc = incrementAt(s.increment, s.currentPrice);
  const leader = leaderMaximum(s) ?? min;
  const reserve = s.reservePrice ?? min + 5 * inc;
  const values: Record<Level, number> = {
    below: min - 1,
    min,
    above: min + 3 * inc,
    leaderMax: leader,
    leaderMaxMinus1: leader - 1,
    leaderMaxPlus1: leader + 1,
    leaderMaxPlusInc: leader + incrementAt(s.increment, leader),
    reserve,
    reserveMinus1: reserve - 1,
    reservePlusInc: reserve + incrementAt(s.increment, reserve),
    buyNow: s.buyNowPrice ?? min + 7 * inc,
    far: min + 50 * inc,
    big: MAX_MINOR_UNITS,
    nearTop: MAX_MINOR_UNITS - 1,
    fraction: min + 0.5,
    zero: 0,
    huge: 1e16,
  };
  return values[lvl];
}

let run = 0;
const HOUR = 3_600_000;

/** Fields that carry an engine's own "now" are compared as present/absent. */
function comparable(state: AuctionState | null, nowFields: Set<string>) {
  if (!state) return null;
  const copy: Record<string, unknown> = { ...state };
  for (const f of nowFields) copy[f] = copy[f] === null ? null : 'now';
  copy.closedAt = state.closedAt === null ? null : 'set';
  return copy;
}
function comparableResult(r: EngineBidResult | EngineTransitionResult, nowFields: Set<string>) {
  if (r.kind === 'needs_hydration') return r;
  if (r.kind === 'decided') {
    const endAt = nowFields.has('effectiveEndAt') ? 'now' : r.decision.endAt;
    return { ...r, decision: { ...r.decision, decidedAt: 'now', endAt }, state: comparable(r.state, nowFields) };
  }
  const { state, ...rest } = r as { state: AuctionState; previous?: AuctionState };
  const out: Record<string, unknown> = { ...rest, state: comparable(state, nowFields) };
  if ('previous' in r && r.previous) out.previous = comparable(r.previous, nowFields);
  return out;
}

type Specs = typeof auctionsArb extends fc.Arbitrary<infer T> ? T : never;

/**
 * A new run: a fresh memory engine, and the run's auctions (far from their end: the engines' clocks differ) hydrated
 * into both engines alike.
 */
async function startRun(specs: Specs): Promise<{ memory: BidEngine; auctions: AuctionState[] }> {
  run++;
  const memory = createMemoryEngine();
  const now = await redis.now();
  const auctions = specs.map((spec, i) => {
    const reservePrice = spec.reserve === null ? null : Math.min(spec.startPrice + spec.reserve, MAX_MINOR_UNITS);
    const binFloor = Math.max(spec.startPrice, reservePrice ?? 0);
    const buyNowPrice = spec.buyNow === null || binFloor + spec.buyNow.over > MAX_MINOR_UNITS ? null : binFloor + spec.buyNow.over;
    return auctionFixture(now, {
      id: `diff-${run}-${i}`,
      status: spec.scheduled ? 'scheduled' : 'active',
      startAt: spec.scheduled ? now + HOUR : now - 1_000,
      endAt: now + 2 * HOUR,
      startPrice: spec.startPrice,
      currentPrice: spec.startPrice,
      increment: spec.table ? { type: 'table', tiers: [...EBAY_USD_INCREMENTS] } : { type: 'fixed', amount: 100 },
      softClose: spec.soft && { windowMs: 10 * HOUR, extendMs: 60_000, mode: 'additive', maxExtensions: spec.soft.maxExtensions, hardEndAt: spec.soft.hardOffset === null ? null : now + 2 * HOUR + spec.soft.hardOffset },
      reservePrice,
      buyNowPrice,
      buyNowPolicy: buyNowPrice === null ? null : spec.buyNow!.policy,
    });
  });
  for (const a of auctions) {
    expect(await memory.hydrate(a)).toEqual(await redis.hydrate(a));
  }
  return { memory, auctions };
}

/** One run's idempotency keys: the last payload sent with each (auction, bidder)'s key, so a bid can repeat or change it. */
interface Keys {
  last: Map<string, { key: string; amount: number | null; maxAmount: number | null; buyNow: boolean }>;
  counter: number;
}

/** The command for `c` on auction `a`, by a bidder who saw it as `current`. */
function bidCommandFor(c: BidCmd, a: AuctionState, current: AuctionState, keys: Keys): PlaceBidCommand {
  const bidderId = c.who === 'creator' ? a.creatorId : c.who === 'leader' ? (current.currentWinnerId ?? 'bidder-1') : `bidder-${c.who}`;
  let amount: number | null = c.mode === 'plain' || c.mode === 'both' || c.mode === 'buyNowJunk' ? pick(current, c.amount) : null;
  let maxAmount: number | null = c.mode === 'max' || c.mode === 'both' ? pick(current, c.max) : null;
  let buyNow = c.mode === 'buyNow' || c.mode === 'buyNowJunk';
  const slot = `${a.id}/${bidderId}`;
  let key: string | null = null;
  if (c.key === 'new') key = `k${keys.counter++}`;
  const last = keys.last.get(slot);
  if ((c.key === 'same' || c.key === 'changed') && last) {
    key = last.key;
    if (c.key === 'same') ({ amount, maxAmount, buyNow } = last);
    else if (last.buyNow) buyNow = false;
    else if (last.maxAmount !== null) maxAmount = last.maxAmount + 1;
    else amount = (last.amount ?? 0) + 1;
  }
  if (key !== null && (c.key === 'new' || !last)) keys.last.set(slot, { key, amount, maxAmount, buyNow });
  return {
    auctionId: a.id,
    bidderId,
    amount,
    maxAmount,
    buyNow,
    bidId: `bid-${keys.counter++}`,
    idempotencyKey: key,
    fingerprint: bidFingerprint({ amount, maxAmount, buyNow }),
  };
}

/** A decision with its engine's instants blanked, as JSON: key order and present-vs-absent fields count. */
const decisionBytes = (d: BidDecision) => JSON.stringify({ ...d, decidedAt: 0, endAt: 0 });

it('memory and Redis engines agree on 1,000 random command sequences (proxy bids, reserves, Buy It Now)', async () => {
  let commands = 0;
  const seen = new Map<string, number>();
  const count = (what: string) => seen.set(what, (seen.get(what) ?? 0) + 1);
  await fc.assert(
    fc.asyncProperty(auctionsArb, fc.array(cmd, { minLength: 5, maxLength: 50, size: 'max' }), async (specs, cmds) => {
      const { memory, auctions } = await startRun(specs);
      const nowFields = auctions.map(() => new Set<string>());
      const keys: Keys = { last: new Map(), counter: 0 };
      /** The stored answers (as the ledger keeps them), to hydrate both engines with on reload. */
      const records = new Map<string, BidRecord[]>();
      for (const c of cmds) {
        commands++;
        const a = auctions[c.a]!;
        let both: [EngineBidResult | EngineTransitionResult, EngineBidResult | EngineTransitionResult];
        if (c.t === 'bid') {
          const current = (await memory.getState(a.id))!;
          const command = bidCommandFor(c, a, current, keys);
          const { bidderId, idempotencyKey: key } = command;
          both = await Promise.all([memory.placeBid(command), redis.placeBid(command)]);
          const model = both[0];
          if (model.kind === 'decided') {
            if (model.replayed) count('replayed');
            else count(model.decision.reason ?? model.decision.status);
            if (model.bidKind) count(model.bidKind);
            if (model.state && model.state.reservePrice !== null && model.state.currentPrice === model.state.reservePrice && current.currentPrice < current.reservePrice!) count('reserve jump');
            if (model.decision.extended) count('extended');
            if (model.bidKind === 'buy_now') nowFields[c.a]!.add('effectiveEndAt');
            if (!model.replayed && key !== null && isStoredDecision(model.decision)) {
              const list = records.get(a.id) ?? [];
              list.push({ bidderId, idempotencyKey: key, fingerprint: command.fingerprint, decision: model.decision } as BidRecord);
              records.set(a.id, list);
            }
            const other = both[1];
            expect(other.kind === 'decided' && decisionBytes(other.decision), JSON.stringify(c)).toBe(decisionBytes(model.decision));
          }
        } else if (c.t === 'reload') {
          // Drop and rebuild both from the model's state and the stored answers, as after losing Redis. `legacy`:
          // the answers were stored before proxy bids existed (no maxAmount, reserveMet, buyNowAvailable).
          const state = (await memory.getState(a.id))!;
          const ledger = (records.get(a.id) ?? []).map((r) => {
            if (!c.legacy) return r;
            const { maxAmount: _m, reserveMet: _r, buyNowAvailable: _b, ...old } = r.decision;
            return { ...r, decision: old as BidDecision };
          });
          records.set(a.id, ledger);
          await Promise.all([memory.drop(a.id), redis.drop(a.id)]);
          both = [{ kind: 'needs_hydration' }, await redis.placeBid({ auctionId: a.id, bidderId: 'x', amount: 1, bidId: 'x', idempotencyKey: null, fingerprint: '' })];
          await Promise.all([memory.hydrate(state, ledger), redis.hydrate(state, ledger)]);
        } else {
          if (c.t === 'start' && 'mode' in c && c.mode === 'now') nowFields[c.a]!.add('startAt');
          if ((c.t === 'end' && c.mode === 'now') || c.t === 'cancel') nowFields[c.a]!.add('effectiveEndAt');
          both =
            c.t === 'start'
              ? await Promise.all([memory.start(a.id, c.mode), redis.start(a.id, c.mode)])
              : c.t === 'end'
                ? await Promise.all([memory.end(a.id, c.mode), redis.end(a.id, c.mode)])
                : await Promise.all([memory.cancel(a.id), redis.cancel(a.id)]);
        }
        expect(comparableResult(both[1], nowFields[c.a]!), JSON.stringify(c)).toEqual(comparableResult(both[0], nowFields[c.a]!));
        expect(comparable(await redis.getState(a.id), nowFields[c.a]!)).toEqual(comparable(await memory.getState(a.id), nowFields[c.a]!));
      }
    }),
    { numRuns: 1_000 },
  );
  expect(commands).toBeGreaterThan(5_000);
  // Every path of the rules was taken, many times.
  for (const what of ['bid', 'proxy', 'maximum', 'buy_now', 'reserve jump', 'extended', 'OUTBID_BY_PROXY', 'BUY_NOW_UNAVAILABLE', 'ALREADY_LEADING', 'BID_TOO_LOW', 'INVALID_AMOUNT', 'IDEMPOTENCY_KEY_REUSED', 'replayed']) {
    expect(seen.get(what) ?? 0, what).toBeGreaterThan(100);
  }
}, 240_000);

it('bids sent together (one place_bids call per auction and turn) decide as the memory engine decides them one by one', async () => {
  const probe = server.client();
  let bids = 0;
  let auctionsBid = 0;
  let calls = 0;
  await fc.assert(
    fc.asyncProperty(auctionsArb, fc.array(fc.array(bidCmd, { minLength: 2, maxLength: 16 }), { minLength: 1, maxLength: 6 }), async (specs, bursts) => {
      const { memory, auctions } = await startRun(specs);
      const nowFields = auctions.map(() => new Set<string>());
      const keys: Keys = { last: new Map(), counter: 0 };
      for (const burst of bursts) {
        // A stampede: every bidder of the burst saw the auctions as they were before it.
        const seen = await Promise.all(auctions.map((a) => memory.getState(a.id)));
        const commands = burst.map((c) => bidCommandFor(c, auctions[c.a]!, seen[c.a]!, keys));
        // Placed in one turn, so the engine sends each auction's bids in one call, in this order.
        const before = await scriptCalls(probe);
        const together = await Promise.all(commands.map((command) => redis.placeBid(command)));
        calls += (await scriptCalls(probe)) - before;
        bids += commands.length;
        auctionsBid += new Set(burst.map((c) => c.a)).size;
        for (const [i, command] of commands.entries()) {
          const c = burst[i]!;
          const model = await memory.placeBid(command);
          if (model.kind === 'decided' && model.bidKind === 'buy_now') nowFields[c.a]!.add('effectiveEndAt');
          const other = together[i]!;
          if (model.kind === 'decided') {
            expect(other.kind === 'decided' && decisionBytes(other.decision), JSON.stringify(c)).toBe(decisionBytes(model.decision));
          }
          expect(comparableResult(other, nowFields[c.a]!), JSON.stringify(c)).toEqual(comparableResult(model, nowFields[c.a]!));
        }
        for (const [i, a] of auctions.entries()) {
          expect(comparable(await redis.getState(a.id), nowFields[i]!)).toEqual(comparable(await memory.getState(a.id), nowFields[i]!));
        }
      }
    }),
    { numRuns: 300 },
  );
  // One script call per auction and burst (one more for the first place_bids, loaded on NOSCRIPT), so most calls
  // carried several bids.
  expect(calls).toBeGreaterThanOrEqual(auctionsBid);
  expect(calls).toBeLessThanOrEqual(auctionsBid + 1);
  expect(bids).toBeGreaterThan(2 * calls);
}, 240_000);
