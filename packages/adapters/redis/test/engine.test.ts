import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { redisCommand, startRedis } from '@outbid/test-services';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createOutbid, type BidEngine } from '@outbid/core';
import { auctionFixture, bidCommand, maxBidCommand } from '@outbid/core/testing';
import { bidFingerprint, type BidRecord, type EngineBidResult, type PlaceBidCommand } from '@outbid/core';
import { createRedisEngine, PACKAGE_VERSION } from '../src/index.js';
import { STATE_FIELDS, stateToFields } from '../src/codec.js';
import { useRedisServer } from './redis-server.js';
import { scriptCalls } from './script-calls.js';

const server = useRedisServer();
let engine: BidEngine;
beforeAll(async () => {
  engine = await createRedisEngine({ redis: new Redis(server.url), quitOnClose: true });
});
afterAll(async () => {
  await engine?.close();
});

describe('packaging', () => {
  it('src/generated/scripts.ts is the current build of lua/*.lua', () => {
    expect(() => execFileSync('node', [join(import.meta.dirname, '../scripts/build-lua.mjs'), '--check'], { stdio: 'pipe' })).not.toThrow();
  });
  it("the scripts read and reply with the state's fields in codec.ts's order", () => {
    // Replies carry values only: one field out of place would put a price where an end time belongs.
    const common = readFileSync(join(import.meta.dirname, '../../../../lua/includes/common.lua'), 'utf8');
    const list = /rcall\('HMGET', key, ([^)]*)\)/.exec(common)?.[1] ?? '';
    expect([...list.matchAll(/'(\w+)'/g)].map((m) => m[1])).toEqual([...STATE_FIELDS]);
    // And hydrate writes exactly these fields.
    const written = stateToFields(auctionFixture(0)).filter((_, i) => i % 2 === 0);
    expect(written).toEqual([...STATE_FIELDS]);
  });
  it('the script command names carry the package version', () => {
    expect(PACKAGE_VERSION).toBe(JSON.parse(readFileSync(join(import.meta.dirname, '../package.json'), 'utf8')).version);
  });
});

describe('start-up checks', () => {
  it('refuses a Redis that may evict keys', async () => {
    const lru = await startRedis(['--maxmemory-policy', 'allkeys-lru']);
    const client = new Redis(lru.url);
    try {
      await expect(createRedisEngine({ redis: client })).rejects.toThrow(/noeviction/);
    } finally {
      client.disconnect();
      await lru.stop();
    }
  });
});

