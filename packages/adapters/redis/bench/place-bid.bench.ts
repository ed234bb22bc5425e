/**
 * `pnpm bench redis`: bid decisions per second through the Redis Lua engine on a local redis-server it starts,
 * for C concurrent callers on one hot auction and spread over 1,000 auctions. Engine only (no ledger): the cost
 * of the atomic decision itself. Each scenario runs three bid mixes, rounds interleaved (plain, proxy, answered,
 * plain, …) so a machine whose load drifts hurts them alike:
 * - plain: amounts only (nearly every bid is accepted);
 * - proxy: every other bid also names a maximum a little above its amount, so leaders hold maximums, rivals'
 *   bids are answered by them (OUTBID_BY_PROXY, a new version too) and a new maximum lifts the price past the bids
 *   in flight (BID_TOO_LOW for those);
 * - answered: a leader holds a high maximum from the start, so every bid goes down the proxy path and is answered
 *   by an automatic bid (every decision writes a new version): the proxy rules' worst case.
 * Prints progress, then the medians of the rounds, each mix beside plain, with the time Redis spent in each call and
 * the CPU this process spent per decision (the engine's client side: building each call and reading its reply).
 */
import { startRedis } from '../../../../tools/test-services/src/index.js';
import { Redis } from 'ioredis';
import { createRedisEngine } from '../src/index.js';
import type { AuctionState } from '@outbid/core';

const ROUNDS = Number(process.env.ROUNDS ?? 5);
const SECONDS = Number(process.env.SECONDS ?? 3);
const CONCURRENCY = Number(process.env.CONCURRENCY ?? 50);

const MIXES = ['plain', 'proxy', 'answered'] as const;
type Mix = (typeof MIXES)[number];

const auction = (id: string, now: number, mix: Mix): AuctionState => ({
  id, postId: `p-${id}`, creatorId: 'seller', currency: 'USD', startAt: now - 1_000, endAt: now + 3_600_000, effectiveEndAt: now + 3_600_000,
  startPrice: 100, increment: { type: 'fixed', amount: 1 }, softClose: null, status: 'active', currentPrice: 100,
  currentWinnerId: mix === 'answered' ? 'standing-leader' : null,
  version: 1, bidCount: mix === 'answered' ? 1 : 0, extensionCount: 0, createdAt: now - 2_000, closedAt: null,
  reservePrice: null, buyNowPrice: null, buyNowPolicy: null, leaderMax: mix === 'answered' ? 1_000_000_000_000 : null,
});

const server = await startRedis();
const engine = await createRedisEngine({ redis: new Redis(server.url), quitOnClose: true });
const admin = new Redis(server.url);
/** EVALSHA calls and the µs Redis spent in them so far: the script's own cost, whatever the client's speed. */
async function scriptTime() {
  const line = /cmdstat_evalsha:calls=(\d+),usec=(\d+)/.exec(await admin.info('commandstats'));
  return { calls: Number(line?.[1] ?? 0), usec: Number(line?.[2] ?? 0) };
}
const fmt = (n: number) => Math.round(n).toLocaleString('en-US');
console.log(`Redis Lua engine, ${CONCURRENCY} concurrent callers, ${ROUNDS} rounds of ${SECONDS} s, node ${process.version}`);

