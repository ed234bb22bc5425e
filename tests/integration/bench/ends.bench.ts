/**
 * `pnpm bench ends`: 2,000 auctions ending within the same second on a local redis-server and Postgres (fsync on)
 * that it starts, ended by the Redis delay queue. Lateness = effective end → `AuctionEnded` received from the bus.
 * Two setups side by side, alternating round by round so both see the same machine:
 *   - "one by one": every end its own ledger transaction, jobs claimed only once due, 32 at a time
 *   - "default": ends written in batches (Ledger.applyChanges), jobs claimed ahead and started on local timers
 * ROUNDS (default 3) rounds each; COUNT (default 2,000) auctions per round.
 */
import { startPostgres, startRedis } from '@outbid/test-services';
import { Redis } from 'ioredis';
import { createOutbid, type Ledger } from '@outbid/core';
import { createPostgresLedger } from '@outbid/postgres';
import { createRedisEngine, createRedisScheduler } from '@outbid/redis';
import { createEndingWithinOneSecond, percentile } from '../test/burst.js';

const ROUNDS = Number(process.env.ROUNDS ?? 3);
const COUNT = Number(process.env.COUNT ?? 2_000);
const LEAD_MS = 8_000;

const setups = {
  'one by one': { scheduler: { concurrency: 32, claimAheadMs: 0 }, batchedLedger: false },
  default: { scheduler: {}, batchedLedger: true },
} as const;

const [redisServer, pgServer] = await Promise.all([startRedis(), startPostgres()]);
console.log(`${COUNT} auctions ending within one second, ${ROUNDS} rounds per setup, node ${process.version}`);

async function round(name: keyof typeof setups, n: number) {
  const setup = setups[name];
  const database = await pgServer.createDatabase(`bench_ends_${n}_${name.replace(/\W/g, '_')}`);
  let ledger: Ledger = await createPostgresLedger({ connectionString: database });
  if (!setup.batchedLedger) {
    const { applyChanges: _hidden, ...oneByOne } = ledger;
    ledger = oneByOne as Ledger;
  }
  const outbid = createOutbid({
    engine: await createRedisEngine({ redis: new Redis(redisServer.url), quitOnClose: true }),
    ledger,
    scheduler: await createRedisScheduler({ redis: new Redis(redisServer.url), prefix: `bench${n}${name.length}`, ...setup.scheduler }),
    guardIntervalMs: 0,
  });
  const endedAt = new Map<string, number>();
  outbid.subscribe((e) => {
    if (e.type === 'AuctionEnded' && !endedAt.has(e.auctionId)) endedAt.set(e.auctionId, Date.now());
  });
  const firstEnd = Date.now() + LEAD_MS;
  const auctions = await createEndingWithinOneSecond(outbid, COUNT, firstEnd, `r${n}`);
  if (Date.now() > firstEnd - 1_000) throw new Error('creating the auctions took too long for this lead time; lower COUNT');
  for (let waited = 0; endedAt.size < COUNT && waited < 60_000; waited += 50) await new Promise((r) => setTimeout(r, 50));
  await outbid.close();
  if (endedAt.size < COUNT) throw new Error(`only ${endedAt.size} of ${COUNT} auctions ended within a minute`);
  const lateness = auctions.map((a) => endedAt.get(a.id)! - a.endAt);
  return { median: percentile(lateness, 50), p99: percentile(lateness, 99), max: Math.max(...lateness) };
}

const results: Record<string, Array<{ median: number; p99: number; max: number }>> = { 'one by one': [], default: [] };
for (let n = 1; n <= ROUNDS; n++) {
  for (const name of Object.keys(setups) as Array<keyof typeof setups>) {
    const r = await round(name, n);
    results[name]!.push(r);
    console.log(`  round ${n}/${ROUNDS} ${name.padEnd(10)}: median ${r.median} ms, p99 ${r.p99} ms, max ${r.max} ms`);
  }
}
const med = (xs: number[]) => percentile(xs, 50);
console.log('\n| setup | median lateness | p99 | max |\n|---|---:|---:|---:|');
for (const [name, rs] of Object.entries(results)) {
  console.log(`| ${name} | ${med(rs.map((r) => r.median))} ms | ${med(rs.map((r) => r.p99))} ms | ${med(rs.map((r) => r.max))} ms |`);
}
const ratio = med(results['one by one']!.map((r) => r.p99)) / med(results.default!.map((r) => r.p99));
console.log(`\nmedians over rounds; p99 ratio one by one / default: ${ratio.toFixed(1)}×`);
await Promise.all([redisServer.stop(), pgServer.stop()]);
process.exit(0);