describe('decisions', () => {
  it('amounts near 10^15 survive the Lua path exactly', async () => {
    const now = await engine.now();
    const state = auctionFixture(now, { startPrice: 999_999_999_999_899, currentPrice: 999_999_999_999_899, increment: { type: 'fixed', amount: 1 } });
    await engine.hydrate(state);
    const first = await engine.placeBid(bidCommand(state.id, 'b1', 999_999_999_999_999));
    expect(first).toMatchObject({ decision: { status: 'accepted', currentPrice: 999_999_999_999_999, minNextBid: 1_000_000_000_000_000 } });
    const top = await engine.placeBid(bidCommand(state.id, 'b2', 1_000_000_000_000_000));
    expect(top).toMatchObject({ decision: { status: 'accepted', currentPrice: 1_000_000_000_000_000 } });
    expect(await engine.placeBid(bidCommand(state.id, 'b1', 1_000_000_000_000_001))).toMatchObject({ decision: { status: 'invalid', reason: 'INVALID_AMOUNT' } });
    expect((await engine.getState(state.id))?.currentPrice).toBe(1_000_000_000_000_000);
  });

  it('the same millisecond: 1,000 concurrent bids of the same amount on one auction → exactly one accepted', async () => {
    const state = auctionFixture(await engine.now());
    await engine.hydrate(state);
    const results = await Promise.all(Array.from({ length: 1_000 }, (_, i) => engine.placeBid(bidCommand(state.id, `b${i}`, 5_000))));
    const accepted = results.filter((r) => r.kind === 'decided' && r.decision.status === 'accepted');
    expect(accepted).toHaveLength(1);
    expect(results.filter((r) => r.kind === 'decided' && r.decision.reason === 'BID_TOO_LOW')).toHaveLength(999);
    expect(await engine.getState(state.id)).toMatchObject({ version: 2, bidCount: 1, currentPrice: 5_000 });
  });

  it('ids with any characters stay apart in the idempotency records', async () => {
    const state = auctionFixture(await engine.now());
    await engine.hydrate(state);
    // "a" + key "b:c" and "a:b" + key "c" must not collide.
    const one = await engine.placeBid({ ...bidCommand(state.id, 'a', 1_000, 'b:c'), bidderId: 'a' });
    const two = await engine.placeBid({ ...bidCommand(state.id, 'a:b', 1_100, 'c'), bidderId: 'a:b' });
    expect(one).toMatchObject({ replayed: false, decision: { status: 'accepted' } });
    expect(two).toMatchObject({ replayed: false, decision: { status: 'accepted', currentWinnerId: 'a:b' } });
    const unicode = await engine.placeBid(bidCommand(state.id, 'bïddér-✓', 1_200, 'ключ-🔑'));
    const replay = await engine.placeBid(bidCommand(state.id, 'bïddér-✓', 1_200, 'ключ-🔑'));
    expect(replay).toMatchObject({ replayed: true, decision: { bidId: unicode.kind === 'decided' ? unicode.decision.bidId : '' } });
  });

  it('idempotency records outlive the auction’s end by the TTL, and a sealed auction expires from Redis', async () => {
    const now = await engine.now();
    const state = auctionFixture(now, { endAt: now + 60_000 });
    await engine.hydrate(state);
    await engine.placeBid(bidCommand(state.id, 'b1', 1_000, 'ttl-key'));
    const ttl = Number(await redisCommand(server.port, `PTTL outbid:{a:${state.id}}:idem`).then((l) => l.slice(1)));
    expect(ttl).toBeGreaterThan(60_000 + 7 * 86_400_000 - 5_000);
    await engine.end(state.id, 'now');
    const stateTtl = Number(await redisCommand(server.port, `PTTL outbid:{a:${state.id}}:state`).then((l) => l.slice(1)));
    expect(stateTtl).toBeGreaterThan(0);
    expect(stateTtl).toBeLessThanOrEqual(86_400_000);
  });
});

describe('proxy bids, reserve and Buy It Now', () => {
  const maxBid = (auctionId: string, bidderId: string, maxAmount: number, amount: number | null = null, key: string | null = null): PlaceBidCommand => ({
    auctionId, bidderId, amount, maxAmount, bidId: `bid-${Math.random()}`, idempotencyKey: key, fingerprint: bidFingerprint({ amount, maxAmount }),
  });

  it('OUTBID_BY_PROXY is a refusal that changes the auction: the reply carries the bid kind and the new state', async () => {
    const now = await engine.now();
    const state = auctionFixture(now, { startPrice: 1_000, currentPrice: 1_000, reservePrice: 5_000, increment: { type: 'fixed', amount: 100 } });
    await engine.hydrate(state);
    expect(await engine.placeBid(maxBid(state.id, 'b1', 8_000))).toMatchObject({
      bidKind: 'bid',
      decision: { status: 'accepted', amount: 5_000, currentPrice: 5_000, maxAmount: 8_000, reserveMet: true, buyNowAvailable: null },
      state: { currentPrice: 5_000, leaderMax: 8_000, reservePrice: 5_000 },
    });
    const refused = await engine.placeBid(bidCommand(state.id, 'b2', 6_000, 'k2'));
    expect(refused).toMatchObject({
      bidKind: 'proxy',
      replayed: false,
      decision: { status: 'rejected', reason: 'OUTBID_BY_PROXY', amount: 6_000, currentPrice: 6_100, currentWinnerId: 'b1', version: 3, minNextBid: 6_200, maxAmount: null },
      state: { currentPrice: 6_100, currentWinnerId: 'b1', leaderMax: 8_000, bidCount: 2, version: 3 },
    });
    const replay = await engine.placeBid(bidCommand(state.id, 'b2', 6_000, 'k2'));
    expect(replay).toMatchObject({ replayed: true, state: null, bidKind: null });
    expect(JSON.stringify(replay.kind === 'decided' && replay.decision)).toBe(JSON.stringify(refused.kind === 'decided' && refused.decision));
    // The leader raising their maximum changes nothing visible.
    expect(await engine.placeBid(maxBid(state.id, 'b1', 9_000))).toMatchObject({ bidKind: 'maximum', decision: { status: 'accepted', amount: 6_100 }, state: { leaderMax: 9_000, bidCount: 2, version: 4 } });
  });

  it('maximums near 10^15 survive the Lua path exactly', async () => {
    const now = await engine.now();
    const state = auctionFixture(now, { startPrice: 999_999_999_999_000, currentPrice: 999_999_999_999_000, increment: { type: 'fixed', amount: 1 } });
    await engine.hydrate(state);
    await engine.placeBid(maxBid(state.id, 'b1', 999_999_999_999_998));
    expect(await engine.placeBid(maxBid(state.id, 'b2', 999_999_999_999_999))).toMatchObject({
      decision: { status: 'accepted', amount: 999_999_999_999_999, currentPrice: 999_999_999_999_999, maxAmount: 999_999_999_999_999 },
      state: { leaderMax: 999_999_999_999_999 },
    });
  });

  it('Buy It Now seals the auction, and its state expires from Redis like an ended one', async () => {
    const now = await engine.now();
    const state = auctionFixture(now, { buyNowPrice: 9_000, buyNowPolicy: 'first-bid' });
    await engine.hydrate(state);
    const bought = await engine.placeBid({ auctionId: state.id, bidderId: 'b1', amount: null, buyNow: true, bidId: 'bn', idempotencyKey: 'bn', fingerprint: bidFingerprint({ buyNow: true }) });
    expect(bought).toMatchObject({ bidKind: 'buy_now', decision: { status: 'accepted', amount: 9_000, auctionStatus: 'ended', buyNowAvailable: false }, state: { status: 'ended', currentWinnerId: 'b1' } });
    const stateTtl = Number(await redisCommand(server.port, `PTTL outbid:{a:${state.id}}:state`).then((l) => l.slice(1)));
    expect(stateTtl).toBeGreaterThan(0);
    expect(stateTtl).toBeLessThanOrEqual(86_400_000);
  });
});

