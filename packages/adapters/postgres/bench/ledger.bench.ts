/**
 * `pnpm bench ledger`: the Postgres ledger's batch write on a table of many auctions and many bids, on a local
 * Postgres server it starts (fsync on), or with `--pglite` on PGlite in a temporary directory. Two ways a batch is
 * written, timed per batch of B auctions, one keyed bid on each, and a third way that times a refused bid's record:
 * - known: the ledger wrote the auctions' last states itself, so the batch is one statement (the usual case of one
 *   instance);
 * - locked: another ledger (another instance) moved each auction first, so the batch locks and reads the rows, looks
 *   up the held keys and then writes: the way after a restart, with several instances, or on a held key;
 * - audit (Postgres server only): one refused bid recorded (recordAudit), timed, while the timed ledger writes bids of
 *   the same auction one after another, as a hot auction's refusals are recorded while its accepted bids commit.
 * With `--baseline=DIR` (a checkout of another commit, `pnpm install`ed), that checkout's ledger runs too, on a
 * database of its own filled alike, its rounds alternated with this one's; ratios are of medians from the one run.
 *
 *   pnpm bench ledger [--auctions=10000] [--bids=100000] [--batch=10] [--batches=200] [--rounds=3] [--baseline=DIR] [--pglite]
 *
 * Prints progress, then per code and way the median of the rounds' median and p99 times.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import { parseArgs } from 'node:util';
import pg from 'pg';
import type { AuctionState, BidRecord, Ledger, LedgerChange } from '@outbid/core';
import { acceptedChange, auctionFixture } from '@outbid/core/testing';
import { startPostgres } from '../../../../tools/test-services/src/index.js';
import { pgDb, pgliteDb } from '../src/db.js';
import { createSqlLedger as createCurrentLedger } from '../src/ledger.js';
import { migrate } from '../src/migrations.js';

const { values } = parseArgs({
  options: {
    auctions: { type: 'string', default: '10000' },
    bids: { type: 'string', default: '100000' },
    batch: { type: 'string', default: '10' },
    batches: { type: 'string', default: '200' },
    rounds: { type: 'string', default: '3' },
    baseline: { type: 'string' },
    pglite: { type: 'boolean', default: false },
  },
});
/** PGlite instead of the Postgres server: one instance in a temporary directory per code, both ledgers on it. */
const PGLITE = values.pglite === true;
const AUCTIONS = Number(values.auctions);
const BIDS = Number(values.bids);
const BATCH = Number(values.batch);
const BATCHES = Number(values.batches);
const ROUNDS = Number(values.rounds);
const NOW = Date.UTC(2030, 0, 1);
const log = (line: string) => process.stderr.write(`${line}\n`);
const fmt = (n: number) => Math.round(n).toLocaleString('en-US');

type CreateLedger = typeof createCurrentLedger;
const codes: Array<{ name: string; createLedger: CreateLedger }> = [{ name: 'this checkout', createLedger: createCurrentLedger }];
if (values.baseline) {
  const dir = resolve(values.baseline);
  const baseline = (await import(join(dir, 'packages/adapters/postgres/src/ledger.ts'))) as { createSqlLedger: CreateLedger };
  codes.push({ name: `baseline (${dir})`, createLedger: baseline.createSqlLedger });
}

const server = PGLITE ? null : await startPostgres();
const pools: pg.Pool[] = [];
const pglites: PGlite[] = [];
const tempDir = mkdtempSync(join(tmpdir(), 'outbid-ledger-bench-'));
interface Subject {
  name: string;
  /** The ledger that is timed, and another instance's ledger on the same database. */
  mine: Ledger;
  theirs: Ledger;
  /** Each auction's state as last written, by either ledger. */
  states: AuctionState[];
}

/** A keyed bid of `bidderId` on `state` refused as too low: a record for `recordAudit`. */
const refusedBid = (state: AuctionState, bidderId: string): BidRecord => ({
  ...acceptedChange(state, bidderId, 900, NOW).bid,
  status: 'rejected',
  reason: 'BID_TOO_LOW',
  version: null,
});

