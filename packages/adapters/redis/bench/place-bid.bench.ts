/**
 * `pnpm bench redis`: bid decisions per second through the Redis Lua engine on a local redis-server it starts,
 * for C concurrent callers on one hot auction and spread over 1,000 auctions. Engine only (no ledger): the cost
 * of the atomic decision itself. Prints progress and the median of the rounds.
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
});

const server = await startRedis();
const engine = await createRedisEngine({ redis: new Redis(server.url), quitOnClose: true });
const fmt = (n: number) => Math.round(n).toLocaleString('en-US');
console.log(`Redis Lua engine, ${CONCURRENCY} concurrent callers, ${ROUNDS} rounds of ${SECONDS} s, node ${process.version}`);

async function round(auctions: number) {
  const now = await engine.now();
  const ids = Array.from({ length: auctions }, () => `bench-${Math.random().toString(36).slice(2)}`);
  for (const id of ids) await engine.hydrate(auction(id, now));
  const prices = new Map(ids.map((id) => [id, 100]));
  const latencies: number[] = [];
  let done = 0;
  const until = Date.now() + SECONDS * 1_000;
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async (_, worker) => {
      for (let i = 0; Date.now() < until; i++) {
        const id = ids[(worker + i) % ids.length]!;
        const amount = prices.get(id)! + 1 + (i % 3);
        prices.set(id, amount);
        const started = performance.now();
        await engine.placeBid({ auctionId: id, bidderId: `w${worker}-${i % 2}`, amount, bidId: `${worker}-${i}`, idempotencyKey: `${worker}-${i}`, fingerprint: `{"amount":${amount}}` });
        latencies.push(performance.now() - started);
        done++;
      }
    }),
  );
  latencies.sort((a, b) => a - b);
  return { rate: done / SECONDS, p50: latencies[Math.floor(latencies.length * 0.5)]!, p99: latencies[Math.floor(latencies.length * 0.99)]! };
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const rows: string[] = [];
for (const [name, auctions] of [['1 hot auction', 1], ['1,000 auctions', 1_000]] as const) {
  const results = [];
  for (let r = 0; r < ROUNDS; r++) {
    results.push(await round(auctions));
    process.stderr.write(`  ${name}: round ${r + 1}/${ROUNDS} ${fmt(results.at(-1)!.rate)} decisions/s\n`);
  }
  rows.push(`| ${name}, idempotency key on every bid | ${fmt(median(results.map((x) => x.rate)))} | ${median(results.map((x) => x.p50)).toFixed(2)} ms | ${median(results.map((x) => x.p99)).toFixed(2)} ms |`);
}
console.log('\n| scenario | median decisions/s | p50 latency | p99 latency |\n|---|---:|---:|---:|');
for (const row of rows) console.log(row);
await engine.close();
await server.stop();