describe('data written before proxy bids existed', () => {
  /** A fresh auction's state hash as written before proxy bids existed: without the `missing` fields. */
  const writeOldHash = async (missing: string[]) => {
    const state = auctionFixture(await engine.now());
    const fields = Object.entries({ ...state, increment: JSON.stringify(state.increment), softClose: '', currentWinnerId: '', closedAt: '' }).filter(
      ([f]) => !missing.includes(f),
    );
    await server.client().hset(`outbid:{a:${state.id}}:state`, Object.fromEntries(fields.map(([f, v]) => [f, v === null ? '' : String(v)])));
    return state;
  };

  it('a state hash without the new fields reads them as null and takes bids', async () => {
    const state = await writeOldHash(['reservePrice', 'buyNowPrice', 'buyNowPolicy', 'leaderMax']);
    expect(await engine.getState(state.id)).toEqual(state);
    expect(await engine.placeBid(bidCommand(state.id, 'b1', 1_000))).toMatchObject({ bidKind: 'bid', decision: { status: 'accepted', reserveMet: null, buyNowAvailable: null } });
  });

  it('an accept on such a hash answers with the state as stored, the field it lacked included', async () => {
    const state = await writeOldHash(['leaderMax']);
    // A maximum: the new version holds a leaderMax, a field the hash did not have, so the reply must add it.
    const command: PlaceBidCommand = { auctionId: state.id, bidderId: 'b1', amount: null, maxAmount: 5_000, bidId: 'bid-max', idempotencyKey: 'k-max', fingerprint: bidFingerprint({ amount: null, maxAmount: 5_000 }) };
    const placed = await engine.placeBid(command);
    expect(placed).toMatchObject({ bidKind: 'bid', state: { leaderMax: 5_000, currentWinnerId: 'b1', version: state.version + 1 } });
    expect(placed.kind === 'decided' && placed.state).toEqual(await engine.getState(state.id));
  });

  it('an answer stored with the 11 old fields replays as it was first given (amount from the request, no new fields)', async () => {
    const now = await engine.now();
    const state = auctionFixture(now);
    await engine.hydrate(state);
    const cmd = bidCommand(state.id, 'b1', 1_000, 'old-key');
    const old = ['accepted', '', cmd.bidId, '1100', 'active', '1000', 'b1', '2', String(state.effectiveEndAt), '0', String(now)];
    const packed = [cmd.fingerprint, ...old].map((v) => `${Buffer.byteLength(v)}:${v}`).join('');
    await server.client().hset(`outbid:{a:${state.id}}:idem`, `2:b1old-key`, packed);
    const replay = await engine.placeBid(cmd);
    expect(replay).toMatchObject({ replayed: true });
    expect(JSON.stringify(replay.kind === 'decided' && replay.decision)).toBe(
      JSON.stringify({
        status: 'accepted', reason: null, bidId: cmd.bidId, auctionId: state.id, bidderId: 'b1', amount: 1_000, minNextBid: 1_100, auctionStatus: 'active',
        currentPrice: 1_000, currentWinnerId: 'b1', version: 2, endAt: state.effectiveEndAt, extended: false, decidedAt: now,
      }),
    );
  });
});

