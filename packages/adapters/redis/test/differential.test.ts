import fc from 'fast-check';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, expect, it } from 'vitest';
import {
  EBAY_USD_INCREMENTS,
  createMemoryEngine,
  incrementAt,
  type AuctionState,
  type BidEngine,
  type EngineBidResult,
  type EngineTransitionResult,
} from '@outbid/core';
import { auctionFixture } from '@outbid/core/testing';
import { createRedisEngine } from '../src/index.js';
import { useRedisServer } from './redis-server.js';

/**
 * Model-based differential test: the same random command sequences run against the memory engine (the reference
 * model) and the Redis engine must give identical decisions and states. The engines have different clocks (Date.now
 * vs Redis TIME), so auctions stay far from their end and only deterministic soft close (additive) is used; the
 * instants a decision or an early start/end took are compared as "present", not by value.
 */
const server = useRedisServer();
let redis: BidEngine;
beforeAll(async () => {
  redis = await createRedisEngine({ redis: new Redis(server.url), quitOnClose: true });
});
afterAll(async () => {
  await redis?.close();
});

type Cmd =
  | { t: 'bid'; a: number; bidder: number; amount: 'below' | 'min' | 'above' | 'big' | 'fraction' | 'zero' | 'huge'; key: 'none' | 'new' | 'same' | 'changed' }
  | { t: 'start' | 'end'; a: number; mode: 'due' | 'now' }
  | { t: 'cancel'; a: number }
  | { t: 'reload'; a: number };

const cmd: fc.Arbitrary<Cmd> = fc.oneof(
  { weight: 10, arbitrary: fc.record({ t: fc.constant('bid' as const), a: fc.nat(3), bidder: fc.nat(4), amount: fc.constantFrom('below', 'min', 'above', 'big', 'fraction', 'zero', 'huge'), key: fc.constantFrom('none', 'new', 'same', 'changed') }) },
  { weight: 1, arbitrary: fc.record({ t: fc.constantFrom('start' as const, 'end' as const), a: fc.nat(3), mode: fc.constantFrom('due' as const, 'now' as const) }) },
  { weight: 1, arbitrary: fc.record({ t: fc.constant('cancel' as const), a: fc.nat(3) }) },
  { weight: 1, arbitrary: fc.record({ t: fc.constant('reload' as const), a: fc.nat(3) }) },
);

const auctionsArb = fc.array(
  fc.record({
    scheduled: fc.boolean(),
    table: fc.boolean(),
    startPrice: fc.oneof(fc.integer({ min: 0, max: 2_000 }), fc.constant(999_999_999_999_000)),
    soft: fc.option(fc.record({ maxExtensions: fc.option(fc.nat(3), { nil: null }), hardOffset: fc.option(fc.integer({ min: 1, max: 600_000 }), { nil: null }) }), { nil: null }),
  }),
  { minLength: 4, maxLength: 4 },
);

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

it('memory and Redis engines agree on 1,000 random command sequences', async () => {
  let commands = 0;
  await fc.assert(
    fc.asyncProperty(auctionsArb, fc.array(cmd, { minLength: 5, maxLength: 30 }), async (specs, cmds) => {
      run++;
      const memory = createMemoryEngine();
      const now = await redis.now();
      const auctions = specs.map((spec, i) =>
        auctionFixture(now, {
          id: `diff-${run}-${i}`,
          status: spec.scheduled ? 'scheduled' : 'active',
          startAt: spec.scheduled ? now + HOUR : now - 1_000,
          endAt: now + 2 * HOUR,
          startPrice: spec.startPrice,
          currentPrice: spec.startPrice,
          increment: spec.table ? { type: 'table', tiers: [...EBAY_USD_INCREMENTS] } : { type: 'fixed', amount: 100 },
          softClose: spec.soft && { windowMs: 10 * HOUR, extendMs: 60_000, mode: 'additive', maxExtensions: spec.soft.maxExtensions, hardEndAt: spec.soft.hardOffset === null ? null : now + 2 * HOUR + spec.soft.hardOffset },
        }),
      );
      const nowFields = auctions.map(() => new Set<string>());
      for (const a of auctions) {
        expect(await memory.hydrate(a)).toEqual(await redis.hydrate(a));
      }
      const lastKey = new Map<string, { key: string; amount: number }>();
      let keyCounter = 0;
      for (const c of cmds) {
        commands++;
        const a = auctions[c.a]!;
        let both: [EngineBidResult | EngineTransitionResult, EngineBidResult | EngineTransitionResult];
        if (c.t === 'bid') {
          const current = (await memory.getState(a.id))!;
          const min = current.currentWinnerId === null ? current.startPrice : current.currentPrice + incrementAt(current.increment, current.currentPrice);
          const amount = { below: min - 1, min, above: min + 3 * incrementAt(current.increment, current.currentPrice), big: 1_000_000_000_000_000, fraction: min + 0.5, zero: 0, huge: 1e16 }[c.amount];
          const bidderId = c.bidder === 0 ? a.creatorId : `bidder-${c.bidder}`;
          const slot = `${a.id}/${bidderId}`;
          let key: string | null = null;
          let sent = amount;
          if (c.key === 'new') key = `k${keyCounter++}`;
          if ((c.key === 'same' || c.key === 'changed') && lastKey.has(slot)) {
            key = lastKey.get(slot)!.key;
            sent = c.key === 'same' ? lastKey.get(slot)!.amount : amount + 1;
          }
          if (key !== null && !lastKey.has(slot)) lastKey.set(slot, { key, amount: sent });
          if (c.key === 'new' && key !== null) lastKey.set(slot, { key, amount: sent });
          const command = { auctionId: a.id, bidderId, amount: sent, bidId: `bid-${keyCounter++}`, idempotencyKey: key, fingerprint: JSON.stringify({ amount: sent }) };
          both = await Promise.all([memory.placeBid(command), redis.placeBid(command)]);
        } else if (c.t === 'reload') {
          // Drop and rebuild both from the model's state, as after losing Redis.
          const state = (await memory.getState(a.id))!;
          await Promise.all([memory.drop(a.id), redis.drop(a.id)]);
          both = [{ kind: 'needs_hydration' }, await redis.placeBid({ auctionId: a.id, bidderId: 'x', amount: 1, bidId: 'x', idempotencyKey: null, fingerprint: '' })];
          await Promise.all([memory.hydrate(state), redis.hydrate(state)]);
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
}, 240_000);