/** A database of AUCTIONS auctions and BIDS refused keyed bids spread over them, as a long-running server holds. */
async function fill(name: string, database: string, createLedger: CreateLedger): Promise<Subject> {
  let mine: Ledger;
  let theirs: Ledger;
  let analyze: () => Promise<unknown>;
  if (server) {
    const url = await server.createDatabase(database);
    const [a, b] = [new pg.Pool({ connectionString: url, max: 4 }), new pg.Pool({ connectionString: url, max: 4 })];
    pools.push(a, b);
    await migrate(pgDb(a, false));
    mine = createLedger(pgDb(a, false), 'postgres');
    theirs = createLedger(pgDb(b, false), 'postgres');
    analyze = () => a.query('ANALYZE');
  } else {
    const instance = new PGlite(join(tempDir, database));
    pglites.push(instance);
    await migrate(pgliteDb(instance, false));
    mine = createLedger(pgliteDb(instance, false), 'pglite');
    theirs = createLedger(pgliteDb(instance, false), 'pglite');
    analyze = () => instance.query('ANALYZE');
  }
  const states: AuctionState[] = [];
  for (let i = 0; i < AUCTIONS; i += 8) {
    const created = Array.from({ length: Math.min(8, AUCTIONS - i) }, () => auctionFixture(NOW, { endAt: NOW + 86_400_000 }));
    // The other instance created them: the timed ledger knows none of them yet.
    await Promise.all(created.map((state) => theirs.createAuction(state, [])));
    states.push(...created);
    if (states.length % 2_000 < 8) log(`  ${name}: ${fmt(states.length)} of ${fmt(AUCTIONS)} auctions`);
  }
  for (let i = 0; i < BIDS; i += 1_000) {
    const refused = Array.from({ length: Math.min(1_000, BIDS - i) }, (_, j): BidRecord => {
      const state = states[(i + j) % states.length]!;
      return refusedBid(state, `r${i + j}`);
    });
    await theirs.recordAudit(refused);
    if ((i + 1_000) % 20_000 === 0) log(`  ${name}: ${fmt(i + 1_000)} of ${fmt(BIDS)} bids`);
  }
  await analyze();
  return { name, mine, theirs, states };
}

const pick = (subject: Subject) => {
  const at = Math.floor(Math.random() * (subject.states.length - BATCH));
  return Array.from({ length: BATCH }, (_, i) => at + i);
};

/** BATCHES batches the given way; the batch times in ms. */
async function run(subject: Subject, way: 'known' | 'locked'): Promise<number[]> {
  const times: number[] = [];
  for (let n = 0; n < BATCHES; n++) {
    const slots = pick(subject);
    if (way === 'locked') {
      for (const slot of slots) {
        const moved = acceptedChange(subject.states[slot]!, 'other', subject.states[slot]!.currentPrice + 100, NOW);
        const result = await subject.theirs.applyChange(moved);
        if (!result.ok) throw new Error(`the other instance's write failed: ${JSON.stringify(result)}`);
        subject.states[slot] = moved.state;
      }
    } else {
      // The timed ledger's own write first, untimed: afterwards it knows each row as written.
      const own = slots.map((slot) => acceptedChange(subject.states[slot]!, 'warm', subject.states[slot]!.currentPrice + 100, NOW));
      const results = await subject.mine.applyChanges!(own);
      slots.forEach((slot, i) => {
        if (!results[i]!.ok) throw new Error(`a warm-up write failed: ${JSON.stringify(results[i])}`);
        subject.states[slot] = own[i]!.state;
      });
    }
    const changes: LedgerChange[] = slots.map((slot) => acceptedChange(subject.states[slot]!, 'timed', subject.states[slot]!.currentPrice + 100, NOW));
    const started = performance.now();
    const results = await subject.mine.applyChanges!(changes);
    times.push(performance.now() - started);
    results.forEach((result, i) => {
      if (!result.ok) throw new Error(`a timed write failed: ${JSON.stringify(result)}`);
      subject.states[slots[i]!] = changes[i]!.state;
    });
  }
  return times.sort((x, y) => x - y);
}

/**
 * BATCHES refused bids of one auction recorded one after another by the other ledger, while the timed ledger writes
 * accepted bids of that auction back to back; the recording times in ms.
 */