/** A result's decision status, or its kind when nothing was decided. */
const statusOf = (r: EngineBidResult) => (r.kind === 'decided' ? r.decision.status : r.kind);

/**
 * What the client writes to its socket, one entry per write the socket makes (`_write`, or `_writev` for the chunks
 * written while it was corked), not per `write()` call.
 */
function socketWrites(client: Redis): string[] {
  const writes: string[] = [];
  type Chunk = { chunk: unknown };
  const socket = client.stream as unknown as { _write: (chunk: unknown, ...rest: unknown[]) => void; _writev: (chunks: Chunk[], ...rest: unknown[]) => void };
  const write = socket._write.bind(socket);
  const writev = socket._writev.bind(socket);
  socket._write = (chunk, ...rest) => {
    writes.push(String(chunk));
    write(chunk, ...rest);
  };
  socket._writev = (chunks, ...rest) => {
    writes.push(chunks.map((c) => String(c.chunk)).join(''));
    writev(chunks, ...rest);
  };
  return writes;
}

describe('bids that arrive together', () => {
  /** A decision without the instant it was taken (two engines, two clocks). */
  const timeless = (r: EngineBidResult) => (r.kind === 'decided' ? { ...r, decision: { ...r.decision, decidedAt: 0 } } : r);
  /**
   * Bids on an auction at 1,000 with increment 100 (auctionFixture) that take every path a batch can: accepts, runs
   * of refusals, replays, a reused key, a maximum that answers, the leader bidding again, invalid input.
   */
  const stampede = (auctionId: string) => [
    bidCommand(auctionId, 'b1', 1_000, 'k1'), // accepted
    bidCommand(auctionId, 'b2', 1_000), // BID_TOO_LOW
    bidCommand(auctionId, 'b2', 1_050),
    bidCommand(auctionId, 'b1', 1_000, 'k1'), // replayed
    maxBidCommand(auctionId, 'b3', 2_000), // accepted at 1,100
    bidCommand(auctionId, 'b4', 1_200), // OUTBID_BY_PROXY: b3's maximum answers at 1,300
    bidCommand(auctionId, 'b4', 1_300),
    bidCommand(auctionId, 'b3', 1_500), // ALREADY_LEADING
    bidCommand(auctionId, 'b1', 1_500, 'k1'), // IDEMPOTENCY_KEY_REUSED
    bidCommand(auctionId, 'b5', 10.5), // INVALID_AMOUNT
    bidCommand(auctionId, 'b5', 2_500, 'k5'), // accepted
    bidCommand(auctionId, 'b6', 2_500),
    bidCommand(auctionId, 'b6', 2_700, 'k6'),
    bidCommand(auctionId, 'b6', 2_700, 'k6'),
    bidCommand(auctionId, 'b7', 2_600),
    bidCommand(auctionId, 'b8', 2_800),
    bidCommand(auctionId, 'b8', 2_800),
  ];

  it('one auction: one script call for the bids of one turn, decided in arrival order exactly as one by one', async () => {
    const probe = server.client();
    const single = await createRedisEngine({ redis: new Redis(server.url), quitOnClose: true, maxBidsPerCall: 1 });
    try {
      const now = await engine.now();
      const together = auctionFixture(now, { id: `together-${now}` });
      const apart = { ...together, id: `apart-${now}` };
      await engine.hydrate(together);
      await single.hydrate(apart);
      await engine.placeBid(bidCommand(together.id, 'warm', 1)); // loads the scripts (a refusal: changes nothing)
      await single.placeBid(bidCommand(apart.id, 'warm', 1));
      const bids = stampede(together.id);
      const before = await scriptCalls(probe);
      const batched = await Promise.all(bids.map((b) => engine.placeBid(b)));
      expect((await scriptCalls(probe)) - before).toBe(1);
      const oneByOne: EngineBidResult[] = [];
      for (const b of bids) oneByOne.push(await single.placeBid({ ...b, auctionId: apart.id }));
      const sameAuction = (r: EngineBidResult) => JSON.parse(JSON.stringify(timeless(r)).replaceAll(together.id, apart.id));
      expect(batched.map(sameAuction)).toEqual(oneByOne.map(timeless));
      // Every path of a batch was taken: accepts, refusals after refusals, a replayed key, a maximum answering.
      const reasons = new Set(batched.map((r) => (r.kind === 'decided' ? (r.replayed ? 'replayed' : (r.decision.reason ?? r.decision.status)) : r.kind)));
      expect([...reasons].sort()).toEqual(['ALREADY_LEADING', 'BID_TOO_LOW', 'IDEMPOTENCY_KEY_REUSED', 'INVALID_AMOUNT', 'OUTBID_BY_PROXY', 'accepted', 'replayed']);
      expect({ ...(await engine.getState(together.id)), id: apart.id }).toEqual(await single.getState(apart.id));
    } finally {
      await single.close();
    }
  });

  it('at most maxBidsPerCall bids per call, one call per auction, and an auction missing from Redis answers each bid so', async () => {
    const probe = server.client();
    const capped = await createRedisEngine({ redis: new Redis(server.url), quitOnClose: true, maxBidsPerCall: 8 });
    try {
      const now = await capped.now();
      const a = auctionFixture(now, { id: `capped-a-${now}` });
      const b = auctionFixture(now, { id: `capped-b-${now}` });
      await capped.hydrate(a);
      await capped.hydrate(b);
      await capped.placeBid(bidCommand(a.id, 'warm', 1));
      const before = await scriptCalls(probe);
      // 17 on a (calls of 8, 8, 1), 3 on b, 5 on an auction Redis does not hold.
      const results = await Promise.all([
        ...stampede(a.id).map((c) => capped.placeBid(c)),
        ...stampede(b.id).slice(0, 3).map((c) => capped.placeBid(c)),
        ...stampede('not-in-redis').slice(0, 5).map((c) => capped.placeBid(c)),
      ]);
      expect((await scriptCalls(probe)) - before).toBe(5);
      expect(results.slice(20).map((r) => r.kind)).toEqual(Array(5).fill('needs_hydration'));
      expect(results.slice(0, 20).every((r) => r.kind === 'decided')).toBe(true);
      const changed = results.slice(0, 17).filter((r) => r.kind === 'decided' && r.state !== null);
      expect((await capped.getState(a.id))?.version).toBe(1 + changed.length);
    } finally {
      await capped.close();
    }
  });

  it("a turn's calls go to Redis in one write at once, not after the replies of an auto-pipeline in flight", async () => {
    // ioredis keeps one auto-pipeline in flight per connection: a call left to it waits for that one's replies.
    const client = new Redis(server.url, { enableAutoPipelining: true });
    const engine = await createRedisEngine({ redis: client, quitOnClose: true });
    const probe = server.client();
    let paused = false;
    try {
      const now = await engine.now();
      const a = auctionFixture(now, { id: `at-once-a-${now}` });
      const b = auctionFixture(now, { id: `at-once-b-${now}` });
      await engine.hydrate(a);
      await engine.hydrate(b);
      await engine.placeBid(bidCommand(a.id, 'warm', 1)); // the connection and the scripts warm (a refusal)
      const writes = socketWrites(client);
      // Redis holds every write command (scripts too) until unpaused: the SET below stays in flight meanwhile.
      await probe.call('CLIENT', 'PAUSE', '60000', 'WRITE');
      paused = true;
      const inFlight = client.set(`at-once-${now}`, '1');
      await new Promise((resolve) => setTimeout(resolve, 5)); // the SET's auto-pipeline is written (a setImmediate)
      expect(writes).toHaveLength(1);
      const bids = [engine.placeBid(bidCommand(a.id, 'b1', 1_000)), engine.placeBid(bidCommand(b.id, 'b2', 1_000))];
      await new Promise((resolve) => setImmediate(resolve)); // the engine's turn: its calls go now
      await new Promise((resolve) => setImmediate(resolve));
      expect(writes).toHaveLength(2);
      expect(writes[1]!.match(/evalsha/gi)).toHaveLength(2);
      await probe.call('CLIENT', 'UNPAUSE');
      paused = false;
      expect(await inFlight).toBe('OK');
      expect((await Promise.all(bids)).map(statusOf)).toEqual(['accepted', 'accepted']);
    } finally {
      if (paused) await probe.call('CLIENT', 'UNPAUSE');
      await engine.close();
    }
  });

  it('bids go by EVALSHA alone; a Redis that lost its scripts (restarted, failed over) decides them after loading them again', async () => {
    const probe = server.client();
    const evals = async () => Number(/cmdstat_eval:calls=(\d+)/.exec(await probe.info('commandstats'))?.[1] ?? 0);
    await probe.script('FLUSH'); // whatever earlier tests loaded
    const fresh = await createRedisEngine({ redis: new Redis(server.url), quitOnClose: true }); // loads the bid scripts
    try {
      const now = await fresh.now();
      const a = auctionFixture(now, { id: `noscript-${now}` });
      await fresh.hydrate(a);
      const before = await evals();
      expect(statusOf(await fresh.placeBid(bidCommand(a.id, 'b1', 1_000)))).toBe('accepted');
      expect(await evals()).toBe(before); // no script text sent: EVALSHA found it
      await probe.script('FLUSH');
      // One bid (place_bid) and then two together (place_bids): each call is refused NOSCRIPT and sent again with EVAL.
      expect(statusOf(await fresh.placeBid(bidCommand(a.id, 'b2', 1_100)))).toBe('accepted');
      const together = await Promise.all([fresh.placeBid(bidCommand(a.id, 'b3', 1_200)), fresh.placeBid(bidCommand(a.id, 'b4', 1_300))]);
      expect(together.map(statusOf)).toEqual(['accepted', 'accepted']);
      expect(await evals()).toBe(before + 2);
      expect((await fresh.getState(a.id))?.currentPrice).toBe(1_300);
      // Loaded again: EVALSHA finds them.
      expect(statusOf(await fresh.placeBid(bidCommand(a.id, 'b5', 1_400)))).toBe('accepted');
      expect(await evals()).toBe(before + 2);
    } finally {
      await fresh.close();
    }
  });

  it("a client's keyPrefix applies to the bid scripts' keys as to the others (hydrate writes where a bid reads)", async () => {
    const probe = server.client();
    const prefixed = await createRedisEngine({ redis: new Redis(server.url, { keyPrefix: 'tenant-7:' }), quitOnClose: true });
    try {
      const now = await prefixed.now();
      const a = auctionFixture(now, { id: `prefixed-${now}` });
      await prefixed.hydrate(a);
      const [one, two] = await Promise.all([prefixed.placeBid(bidCommand(a.id, 'b1', 1_000)), prefixed.placeBid(bidCommand(a.id, 'b2', 1_100))]);
      expect([one, two].map(statusOf)).toEqual(['accepted', 'accepted']);
      expect(await probe.hget(`tenant-7:outbid:{a:${a.id}}:state`, 'currentPrice')).toBe('1100');
      expect(await probe.exists(`outbid:{a:${a.id}}:state`)).toBe(0);
    } finally {
      await prefixed.close();
    }
  });

  it('maxBidsPerCall must be a whole number of at least 1', async () => {
    const client = new Redis(server.url, { lazyConnect: true });
    for (const bad of [0, -1, 1.5, Number.NaN]) {
      await expect(createRedisEngine({ redis: client, maxBidsPerCall: bad })).rejects.toThrow(/maxBidsPerCall must be a whole number/);
    }
    expect(client.status).toBe('wait'); // refused before connecting
    client.disconnect();
  });

  it('a call that fails fails every bid in it (each caller decides what next, as after its own failed call)', async () => {
    const client = new Redis(server.url, { enableOfflineQueue: false, maxRetriesPerRequest: 0 });
    const failing = await createRedisEngine({ redis: client });
    const now = await failing.now();
    const state = auctionFixture(now, { id: `failing-${now}` });
    await failing.hydrate(state);
    client.disconnect();
    const results = await Promise.allSettled(stampede(state.id).slice(0, 6).map((c) => failing.placeBid(c)));
    expect(results.map((r) => r.status)).toEqual(Array(6).fill('rejected'));
  });
});

