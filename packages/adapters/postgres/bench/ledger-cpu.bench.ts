/**
 * `pnpm bench ledger-cpu`: what the ledger's batch write costs the Postgres server per bid, in CPU and WAL, on a
 * Postgres server it starts (fsync on). Two writers keep one batch in flight each, as the service's group commit
 * does; a batch is B accepted keyed bids on B different auctions (of A), as over many auctions in `pnpm bench bids`.
 * The Postgres processes' CPU (postmaster, backends, WAL writer, checkpointer: /proc) is read around each run; the
 * machine is quieter here than in the whole bid path, so a few percent resolve. Schemas, each in a database of its
 * own, their runs alternated round by round:
 * - `ledger`: the ledger and its schema as shipped;
 * - `no-foreign-key`, `no-audit-index`, `no-idempotency-index`, `primary-key-only`: the same ledger on the schema
 *   with that part dropped. UNSAFE, upper bounds only: each part guards something (see migrations.ts);
 * - `floor`: no ledger: per batch one `INSERT … SELECT * FROM unnest(…)` of (auction, bidder, amount, accepted, key)
 *   into a table with a bigserial key, as the `floor-batched` setup of `pnpm bench bids` writes: the least a durable,
 *   batched record of the bids costs.
 *
 *   pnpm bench ledger-cpu [--schemas=ledger,no-foreign-key,…,floor] [--auctions=1000] [--batch=14] [--batches=500] [--rounds=5]
 *
 * Prints progress, then per schema the median of the rounds (and each round) of Postgres CPU, wall time and WAL per bid.
 */
import { parseArgs } from 'node:util';
import pg from 'pg';
import type { AuctionState, Ledger, LedgerChange } from '@outbid/core';
import { acceptedChange, auctionFixture } from '@outbid/core/testing';
import { postgresCpuMeter, startPostgres } from '../../../../tools/test-services/src/index.js';
import { FLOOR_INSERT_BATCH, FLOOR_TABLE } from '../../../../tests/integration/bench/floor-sql.js';
import { pgDb } from '../src/db.js';
import { createSqlLedger } from '../src/ledger.js';
import { migrate } from '../src/migrations.js';

/** What each schema drops from the shipped one (after the migrations), or for `floor` the table it writes. */
const SCHEMAS: Record<string, string[]> = {
  ledger: [],
  'no-foreign-key': ['ALTER TABLE outbid_bids DROP CONSTRAINT outbid_bids_auction_id_fkey'],
  'no-audit-index': ['DROP INDEX outbid_bids_audit'],
  'no-idempotency-index': ['DROP INDEX outbid_bids_idempotency'],
  'primary-key-only': [
    'ALTER TABLE outbid_bids DROP CONSTRAINT outbid_bids_auction_id_fkey',
    'DROP INDEX outbid_bids_audit',
    'DROP INDEX outbid_bids_idempotency',
    'DROP INDEX outbid_bids_one_per_version',
  ],
  floor: [FLOOR_TABLE],
};

const { values } = parseArgs({
  options: {
    schemas: { type: 'string', default: Object.keys(SCHEMAS).join(',') },
    auctions: { type: 'string', default: '1000' },
    batch: { type: 'string', default: '14' },
    batches: { type: 'string', default: '500' },
    rounds: { type: 'string', default: '5' },
  },
});
const NAMES = values.schemas.split(',');
const AUCTIONS = Number(values.auctions);
const BATCH = Number(values.batch);
const BATCHES = Number(values.batches);
const ROUNDS = Number(values.rounds);
for (const name of NAMES) if (!SCHEMAS[name]) throw new Error(`unknown schema ${name}: one of ${Object.keys(SCHEMAS).join(', ')}`);
if (![AUCTIONS, BATCH, BATCHES, ROUNDS].every((n) => Number.isSafeInteger(n) && n > 0) || BATCH * 2 > AUCTIONS) {
  throw new Error('--auctions, --batch, --batches and --rounds are positive integers, with at least two batches of auctions');
}
const log = (line: string) => process.stderr.write(`[${new Date().toISOString().slice(11, 19)}] ${line}\n`);

interface Subject {
  name: string;
  pool: pg.Pool;
  /** Writes the changes as one batch (the ledger's applyChanges, or the floor's INSERT). */
  write(changes: LedgerChange[]): Promise<void>;
  states: AuctionState[];
}

