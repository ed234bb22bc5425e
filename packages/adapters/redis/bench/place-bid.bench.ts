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
 *
 * `pnpm bench redis --instructions`: instead, the instructions redis-server executes per place_bid, counted by
 * valgrind's callgrind (redis-server runs under it, AOF on as in `pnpm bench bids`): a count, not a time, repeatable
 * to about half a percent however loaded the machine is (Redis's timers still run), so a change to the scripts can be
 * judged on a shared machine where times are noise. Each mix, on
 * one hot auction and over 100 auctions, and a fourth, `refused` (every bid under the minimum, as most bids on a
 * contested hot auction are): 300 decisions to warm up, then the counters are zeroed, INSTRUCTIONS_N decisions
 * (default 2,000) from 16 callers, and the counters dumped. Each twice: through the engine as it runs (bids on one
 * auction that arrive together share a `place_bids` call) and through one with `maxBidsPerCall: 1` (each bid its own
 * `place_bid` call). With CALLGRIND_KEEP=1 the dumps are kept and listed (the scenario, mix and way of each), for
 * `callgrind_annotate --inclusive=no --threshold=100 FILE`: which of redis-server's functions the instructions went
 * to (Debian's redis-server keeps the names of its exported functions only).
 */
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, redisCommand, requireBinary, startRedis, waitFor } from '../../../../tools/test-services/src/index.js';
import { Redis } from 'ioredis';
import { createRedisEngine } from '../src/index.js';
import { scriptCalls } from '../test/script-calls.js';
import { bidFingerprint, type AuctionState, type PlaceBidCommand } from '@outbid/core';

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

/**
 * Caller `worker`'s `i`-th bid on auction `id` (`key`: its bid id and idempotency key), from the price it last saw
 * (`prices`, which it updates); `refused` bids under the start price.
 */
const nextBid = (mix: Mix | 'refused', id: string, prices: Map<string, number>, worker: number, i: number, key: string): PlaceBidCommand => {
  // At least 2 above the last: one over an automatic answer (which lands 1 above the bid it answers).
  const amount = mix === 'refused' ? 50 : prices.get(id)! + 2 + (i % 3);
  prices.set(id, amount);
  const maxAmount = mix === 'proxy' && i % 2 === 0 ? amount + 20 : null;
  return { auctionId: id, bidderId: `w${worker}-${i % 2}`, amount, maxAmount, bidId: key, idempotencyKey: key, fingerprint: bidFingerprint({ amount, maxAmount }) };
};

const fmt = (n: number) => Math.round(n).toLocaleString('en-US');
const pct = (x: number) => `${(x * 100).toFixed(0)}%`;

if (process.argv.includes('--instructions')) {
  await countInstructions();
  process.exit(0);
}

const server = await startRedis();
const engine = await createRedisEngine({ redis: new Redis(server.url), quitOnClose: true });
const admin = new Redis(server.url);
/** EVALSHA calls and the µs Redis spent in them so far: the script's own cost, whatever the client's speed. */
async function scriptTime() {
  const line = /cmdstat_evalsha:calls=(\d+),usec=(\d+)/.exec(await admin.info('commandstats'));
  return { calls: Number(line?.[1] ?? 0), usec: Number(line?.[2] ?? 0) };
}
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
        const command = nextBid(mix, id, prices, worker, i, `${worker}-${i}`);
        const started = performance.now();
        const result = await engine.placeBid(command);
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

/** --instructions: redis-server under callgrind; instructions per place_bid for each mix (see the header). */
async function countInstructions() {
  const valgrind = requireBinary('valgrind', 'valgrind');
  const redisServer = requireBinary('redis-server', 'redis-server');
  const calls = Number(process.env.INSTRUCTIONS_N ?? 2_000);
  const dir = mkdtempSync(join(tmpdir(), 'outbid-callgrind-'));
  const port = await freePort();
  const child = spawn(
    valgrind,
    ['--tool=callgrind', `--callgrind-out-file=${join(dir, 'callgrind.out')}`, redisServer, '--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'yes', '--appendfsync', 'everysec', '--dir', dir, '--maxmemory-policy', 'noeviction'],
    { stdio: 'ignore' },
  );
  /** What each dump holds, in dump order (callgrind.out.1 first). */
  const dumped: string[] = [];
  const control = (command: '-z' | '-d') => execFileSync('callgrind_control', [command, String(child.pid)], { stdio: 'ignore' });
  try {
    await waitFor(async () => (await redisCommand(port, 'PING')) === '+PONG', 'redis-server under callgrind', 120_000);
    const client = () => new Redis(`redis://127.0.0.1:${port}`, { enableAutoPipelining: true });
    // The engine as it runs (bids that arrive together share a call) and one that sends every bid on its own.
    const engines = { together: await createRedisEngine({ redis: client(), quitOnClose: true }), alone: await createRedisEngine({ redis: client(), quitOnClose: true, maxBidsPerCall: 1 }) };
    console.log(`Instructions redis-server executes per decision (callgrind), ${calls.toLocaleString('en-US')} decisions per mix and way from 16 callers, AOF everysec; redis-server ${execFileSync(redisServer, ['--version'], { encoding: 'utf8' }).split(' ')[2]}`);
    const admin = client();
    const rows: string[] = [];
    for (const [name, auctions] of [['1 hot auction', 1], ['100 auctions', 100]] as const) {
      // 'refused': every bid under the minimum (BID_TOO_LOW), as most bids on a contested hot auction are.
      for (const mix of [...MIXES, 'refused'] as const) {
        const perWay: Record<string, { perCall: number; changed: number; bidsPerCall: number }> = {};
        for (const [way, engine] of Object.entries(engines)) {
          const now = await engine.now();
          const ids = Array.from({ length: auctions }, (_, i) => `instr-${way}-${mix}-${auctions}-${i}`);
          for (const id of ids) await engine.hydrate(auction(id, now, mix === 'refused' ? 'plain' : mix));
          const prices = new Map(ids.map((id) => [id, 100]));
          let next = 0;
          let changed = 0;
          const decide = async (n: number) => {
            let left = n;
            await Promise.all(
              Array.from({ length: 16 }, async (_, worker) => {
                while (left-- > 0) {
                  const i = next++;
                  const id = ids[i % ids.length]!;
                  const result = await engine.placeBid(nextBid(mix, id, prices, worker, i, `${way}-${mix}-${auctions}-${i}`));
                  if (result.kind !== 'decided') throw new Error(`unexpected ${result.kind}`);
                  if (result.decision.currentPrice > prices.get(id)!) prices.set(id, result.decision.currentPrice);
                  if (result.state !== null) changed++;
                }
              }),
            );
          };
          await decide(300);
          control('-z');
          changed = 0;
          const before = await scriptCalls(admin);
          await decide(calls);
          const scripts = (await scriptCalls(admin)) - before;
          control('-d');
          const dumps = dumped.push(`${name}, ${mix}, ${way}`);
          const dump = readdirSync(dir).find((f) => f === `callgrind.out.${dumps}`);
          const totals = dump ? /^(?:totals|summary): (\d+)/m.exec(readFileSync(join(dir, dump), 'utf8'))?.[1] : undefined;
          if (!totals) throw new Error(`no callgrind dump ${dumps} in ${dir}`);
          perWay[way] = { perCall: Number(totals) / calls, changed: changed / calls, bidsPerCall: calls / scripts };
          process.stderr.write(`  ${name}, ${mix}, ${way}: ${fmt(perWay[way]!.perCall)} instructions per decision, ${perWay[way]!.bidsPerCall.toFixed(1)} bids per script call, ${pct(changed / calls)} changed the auction\n`);
        }
        const { together, alone } = perWay as Record<'together' | 'alone', { perCall: number; changed: number; bidsPerCall: number }>;
        rows.push(`| ${name} | ${mix} | ${fmt(alone.perCall)} | ${fmt(together.perCall)} (${together.bidsPerCall.toFixed(1)} per call) | ${(together.perCall / alone.perCall).toFixed(3)} | ${pct(together.changed)} |`);
      }
    }
    console.log('\n| scenario | bids | instructions per decision, each bid its own call | bids that arrive together share a call | together / alone | changed the auction |\n|---|---|---:|---:|---:|---:|');
    for (const row of rows) console.log(row);
    for (const engine of Object.values(engines)) await engine.close();
    admin.disconnect();
  } finally {
    child.kill('SIGTERM');
    await new Promise((resolve) => child.once('exit', resolve));
    if (process.env.CALLGRIND_KEEP === '1') {
      console.log(`\ncallgrind dumps kept in ${dir}; read one with callgrind_annotate --inclusive=no --threshold=100 FILE:`);
      dumped.forEach((what, i) => console.log(`  ${join(dir, `callgrind.out.${i + 1}`)}: ${what}`));
    } else rmSync(dir, { recursive: true, force: true });
  }
}