describe('the service on the Redis engine', () => {
  it('200 concurrent bidders: the ledger has gapless versions and ends equal to the Redis state', async () => {
    const outbid = createOutbid({ engine: await createRedisEngine({ redis: new Redis(server.url), quitOnClose: true }), guardIntervalMs: 0 });
    try {
      const auction = await outbid.createAuction('seller', { postId: 'redis-hot', startAt: Date.now(), endAt: Date.now() + 600_000, startPrice: 1_000, increment: { type: 'fixed', amount: 100 } });
      const results = await Promise.all(
        Array.from({ length: 200 }, (_, i) => outbid.placeBid({ auctionId: auction.id, bidderId: `b${i}`, amount: 1_000 + (i % 60) * 100, idempotencyKey: `k${i}` })),
      );
      const accepted = results.filter((r) => r.decision.status === 'accepted');
      const history = (await outbid.listBids(auction.id, { limit: 100 })).items.reverse();
      expect(history.map((b) => b.version)).toEqual(history.map((_, i) => i + 2));
      expect(history.length).toBe(accepted.length);
      for (let i = 1; i < history.length; i++) expect(history[i]!.amount).toBeGreaterThanOrEqual(history[i - 1]!.amount + 100);
      expect(await outbid.engine.getState(auction.id)).toEqual(await outbid.ledger.getAuction(auction.id));
    } finally {
      await outbid.close();
    }
  });
});