async function prepare(server: Awaited<ReturnType<typeof startPostgres>>, name: string, index: number): Promise<Subject> {
  const url = await server.createDatabase(`ledger_cpu_${index}`);
  const pool = new pg.Pool({ connectionString: url, max: 4 });
  await migrate(pgDb(pool, false));
  for (const statement of SCHEMAS[name]!) await pool.query(statement);
  const ledger: Ledger = createSqlLedger(pgDb(pool, false), 'postgres');
  const states: AuctionState[] = [];
  const now = Date.now();
  for (let i = 0; i < AUCTIONS; i += 8) {
    const created = Array.from({ length: Math.min(8, AUCTIONS - i) }, () => auctionFixture(now, { endAt: now + 86_400_000 }));
    await Promise.all(created.map((state) => ledger.createAuction(state, [])));
    states.push(...created);
  }
  const write =
    name === 'floor'
      ? async (changes: LedgerChange[]) => {
          // Every change here is an accepted bid (acceptedChange), so each has its bid record.
          const bids = changes.map((c) => c.bid!);
          await pool.query(FLOOR_INSERT_BATCH, [
            bids.map((b) => b.auctionId),
            bids.map((b) => b.bidderId),
            bids.map((b) => b.amount),
            bids.map(() => true),
            bids.map((b) => b.idempotencyKey),
          ]);
        }
      : async (changes: LedgerChange[]) => {
          const results = await ledger.applyChanges!(changes);
          const failed = results.find((r) => !r.ok);
          if (failed) throw new Error(`a batch write failed: ${JSON.stringify(failed)}`);
        };
  log(`  ${name}: ${AUCTIONS.toLocaleString('en-US')} auctions created`);
  return { name, pool, write, states };
}

let bidders = 0;
/** `batches` batches from two writers, each batch on auctions no batch in flight holds. */
async function run(subject: Subject, batches: number): Promise<void> {
  const busy = new Set<number>();
  let left = batches;
  const writer = async () => {
    while (left-- > 0) {
      const slots: number[] = [];
      while (slots.length < BATCH) {
        const slot = Math.floor(Math.random() * AUCTIONS);
        if (!busy.has(slot)) {
          busy.add(slot);
          slots.push(slot);
        }
      }
      // A new bidder each time: a leader never outbids itself.
      const changes = slots.map((slot) => {
        const change = acceptedChange(subject.states[slot]!, `bidder-${bidders++}`, subject.states[slot]!.currentPrice + 100, Date.now());
        return { ...change, events: [] };
      });
      await subject.write(changes);
      slots.forEach((slot, i) => {
        subject.states[slot] = changes[i]!.state;
        busy.delete(slot);
      });
    }
  };
  await Promise.all([writer(), writer()]);
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const walLsn = async (pool: pg.Pool) => BigInt((await pool.query<{ lsn: string }>("SELECT (pg_current_wal_lsn() - '0/0')::text AS lsn")).rows[0]!.lsn);

const server = await startPostgres();
const subjects: Subject[] = [];
try {
  log(`pnpm bench ledger-cpu: ${NAMES.join(', ')}; ${AUCTIONS} auctions, batches of ${BATCH} bids, 2 in flight, ${BATCHES} batches per schema and round, ${ROUNDS} rounds, node ${process.version}`);
  for (const [i, name] of NAMES.entries()) subjects.push(await prepare(server, name, i));
  const { rows } = await subjects[0]!.pool.query<{ pid: number }>('SELECT pg_backend_pid() AS pid');
  const postgresCpuMs = postgresCpuMeter(rows[0]!.pid);
  log('warming up (plans, caches): 100 batches per schema');
  for (const subject of subjects) await run(subject, 100);
  const results = new Map<string, { cpu: number[]; wall: number[]; wal: number[] }>();
  const bids = BATCHES * BATCH;
  for (let round = 0; round < ROUNDS; round++) {
    // Alternate the order, so no schema always runs right after the same one.
    for (const subject of round % 2 === 0 ? subjects : [...subjects].reverse()) {
      const [cpu0, wal0, started] = [postgresCpuMs(), await walLsn(subject.pool), performance.now()];
      await run(subject, BATCHES);
      const wallUs = ((performance.now() - started) * 1_000) / bids;
      const cpuUs = ((postgresCpuMs() - cpu0) * 1_000) / bids;
      const walBytes = Number((await walLsn(subject.pool)) - wal0) / bids;
      const entry = results.get(subject.name) ?? { cpu: [], wall: [], wal: [] };
      entry.cpu.push(cpuUs);
      entry.wall.push(wallUs);
      entry.wal.push(walBytes);
      results.set(subject.name, entry);
      log(`  round ${round + 1}/${ROUNDS} ${subject.name}: Postgres CPU ${cpuUs.toFixed(1)} µs per bid, wall ${wallUs.toFixed(1)} µs, WAL ${walBytes.toFixed(0)} B`);
    }
  }
  const base = results.get(NAMES[0]!)!;
  console.log(`\nMedians of ${ROUNDS} rounds of ${BATCHES} batches of ${BATCH} bids ("rounds": each round's Postgres CPU); ratios against ${NAMES[0]}.\n`);
  console.log(`| schema | Postgres CPU µs per bid | rounds | against ${NAMES[0]} | wall µs per bid | WAL B per bid |\n|---|---:|---|---:|---:|---:|`);
  for (const name of NAMES) {
    const r = results.get(name)!;
    console.log(
      `| ${name} | ${median(r.cpu).toFixed(1)} | ${r.cpu.map((x) => x.toFixed(0)).join(' ')} | ${(median(r.cpu) / median(base.cpu)).toFixed(2)}× | ${median(r.wall).toFixed(1)} | ${median(r.wal).toFixed(0)} |`,
    );
  }
} finally {
  await Promise.all(subjects.map((s) => s.pool.end().catch(() => undefined)));
  await server.stop();
}
