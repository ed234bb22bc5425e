/**
 * `pnpm bench redis`: bid decisions per second through the Redis Lua engine on a local redis-server it starts,
 * for C concurrent callers on one hot auction and spread over 1,000 auctions. Engine only (no ledger): the cost
 * of the atomic decision itself. Each scenario runs twice, rounds interleaved: plain bids, and a proxy mix where
 * every other bid also carries a maximum (so leaders hold maximums, and rivals' bids are answered by them:
 * OUTBID_BY_PROXY, which writes a new version too). Prints progress and the median of the rounds, side by side.
 */
import { startRedis } from '../../../../tools/test-services/src/index.js';
import { Redis } from 'ioredis';
import { createRedisEngine } from '../src/index.js';
import type { AuctionState } from '@outbid/core';

const ROUNDS = Number(process.env.ROUNDS ?? 5);
const SECONDS = Number(process.env.SECONDS ?? 3);
const CONCURRENCY = Number(process.env.CONCURRENCY ?? 50);

const auction = (id: string, now: number): AuctionState => ({
  id, postId: `p-${id}`, creatorId: 'seller', currency: 'USD', startAt: now - 1_000, endAt: now + 3_600_000, effectiveEndAt: now + 3_600_000,
  startPrice: 100, increment: { type: 'fixed', amount: 1 }, softClose: null, status: 'active', currentPrice: 100, currentWinnerId: null,
  version: 1, bidCount: 0, extensionCount: 0, createdAt: now - 2_000, closedAt: null,
  reservePrice: null, buyNowPrice: null, buyNowPolicy: null, leaderMax: null,
});

type Mix = 'plain' | 'proxy';

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
  for (const id of ids) await engine.hydrate(auction(id, now));
  const prices = new Map(ids.map((id) => [id, 100]));
  const latencies: number[] = [];
  const before = await scriptTime();
  let done = 0;
  let answered = 0;
  const until = Date.now() + SECONDS * 1_000;
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async (_, worker) => {
      for (let i = 0; Date.now() < until; i++) {
        const id = ids[(worker + i) % ids.length]!;
        const amount = prices.get(id)! + 1 + (i % 3);
        prices.set(id, amount);
        // Proxy mix: every other bid also names a maximum a little above its amount.
        const maxAmount = mix === 'proxy' && i % 2 === 0 ? amount + 20 : null;
        const fingerprint = maxAmount === null ? `{"amount":${amount}}` : `{"amount":${amount},"maxAmount":${maxAmount}}`;
        const started = performance.now();
        const result = await engine.placeBid({ auctionId: id, bidderId: `w${worker}-${i % 2}`, amount, maxAmount, bidId: `${worker}-${i}`, idempotencyKey: `${worker}-${i}`, fingerprint });
        latencies.push(performance.now() - started);
        // Follow the price (a maximum's answer moves it past what this caller bid).
        if (result.kind === 'decided' && result.decision.currentPrice > prices.get(id)!) prices.set(id, result.decision.currentPrice);
        if (result.kind === 'decided' && result.decision.reason === 'OUTBID_BY_PROXY') answered++;
        done++;
      }
    }),
  );
  latencies.sort((a, b) => a - b);
  const after = await scriptTime();
  const scriptUs = (after.usec - before.usec) / Math.max(after.calls - before.calls, 1);
  return { scriptUs, answered: answered / Math.max(done, 1), rate: done / SECONDS, p50: latencies[Math.floor(latencies.length * 0.5)]!, p99: latencies[Math.floor(latencies.length * 0.99)]! };
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const rows: string[] = [];
for (const [name, auctions] of [['1 hot auction', 1], ['1,000 auctions', 1_000]] as const) {
  const results: Record<Mix, Awaited<ReturnType<typeof round>>[]> = { plain: [], proxy: [] };
  for (let r = 0; r < ROUNDS; r++) {
    for (const mix of ['plain', 'proxy'] as const) {
      results[mix].push(await round(auctions, mix));
      process.stderr.write(`  ${name}, ${mix}: round ${r + 1}/${ROUNDS} ${fmt(results[mix].at(-1)!.rate)} decisions/s, ${results[mix].at(-1)!.scriptUs.toFixed(1)} µs in Redis per call, ${(results[mix].at(-1)!.answered * 100).toFixed(0)}% answered by a maximum\n`);
    }
  }
  const rate = (mix: Mix) => median(results[mix].map((x) => x.rate));
  const p = (mix: Mix, q: 'p50' | 'p99' | 'scriptUs') => median(results[mix].map((x) => x[q])).toFixed(q === 'scriptUs' ? 1 : 2);
  // Rounds are interleaved (plain, proxy, plain, …): the median of each pair's ratio shrugs off a machine whose load drifts.
  const paired = median(results.proxy.map((x, i) => x.rate / results.plain[i]!.rate));
  rows.push(
    `| ${name}, idempotency key on every bid | ${fmt(rate('plain'))} | ${fmt(rate('proxy'))} | ${(paired * 100).toFixed(0)}% | ${p('plain', 'p50')} / ${p('proxy', 'p50')} ms | ${p('plain', 'p99')} / ${p('proxy', 'p99')} ms | ${p('plain', 'scriptUs')} / ${p('proxy', 'scriptUs')} µs |`,
  );
}
console.log(
  '\n| scenario | plain decisions/s | proxy mix decisions/s | proxy / plain (median of paired rounds) | p50 plain / proxy | p99 plain / proxy | Redis time per place_bid plain / proxy |\n|---|---:|---:|---:|---:|---:|---:|',
);
for (const row of rows) console.log(row);
admin.disconnect();
await engine.close();
await server.stop();