async function round(auctions: number, mix: Mix) {
  const now = await engine.now();
  const ids = Array.from({ length: auctions }, () => `bench-${Math.random().toString(36).slice(2)}`);
  for (const id of ids) await engine.hydrate(auction(id, now, mix));
  const prices = new Map(ids.map((id) => [id, 100]));
  const latencies: number[] = [];
  const before = await scriptTime();
  const cpuBefore = process.cpuUsage();
  let done = 0;
  let answered = 0;
  let changed = 0;
  const until = Date.now() + SECONDS * 1_000;
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async (_, worker) => {
      for (let i = 0; Date.now() < until; i++) {
        const id = ids[(worker + i) % ids.length]!;
        // At least 2 above the last: one over an automatic answer (which lands 1 above the bid it answers).
        const amount = prices.get(id)! + 2 + (i % 3);
        prices.set(id, amount);
        const maxAmount = mix === 'proxy' && i % 2 === 0 ? amount + 20 : null;
        const fingerprint = maxAmount === null ? `{"amount":${amount}}` : `{"amount":${amount},"maxAmount":${maxAmount}}`;
        const started = performance.now();
        const result = await engine.placeBid({ auctionId: id, bidderId: `w${worker}-${i % 2}`, amount, maxAmount, bidId: `${worker}-${i}`, idempotencyKey: `${worker}-${i}`, fingerprint });
        latencies.push(performance.now() - started);
        // Follow the price (a maximum's answer moves it past what this caller bid).
        if (result.kind === 'decided' && result.decision.currentPrice > prices.get(id)!) prices.set(id, result.decision.currentPrice);
        if (result.kind === 'decided' && result.decision.reason === 'OUTBID_BY_PROXY') answered++;
        if (result.kind === 'decided' && result.state !== null) changed++;
        done++;
      }
    }),
  );
  const cpu = process.cpuUsage(cpuBefore);
  latencies.sort((a, b) => a - b);
  const after = await scriptTime();
  const scriptUs = (after.usec - before.usec) / Math.max(after.calls - before.calls, 1);
  // This process's CPU per decision: the engine's client side (building each call, reading each reply) and the loop.
  const clientUs = (cpu.user + cpu.system) / Math.max(done, 1);
  return { scriptUs, clientUs, answered: answered / Math.max(done, 1), changed: changed / Math.max(done, 1), rate: done / SECONDS, p50: latencies[Math.floor(latencies.length * 0.5)]!, p99: latencies[Math.floor(latencies.length * 0.99)]! };
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const pct = (x: number) => `${(x * 100).toFixed(0)}%`;
const rows: string[] = [];
for (const [name, auctions] of [['1 hot auction', 1], ['1,000 auctions', 1_000]] as const) {
  const results = { plain: [], proxy: [], answered: [] } as Record<Mix, Awaited<ReturnType<typeof round>>[]>;
  for (let r = 0; r < ROUNDS; r++) {
    for (const mix of MIXES) {
      const x = await round(auctions, mix);
      results[mix].push(x);
      process.stderr.write(
        `  ${name}, ${mix}: round ${r + 1}/${ROUNDS} ${fmt(x.rate)} decisions/s, ${x.scriptUs.toFixed(1)} µs in Redis and ${x.clientUs.toFixed(1)} µs of client CPU per call, ${pct(x.changed)} changed the auction, ${pct(x.answered)} answered by a maximum\n`,
      );
    }
  }
  for (const mix of MIXES) {
    const m = (q: 'rate' | 'p50' | 'p99' | 'scriptUs' | 'clientUs' | 'changed' | 'answered') => median(results[mix].map((x) => x[q]));
    // Paired with the plain round just before it: the median of the ratios.
    const paired = median(results[mix].map((x, i) => x.rate / results.plain[i]!.rate));
    rows.push(
      `| ${name} | ${mix} | ${fmt(m('rate'))} | ${mix === 'plain' ? '—' : pct(paired)} | ${pct(m('changed'))} / ${pct(m('answered'))} | ${m('p50').toFixed(2)} ms | ${m('p99').toFixed(2)} ms | ${m('scriptUs').toFixed(1)} µs | ${m('clientUs').toFixed(1)} µs |`,
    );
  }
}
console.log(
  '\nEvery bid carries an idempotency key. Medians of the rounds.\n\n| scenario | bids | decisions/s | vs plain (paired rounds) | changed the auction / answered by a maximum | p50 latency | p99 latency | Redis time per place_bid | client CPU per decision |\n|---|---|---:|---:|---:|---:|---:|---:|---:|',
);
for (const row of rows) console.log(row);
admin.disconnect();
await engine.close();
await server.stop();