describe('shared rate limiter', () => {
  it('counts one user across every client and tells how long to wait', async () => {
    const { createRedisRateLimiter } = await import('../src/index.js');
    // A window far longer than the test: the fourth take is refused however slowly the first three ran.
    const a = createRedisRateLimiter({ redis: new Redis(server.url), limit: 3, windowMs: 60_000 });
    const b = createRedisRateLimiter({ redis: new Redis(server.url), limit: 3, windowMs: 60_000 });
    expect([await a.take('u1'), await b.take('u1'), await a.take('u1')]).toEqual([0, 0, 0]);
    const wait = await b.take('u1');
    expect(wait).toBeGreaterThan(0);
    expect(wait).toBeLessThanOrEqual(60_000);
    expect(await a.take('u2')).toBe(0); // per user
    // A short window: once the wait it names has passed, a new window allows again (a slow machine only waits longer).
    const c = createRedisRateLimiter({ redis: new Redis(server.url), limit: 1, windowMs: 200 });
    expect(await c.take('u3')).toBe(0);
    const shortWait = await c.take('u3');
    expect(shortWait).toBeLessThanOrEqual(200);
    await new Promise((r) => setTimeout(r, Math.max(shortWait, 0) + 20));
    expect(await c.take('u3')).toBe(0); // a new window
  });

  it('leases tokens: most takes make no Redis call, and the shared limit holds exactly across instances', async () => {
    const { createRedisRateLimiter } = await import('../src/index.js');
    const probe = new Redis(server.url);
    const counter = async (user: string) => Number((await probe.get(`outbid:{rl:${user}}:bids`)) ?? 0);
    const a = createRedisRateLimiter({ redis: new Redis(server.url), limit: 10, windowMs: 60_000, lease: 4 });
    const b = createRedisRateLimiter({ redis: new Redis(server.url), limit: 10, windowMs: 60_000, lease: 4 });
    expect(await a.take('lease-1')).toBe(0);
    expect(await counter('lease-1')).toBe(4); // one call took four
    expect([await a.take('lease-1'), await a.take('lease-1'), await a.take('lease-1')]).toEqual([0, 0, 0]);
    expect(await counter('lease-1')).toBe(4); // spent in process
    expect(await a.take('lease-1')).toBe(0);
    expect(await counter('lease-1')).toBe(8);
    // Two instances taking turns: exactly the limit is allowed in the window, never more.
    const answers: number[] = [];
    for (let i = 0; i < 30; i++) answers.push(await (i % 2 === 0 ? a : b).take('lease-2'));
    expect(answers.filter((w) => w === 0)).toHaveLength(10);
    expect(answers.slice(-4).every((w) => w > 0 && w <= 60_000)).toBe(true);
    expect(await counter('lease-2')).toBe(10);
    // The default lease is a tenth of the limit: a limit of 3 asks Redis every time.
    const exact = createRedisRateLimiter({ redis: new Redis(server.url), limit: 3, windowMs: 60_000 });
    await exact.take('lease-3');
    expect(await counter('lease-3')).toBe(1);
    probe.disconnect();
  });

  it('while Redis cannot be reached it counts with its fallback (no error), or throws without one', async () => {
    const { createRedisRateLimiter } = await import('../src/index.js');
    const down = new Redis({ port: 1, host: '127.0.0.1', lazyConnect: true, enableOfflineQueue: false, maxRetriesPerRequest: 0, retryStrategy: () => null });
    const errors: unknown[] = [];
    let counted = 0;
    const limiter = createRedisRateLimiter({ redis: down, limit: 3, windowMs: 1_000, fallback: { take: async () => (counted++ < 1 ? 0 : 500) }, onError: (e) => errors.push(e) });
    expect([await limiter.take('u'), await limiter.take('u')]).toEqual([0, 500]);
    expect(errors).toHaveLength(2);
    await expect(createRedisRateLimiter({ redis: down, limit: 3, windowMs: 1_000 }).take('u')).rejects.toThrow();
    down.disconnect();
  });
});