async function runAudit(subject: Subject): Promise<number[]> {
  const slot = pick(subject)[0]!;
  let writing = true;
  let failure: unknown = null;
  const writer = (async () => {
    // Two bidders taking turns: a leader never outbids itself.
    for (let n = 0; writing; n++) {
      const change = acceptedChange(subject.states[slot]!, `hot-${n % 2}`, subject.states[slot]!.currentPrice + 100, NOW);
      const [result] = await subject.mine.applyChanges!([change]);
      if (!result!.ok) throw new Error(`a bid write failed: ${JSON.stringify(result)}`);
      subject.states[slot] = change.state;
    }
  })().catch((error: unknown) => {
    // Kept until the timed loop ends, so the bench still stops the Postgres server it started.
    failure = error;
    writing = false;
  });
  const times: number[] = [];
  try {
    for (let n = 0; n < BATCHES && writing; n++) {
      const refused = refusedBid(subject.states[slot]!, `audit-${n}`);
      const started = performance.now();
      await subject.theirs.recordAudit([refused]);
      times.push(performance.now() - started);
    }
  } finally {
    writing = false;
    await writer;
  }
  if (failure) throw failure;
  return times.sort((x, y) => x - y);
}

const median = (xs: number[]) => [...xs].sort((x, y) => x - y)[Math.floor(xs.length / 2)]!;
const quantile = (sorted: number[], q: number) => sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * q))]!;

try {
  log(`${PGLITE ? 'PGlite' : 'Postgres'} ledger batch write: ${fmt(AUCTIONS)} auctions, ${fmt(BIDS)} bids, batches of ${BATCH} auctions, ${BATCHES} batches per way and round, ${ROUNDS} rounds, node ${process.version}`);
  const subjects: Subject[] = [];
  for (const [i, code] of codes.entries()) subjects.push(await fill(code.name, `ledger_bench_${i}`, code.createLedger));
  const results = new Map<string, { p50: number[]; p99: number[] }>();
  const ways = PGLITE ? (['known', 'locked'] as const) : (['known', 'locked', 'audit'] as const);
  for (let r = 0; r < ROUNDS; r++) {
    for (const way of ways) {
      for (const subject of subjects) {
        const times = way === 'audit' ? await runAudit(subject) : await run(subject, way);
        const key = `${subject.name}\u0000${way}`;
        const entry = results.get(key) ?? { p50: [], p99: [] };
        entry.p50.push(quantile(times, 0.5));
        entry.p99.push(quantile(times, 0.99));
        results.set(key, entry);
        log(`  round ${r + 1}/${ROUNDS}, ${way}, ${subject.name}: p50 ${quantile(times, 0.5).toFixed(2)} ms, p99 ${quantile(times, 0.99).toFixed(2)} ms`);
      }
    }
  }
  console.log(`\n${fmt(AUCTIONS)} auctions, ${fmt(BIDS)} bids; known and locked: one batch of ${BATCH} auctions, one keyed bid each${PGLITE ? '' : '; audit: one refused bid recorded while bids of its auction are written'}. Medians of ${ROUNDS} rounds.\n`);
  console.log(`| code | way | p50 | p99 |${codes.length > 1 ? ' p50 vs baseline |' : ''}\n|---|---|---:|---:|${codes.length > 1 ? '---:|' : ''}`);
  for (const way of ways) {
    const base = codes.length > 1 ? median(results.get(`${subjects[1]!.name}\u0000${way}`)!.p50) : NaN;
    for (const subject of subjects) {
      const entry = results.get(`${subject.name}\u0000${way}`)!;
      const ratio = codes.length > 1 ? ` ${(median(entry.p50) / base).toFixed(2)}× |` : '';
      console.log(`| ${subject.name} | ${way} | ${median(entry.p50).toFixed(2)} ms | ${median(entry.p99).toFixed(2)} ms |${ratio}`);
    }
  }
} finally {
  await Promise.all(pools.map((pool) => pool.end()));
  await Promise.all(pglites.map((instance) => instance.close()));
  await server?.stop();
  rmSync(tempDir, { recursive: true, force: true });
}
