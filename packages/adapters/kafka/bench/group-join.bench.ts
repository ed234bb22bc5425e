/**
 * `pnpm bench kafka-join`: how often a second member's join of a consumer group crashes on the librdkafka mock, and
 * how long the join takes, with kafkajs' round robin as it is (`default`) and with the leader's assignment held back
 * (`leader-held`, test/mock-assigner.ts). The mock refuses a follower's SyncGroup that arrives after the leader's; the
 * race shows on a loaded machine, so the bench loads it itself: `--spinners=N` (default 3) CPU-burning node processes,
 * each stopping by itself after the bench's longest possible run and stopped by pid when it ends.
 *
 * Each round: a fresh group, member A joins and is waited for, then member B; B's join time is measured and the
 * consumer crashes reported to `onError` while it joins are counted. The two modes alternate round by round, so load
 * that drifts hurts both alike. `--joins=N` (default 15) rounds per mode. Prints each round, then per mode: joins,
 * joins with a crash, crashes, joins past the bus's 30 s join timeout, median and longest join.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { parseArgs } from 'node:util';
import { startKafkaMock } from '@outbid/test-services';
import type { PartitionAssigner } from 'kafkajs';
import { createKafkaBus } from '../src/index.js';
import { followersSyncFirst } from '../test/mock-assigner.js';

const { values: flags } = parseArgs({ options: { joins: { type: 'string', default: '15' }, spinners: { type: 'string', default: '3' } } });
const JOINS = Number(flags.joins);
const SPINNERS = Number(flags.spinners);
if (!(JOINS >= 1) || !(SPINNERS >= 0)) throw new Error('usage: pnpm bench kafka-join [--joins=N ≥ 1] [--spinners=N ≥ 0]');
/** A round takes ~12 s (joins of 3 s and 9 s), ~40 s after two crashes: each spinner stops by itself after 60 s a join. */
const LONGEST_RUN_MS = JOINS * 2 * 60_000;

const MODES: Array<{ name: string; assigners?: PartitionAssigner[] }> = [{ name: 'default' }, { name: 'leader-held', assigners: [followersSyncFirst] }];
/** `timedOut`: B did not join within the bus's 30 s join timeout (what failed CI). */
type Join = { mode: string; ms: number; crashes: number; timedOut: boolean };

const spinners: ChildProcess[] = [];
const stopSpinners = () => spinners.forEach((s) => s.kill('SIGKILL'));
process.once('exit', stopSpinners);

async function main() {
  const mock = await startKafkaMock({ topics: [{ name: 'outbid.auction-events', partitions: 4 }] });
  for (let i = 0; i < SPINNERS; i++) spawnSpinner();
  console.log(`pnpm bench kafka-join: ${JOINS} second-member joins per mode (${MODES.map((m) => m.name).join(', ')}, alternating), ${SPINNERS} CPU spinners; mock broker ${mock.brokers.join(',')}`);
  const joins: Join[] = [];
  try {
    for (let round = 0; round < JOINS; round++) {
      for (const mode of MODES) joins.push(await secondJoin(mock.brokers, mode, `${round + 1}/${JOINS}`));
    }
  } finally {
    stopSpinners();
    await mock.stop();
  }
  console.log('\n| mode | joins | joins with a crash | crashes | joins past the 30 s timeout | median join ms | longest join ms |\n|---|---:|---:|---:|---:|---:|---:|');
  for (const mode of MODES) {
    const mine = joins.filter((j) => j.mode === mode.name);
    const ms = mine.map((j) => j.ms).sort((a, b) => a - b);
    const crashed = mine.filter((j) => j.crashes > 0).length;
    const crashes = mine.reduce((n, j) => n + j.crashes, 0);
    const timedOut = mine.filter((j) => j.timedOut).length;
    console.log(`| ${mode.name} | ${mine.length} | ${crashed} | ${crashes} | ${timedOut} | ${ms[Math.floor((ms.length - 1) / 2)]!.toFixed(0)} | ${ms.at(-1)!.toFixed(0)} |`);
  }
}

function spawnSpinner() {
  const code = `const end = Date.now() + ${LONGEST_RUN_MS}; while (Date.now() < end) {}`;
  spinners.push(spawn(process.execPath, ['-e', code], { stdio: 'ignore' }));
}

/** A fresh group: A joins, then B; B's join time and the crashes reported while it joins. */
async function secondJoin(brokers: string[], mode: (typeof MODES)[number], label: string): Promise<Join> {
  let crashes = 0;
  // A crash kafkajs does not recover from is reported with partition -1 (the bus then starts a new consumer).
  const bus = await createKafkaBus({ brokers, consumer: { partitionAssigners: mode.assigners }, onError: (_e, at) => void (at.partition === -1 && crashes++) });
  try {
    const group = `bench-join-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 8)}`;
    const a = await bus.subscribe(() => {}, { group });
    crashes = 0;
    const started = performance.now();
    const b = await bus.subscribe(() => {}, { group }).catch(() => null);
    const ms = performance.now() - started;
    const crashed = crashes > 0 ? `, after ${crashes} consumer crash${crashes > 1 ? 'es' : ''}` : '';
    console.log(`round ${label} ${mode.name}: ${b ? `B joined in ${ms.toFixed(0)} ms` : `B did not join within the timeout (${ms.toFixed(0)} ms)`}${crashed}`);
    await Promise.all([a.close(), b?.close()]);
    return { mode: mode.name, ms, crashes, timedOut: b === null };
  } finally {
    await bus.close();
  }
}

await main();