describe('whenReady', () => {
  it('a lazy client is ready once connected (its ready event has passed by then); an eager one when it says so', async () => {
    const { whenReady } = await import('../src/index.js');
    const lazy = new Redis(server.url, { lazyConnect: true });
    const eager = new Redis(server.url);
    try {
      // Before the fix the lazy client waited for a second 'ready' that never came, and failed after 10 s.
      await whenReady(lazy);
      await whenReady(eager);
      expect([lazy.status, eager.status]).toEqual(['ready', 'ready']);
      expect(lazy.listenerCount('ready')).toBe(0);
      expect(eager.listenerCount('ready')).toBe(0);
    } finally {
      lazy.disconnect();
      eager.disconnect();
    }
  });
});

describe('hydrate', () => {
  it('takes a long auction: 150,000 keyed records in one hydrate, each answered again on retry', async () => {
    const now = await engine.now();
    const state = auctionFixture(now, { version: 150_001, bidCount: 150_000, currentPrice: 150_000, currentWinnerId: 'b149999' });
    const decided = (i: number) => ({
      status: 'rejected' as const, reason: 'BID_TOO_LOW' as const, bidId: `bid-${i}`, auctionId: state.id, bidderId: `b${i}`, amount: i,
      minNextBid: i + 1, auctionStatus: 'active' as const, currentPrice: i, currentWinnerId: 'b0', version: 2, endAt: state.effectiveEndAt,
      extended: false, decidedAt: now, maxAmount: null, reserveMet: null, buyNowAvailable: null,
    });
    const records = Array.from({ length: 150_000 }, (_, i) => {
      const decision = decided(i);
      const record: BidRecord = {
        bidId: decision.bidId, auctionId: state.id, bidderId: decision.bidderId, amount: i, status: 'rejected', reason: 'BID_TOO_LOW', kind: 'bid',
        maxAmount: null, version: null, idempotencyKey: `key-${i}`, fingerprint: bidCommand(state.id, decision.bidderId, i).fingerprint, createdAt: now, decision,
      };
      return record;
    });
    // Passed as lists, not spread: ~300,000 arguments would overflow the JavaScript stack.
    expect(await engine.hydrate(state, records)).toEqual({ applied: true });
    for (const i of [0, 74_999, 149_999]) {
      const retry = await engine.placeBid(bidCommand(state.id, `b${i}`, i, `key-${i}`));
      expect(retry).toMatchObject({ replayed: true, decision: { bidId: `bid-${i}`, reason: 'BID_TOO_LOW' } });
    }
  }, 60_000);
});
