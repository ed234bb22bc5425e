/**
 * `pnpm bench bids`: the bid path over HTTP, Outbid against the obvious alternative, in one run.
 *
 * Starts its own redis-server (AOF, appendfsync everysec) and Postgres (fsync on), then five setups, each a child
 * process behind the same HTTP stack (Hono on @hono/node-server), so the load generator never shares their event
 * loop:
 *   bare      a Hono route that parses the JSON and answers 201: the HTTP ceiling          (bids-peer.ts)
 *   peer      Hono + pg pool of 20, per bid SELECT … FOR UPDATE, INSERT, UPDATE, COMMIT   (bids-peer.ts)
 *   redis+pg  the Outbid server with REDIS_URL + DATABASE_URL
 *   pg        the Outbid server with DATABASE_URL only
 *   embedded  the Outbid server's default: memory engine + PGlite in a temporary OUTBID_DATA_DIR
 *   embedded-inline  the same with PGlite on the server's event loop (OUTBID_PGLITE_THREAD=false); not run unless named
 *   floor     per bid one Redis script call (raise the price if above it) and one durable Postgres INSERT, then the
 *             answer: the least a server deciding in Redis and recording in Postgres does; not run unless named
 *             (bids-peer.ts)
 *   floor-batched  the same decision and record, batched as Outbid batches: script calls auto-pipelined, the INSERTs
 *             group-committed (two writes in flight at most), each answer after its batch's commit; not run unless
 *             named (bids-peer.ts)
 *   floor-contract  floor-batched plus the least each of the contract's guarantees needs: the Idempotency-Key's first
 *             answer kept (Redis and the ledger), the end judged by Redis TIME with soft close, gapless versions, the
 *             latest state in the answer, a fence on each auction's row per batch; not run unless named (bids-peer.ts)
 * Outbid servers authenticate with HS256 JWTs (OUTBID_JWT_SECRET) and run with the per-user rate limit lifted.
 *
 * Workloads, interleaved round by round (each round orders the setups anew, so that no setup's window always
 * follows the same setup's: see round-order.ts):
 *   hot     closed loop, 64 keep-alive connections (undici Pool), one auction; each client bids the last price it
 *           saw + 1..3 increments (increment 1) with a unique Idempotency-Key
 *   spread  the same over 1,000 auctions created through the API; the price known for an auction is the last one
 *           any client saw for it (as a bidder watching the live price would know it)
 *   open    open loop at a fixed offered rate (1,000 bids/s) on the hot auction; latency from the intended send
 *           time, so a stalled server is not hidden (no coordinated omission)
 * Decisions = 201 + 409 answers. Latencies in HDR histograms. Per setup and workload also: Postgres transactions
 * per decision (pg_stat_database xact_commit + xact_rollback of the setup's own database, including what it did
 * after the window until its next window, e.g. a relay catching up), Redis commands per decision (INFO
 * commandstats), and the server process's CPU per decision.
 *
 * Flags: --duration=S (10) --warmup=S (1, unrecorded, before every window) --prewarm=S (3, each setup once before round 1) --rounds=N (3) --connections=N (64) --auctions=N (1000) --rate=N (1000)
 *        --setups=bare,peer,redis+pg,pg,embedded[,embedded-inline,floor,floor-batched,floor-contract] --workloads=hot,spread,open --out=FILE (.bench-results/bids.json)
 *        --isolate=yes|no (yes): while a setup is measured the other setups' servers are paused (SIGSTOP, then SIGCONT),
 *        so their background work (scheduler and relay polls, idle-time garbage collection) stays out of its window;
 *        Redis and Postgres, shared by all, keep running
 *        --pin: each server under test on the last core alone, and this process (the generator) with Redis and
 *        Postgres on the other cores (taskset), so a server waits for a core only for its own threads and the kernel's;
 *        the closest two cores come to a server with a machine of its own
 *        --profile: instead, run one server under `node --cpu-prof` (redis+pg, or the first of --setups when they are
 *        named) on the spread workload (or the first of --workloads) and summarise the profile (see
 *        cpuprofile-summary.ts).
 *        --phases: Outbid's servers send `Server-Timing` (OUTBID_SERVER_TIMING=true) and each window splits every
 *        answer's latency into the wait for the engine, the wait for the ledger, the rest of the service call, and
 *        what was outside it (HTTP in and out, the middleware, the server's event loop getting round to the request,
 *        the generator reading the answer), and again for the refused answers alone; a base from before Server-Timing
 *        reports no phases.
 *        --built=SETUPS: these Outbid setups (of redis+pg, pg, embedded, embedded-inline, base; `all` for every one)
 *        run from their tsup build, `node packages/server/dist/main.js` as the `outbid-server` command runs it, instead
 *        of tsx on the sources as `pnpm start` runs it; the bench builds the packages of each checkout concerned first
 *        (`pnpm -r --filter ./packages/** build`). With --profile, a built server's profile is summarised by package.
 *        --fresh-wal: skip giving Postgres its WAL segments ahead (see prepareWalSegments): by default, before
 *        round 1, the fresh cluster gets the recycled segments a server in service has, so no commit in a window
 *        waits for a new 16 MB segment to be created.
 *        --baseline=DIR: adds the setup `base`, the redis+pg server of another checkout (DIR, installed with pnpm
 *        install), on its own database and Redis database, to measure a change against the code before it side by
 *        side in one run (e.g. `git worktree add /tmp/base HEAD~1`, then --setups=peer,redis+pg,base). The report then
 *        also gives redis+pg / base round by round; a baseline of the same code (an A/A run) shows the machine's noise.
 * Outbid's servers run with the node flags of the server's start script (OUTBID_NODE_FLAGS); the peer and the bare route
 * with Node's defaults.
 * Environment: BENCH_SERVER_LOGS=DIR keeps every server's output; BENCH_NODE_FLAGS (e.g. --trace-gc) go to each server;
 * BENCH_BASE_NODE_FLAGS go to `base` only, after the others (a node flag measured against the same code without it).
 * At the end, issue 14's targets, each comparison judged on the median of its rounds' own ratios (bids-targets.ts).
 * Also per window: CPU per decision of the server, of all Postgres processes, of redis-server and of the generator;
 * Postgres WAL per decision; any Postgres checkpoint begun or ending in it; and the latency of accepted and of
 * refused answers apart (only an accepted bid waits for its ledger commit). And what else loaded the machine in
 * the window, when anything did: the checkpointer's writes, autovacuum workers, Redis's AOF rewrites, the
 * hypervisor's steal, stalls of 20 ms or more in the load generator's own event loop (a stalled generator sends and
 * reads late, so its stall is in every latency of that stretch); and the disks' writes and cache flushes (each
 * durable commit waits for a flush: their mean time is a durable answer's floor). And how long the server's main
 * thread waited for a core (run-queue.ts): a server kept off a core answers late whatever its code.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { appendFileSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { build as buildHistogram, type Histogram } from 'hdr-histogram-js';
import { Redis } from 'ioredis';
import pg from 'pg';
import { Pool } from 'undici';
import { issueDevToken } from '@outbid/server';
import { cpuMsOf, postgresCpuMeter, startPostgres, startRedis } from '@outbid/test-services';
import { issue14Targets, median, targetsTable, type TargetSummary } from './bids-targets.js';
import { summariseProfile } from './cpuprofile-summary.js';
import { readSchedstat, runQueueFigures, type SchedSample } from './run-queue.js';
import { roundOrder } from './round-order.js';

const ROOT = resolve(import.meta.dirname, '../../..');
const PEER = join(import.meta.dirname, 'bids-peer.ts');
const SECRET = 'bench-bids-secret-of-at-least-32-characters';
/**
 * The node flags the server's own start script (packages/server/package.json) runs it with, read from that script so
 * the two cannot drift: today a young generation of up to 2 × 32 MB instead of 2 × 16 MB, so a burst's short-lived
 * objects die before a scavenge finds them (half the scavenges; measured in BENCHMARKS.md, "A larger young
 * generation"). `--conditions` is left out: every Outbid server here gets it anyway.
 */
const OUTBID_NODE_FLAGS = ((): string[] => {
  const start = (JSON.parse(readFileSync(join(ROOT, 'packages/server/package.json'), 'utf8')) as { scripts?: { start?: string } }).scripts?.start ?? '';
  const [runner, ...args] = start.trim().split(/\s+/);
  if (runner !== 'tsx') throw new Error(`packages/server's start script no longer runs tsx ("${start}"): update how the bench reads its node flags`);
  return args.filter((a) => a.startsWith('--') && !a.startsWith('--conditions'));
})();
const ALL_SETUPS = ['bare', 'peer', 'redis+pg', 'pg', 'embedded', 'embedded-inline', 'base', 'floor', 'floor-batched', 'floor-contract'] as const;
const ALL_WORKLOADS = ['hot', 'spread', 'open'] as const;
type SetupName = (typeof ALL_SETUPS)[number];
/** Setups run only when --setups names them. */
const NAMED_ONLY: ReadonlySet<SetupName> = new Set(['base', 'embedded-inline', 'floor', 'floor-batched', 'floor-contract']);
/** The floors (bids-peer.ts), each with its Redis database: their keys apart from Outbid's and from each other's. */
const FLOOR_REDIS_DB: Partial<Record<SetupName, number>> = { floor: 2, 'floor-batched': 3, 'floor-contract': 4 };
type Workload = (typeof ALL_WORKLOADS)[number];
const LABELS: Record<SetupName, string> = {
  bare: 'bare Hono route: parse JSON, answer 201 (HTTP ceiling)',
  peer: 'peer: Hono + pg pool 20, SELECT … FOR UPDATE / INSERT / UPDATE / COMMIT',
  'redis+pg': 'Outbid, REDIS_URL + DATABASE_URL',
  pg: 'Outbid, DATABASE_URL only',
  embedded: 'Outbid, embedded default (memory engine + PGlite)',
  'embedded-inline': 'Outbid, embedded, PGlite on the event loop (OUTBID_PGLITE_THREAD=false)',
  base: 'Outbid, REDIS_URL + DATABASE_URL, from --baseline',
  floor: 'floor: Hono + per bid one Redis script call and one durable Postgres INSERT',
  'floor-batched': 'floor, batched: the same, script calls auto-pipelined and the INSERTs group-committed',
  'floor-contract': "floor-batched plus the least the contract's guarantees need (idempotency, TIME, versions, fence)",
};

/** --setups when not given: every setup but those run only when named. */
const DEFAULT_SETUPS = ALL_SETUPS.filter((s) => !NAMED_ONLY.has(s)).join(',');

const { values: flags } = parseArgs({
  options: {
    duration: { type: 'string', default: '10' },
    warmup: { type: 'string', default: '1' },
    prewarm: { type: 'string', default: '3' },
    rounds: { type: 'string', default: '3' },
    connections: { type: 'string', default: '64' },
    auctions: { type: 'string', default: '1000' },
    rate: { type: 'string', default: '1000' },
    setups: { type: 'string', default: DEFAULT_SETUPS },
    workloads: { type: 'string', default: ALL_WORKLOADS.join(',') },
    out: { type: 'string', default: join(ROOT, '.bench-results/bids.json') },
    profile: { type: 'boolean', default: false },
    phases: { type: 'boolean', default: false },
    isolate: { type: 'string', default: 'yes' },
    baseline: { type: 'string' },
    pin: { type: 'boolean', default: false },
    built: { type: 'string', default: '' },
    'fresh-wal': { type: 'boolean', default: false },
  },
});
const DURATION_MS = Number(flags.duration) * 1_000;
const WARMUP_MS = Number(flags.warmup) * 1_000;
const PREWARM_MS = Number(flags.prewarm) * 1_000;
const ROUNDS = Number(flags.rounds);
const CONNECTIONS = Number(flags.connections);
const AUCTIONS = Number(flags.auctions);
/** Pause (SIGSTOP) the other setups' servers while one is measured, so their pollers and idle GC stay out of its window. */
const ISOLATE = flags.isolate !== 'no';
const RATE = Number(flags.rate);
/** --pin: every server under test on the last core, and this process with Redis and Postgres on the others. */
const PIN = flags.pin === true;
/** The machine's cores, read before --pin narrows this process to some of them. */
const CORES = availableParallelism();
const SERVER_CORE = CORES - 1;
/** Outbid's servers send Server-Timing on bid answers, and each window splits its latency by phase (see PHASES). */
const WITH_PHASES = flags.phases === true;
const SETUPS = flags.setups!.split(',').map((s) => s.trim()) as SetupName[];
/** Another checkout whose redis+pg server runs as the setup `base`. */
const BASELINE = flags.baseline ? resolve(flags.baseline) : null;
if (SETUPS.includes('base') !== (BASELINE !== null)) throw new Error('the setup base and --baseline=DIR go together');
if (BASELINE) LABELS.base = `Outbid, REDIS_URL + DATABASE_URL, from ${BASELINE}`;
const WORKLOADS = flags.workloads!.split(',').map((s) => s.trim()) as Workload[];
for (const s of SETUPS) if (!ALL_SETUPS.includes(s)) throw new Error(`unknown setup ${s}; choose from ${ALL_SETUPS.join(', ')}`);
for (const w of WORKLOADS) if (!ALL_WORKLOADS.includes(w)) throw new Error(`unknown workload ${w}; choose from ${ALL_WORKLOADS.join(', ')}`);
/** --profile's server and workload: the first named, else redis+pg on the spread workload. */
const PROFILED: SetupName = flags.setups === DEFAULT_SETUPS ? 'redis+pg' : SETUPS[0]!;
const PROFILED_WORKLOAD: Workload = flags.workloads === ALL_WORKLOADS.join(',') ? 'spread' : WORKLOADS[0]!;
/** The Outbid setups, every one but the bare route, the peer and the floors: those --built may run from their build, not from the sources under tsx. */
const OUTBID_SETUPS: readonly SetupName[] = ALL_SETUPS.filter((s) => s !== 'bare' && s !== 'peer' && FLOOR_REDIS_DB[s] === undefined);
const BUILT: ReadonlySet<SetupName> = new Set(flags.built === 'all' ? OUTBID_SETUPS : (flags.built!.split(',').map((s) => s.trim()).filter(Boolean) as SetupName[]));
for (const s of BUILT) if (!OUTBID_SETUPS.includes(s)) throw new Error(`--built names Outbid setups (${OUTBID_SETUPS.join(', ')}) or all, not ${s}`);
if (flags.profile && PROFILED === 'base') throw new Error('--profile runs a setup of this checkout; base is not one');
if (![DURATION_MS, WARMUP_MS, ROUNDS, CONNECTIONS, AUCTIONS, RATE].every((n) => Number.isFinite(n) && n >= 0) || ROUNDS < 1 || DURATION_MS <= 0) {
  throw new Error('--duration, --rounds, --connections, --auctions and --rate must be positive numbers');
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const fmt = (n: number, digits = 0) => (Number.isFinite(n) ? n.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits }) : '–');
const log = (line: string) => console.log(`[${new Date().toISOString().slice(11, 19)}] ${line}`);

// ---------------------------------------------------------------------------------------------------------------
// Services and servers

interface Server {
  name: SetupName;
  url: string;
  child: ChildProcess;
  /** Its own Postgres database (pg_stat_database row), if it uses the Postgres server. */
  database: string | null;
  usesRedis: boolean;
  /** What the server reported it runs on. */
  runsOn: string;
}

const children: ChildProcess[] = [];
const tempDirs: string[] = [];

function outbidEnv(extra: Record<string, string>): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (v === undefined || k.startsWith('OUTBID_') || ['REDIS_URL', 'DATABASE_URL', 'KAFKA_BROKERS', 'PORT', 'HOST', 'NODE_OPTIONS'].includes(k)) continue;
    env[k] = v;
  }
  return {
    ...env,
    PORT: '0',
    HOST: '127.0.0.1',
    OUTBID_JWT_SECRET: SECRET,
    OUTBID_BID_RATE_PER_SECOND: '1000000',
    OUTBID_BID_BURST: '1000000',
    OUTBID_CREATE_RATE_PER_MINUTE: '100000000',
    ...(WITH_PHASES ? { OUTBID_SERVER_TIMING: 'true' } : {}),
    ...extra,
  };
}

/** Spawns a node child and resolves once `ready(line)` returns a value for one of its stdout lines. */
function spawnServer<T>(args: string[], env: Record<string, string>, ready: (line: string) => T | undefined, what: string, cwd = ROOT): Promise<{ child: ChildProcess; info: T }> {
  // --pin: the server under test on the last core alone (taskset execs node, so the pid stays the server's).
  const [command, commandArgs] = PIN ? ['taskset', ['--cpu-list', String(SERVER_CORE), process.execPath, ...args]] : [process.execPath, args];
  const child = spawn(command, commandArgs, { env, cwd, stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(child);
  let tail = '';
  // BENCH_SERVER_LOGS=DIR keeps every server's output (pino JSON) in DIR/<what>.log, to see why a request failed.
  const logFile = process.env.BENCH_SERVER_LOGS ? join(process.env.BENCH_SERVER_LOGS, `${what.replace(/[^\w.+-]/g, '_')}.log`) : null;
  if (logFile) mkdirSync(dirname(logFile), { recursive: true });
  const keep = (d: Buffer) => {
    tail = (tail + d.toString()).slice(-4_000);
    if (logFile) appendFileSync(logFile, d);
  };
  child.stderr!.on('data', keep);
  return new Promise((resolveReady, reject) => {
    let buffered = '';
    let done = false;
    const timer = setTimeout(() => {
      if (!done) reject(new Error(`${what} did not start within 60 s: ${tail}`));
    }, 60_000);
    child.stdout!.on('data', (d: Buffer) => {
      keep(d);
      if (done) return; // keep draining the pipe, nothing more to parse
      buffered += d.toString();
      const lines = buffered.split('\n');
      buffered = lines.pop()!;
      for (const line of lines) {
        const info = ready(line);
        if (info !== undefined) {
          done = true;
          clearTimeout(timer);
          resolveReady({ child, info });
          return;
        }
      }
    });
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      if (!done) reject(new Error(`${what} exited (${code ?? signal}) before listening: ${tail}`));
      else if (!stopping) console.error(`!! ${what} exited (${code ?? signal}) during the run: ${tail}`);
    });
  });
}

let stopping = false;

async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  child.kill('SIGTERM'); // by pid: ChildProcess.kill signals exactly this process
  const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
  await exited;
  clearTimeout(timer);
}

async function startSetup(name: SetupName, services: { redisUrl: string; pgCreate: (db: string) => Promise<string> }, nodeFlags: string[] = []): Promise<Server> {
  const listening = (line: string) => {
    try {
      const o = JSON.parse(line) as { msg?: string; url?: string; engine?: string; ledger?: string; listening?: number };
      if (o.listening) return { url: `http://127.0.0.1:${o.listening}`, runsOn: 'hono' };
      if (o.msg === 'Outbid server listening' && o.url) return { url: o.url, runsOn: `engine ${o.engine}, ledger ${o.ledger}` };
    } catch {
      /* not a JSON line */
    }
    return undefined;
  };
  // Outbid's servers run as `pnpm start` runs them (the server's start script: OUTBID_NODE_FLAGS), the peer and the
  // bare route with Node's defaults.
  // Built (--built): the command as published (the `outbid-server` bin), the packages resolved to their dist.
  const outbidArgsFor = (checkout: string, extraFlags: string[] = []) => [
    ...OUTBID_NODE_FLAGS,
    ...nodeFlags,
    ...extraFlags,
    ...(BUILT.has(name) ? [join(checkout, 'packages/server/dist/main.js')] : ['--import', 'tsx', '--conditions=@outbid/source', join(checkout, 'packages/server/src/main.ts')]),
  ];
  const outbidArgs = outbidArgsFor(ROOT);
  let database: string | null = null;
  let started: { child: ChildProcess; info: { url: string; runsOn: string } };
  const floorRedisDb = FLOOR_REDIS_DB[name];
  const isFloor = floorRedisDb !== undefined;
  if (name === 'bare' || name === 'peer' || isFloor) {
    const env = outbidEnv({ BENCH_MODE: name });
    if (name !== 'bare') {
      database = `bench_${name}`;
      env.DATABASE_URL = await services.pgCreate(database);
    }
    if (isFloor) env.REDIS_URL = `${services.redisUrl}/${floorRedisDb}`;
    started = await spawnServer([...nodeFlags, '--import', 'tsx', PEER], env, listening, name);
  } else if (name === 'redis+pg') {
    database = 'bench_outbid_redis_pg';
    started = await spawnServer(outbidArgs, outbidEnv({ REDIS_URL: services.redisUrl, DATABASE_URL: await services.pgCreate(database) }), listening, name);
  } else if (name === 'base') {
    database = 'bench_outbid_base';
    // Redis database 1: its keys and scheduler queues apart from the redis+pg setup's.
    const env = outbidEnv({ REDIS_URL: `${services.redisUrl}/1`, DATABASE_URL: await services.pgCreate(database) });
    // BENCH_BASE_NODE_FLAGS go to this server only, after the others (a later flag wins): a node flag measured side by
    // side against the same code without it.
    const baseFlags = (process.env.BENCH_BASE_NODE_FLAGS ?? '').split(' ').filter(Boolean);
    started = await spawnServer(outbidArgsFor(BASELINE!, baseFlags), env, listening, name, BASELINE!);
  } else if (name === 'pg') {
    database = 'bench_outbid_pg';
    started = await spawnServer(outbidArgs, outbidEnv({ DATABASE_URL: await services.pgCreate(database) }), listening, name);
  } else {
    const dataDir = mkdtempSync(join(tmpdir(), 'outbid-bench-embedded-'));
    tempDirs.push(dataDir);
    const env = outbidEnv({ OUTBID_DATA_DIR: dataDir, ...(name === 'embedded-inline' ? { OUTBID_PGLITE_THREAD: 'false' } : {}) });
    started = await spawnServer(outbidArgs, env, listening, name);
  }
  return { name, url: started.info.url, child: started.child, database, usesRedis: name === 'redis+pg' || name === 'base' || isFloor, runsOn: `${started.info.runsOn}${BUILT.has(name) ? ', from its build' : ''}` };
}

// ---------------------------------------------------------------------------------------------------------------
// Counters: Postgres transactions, Redis commands, server CPU

interface Counters {
  pgTx: number;
  redisCalls: number;
  redisEvalsha: number;
  /** ZRANGEBYSCORE runs only in the Redis scheduler's claim script, twice per poll of a shard. */
  redisZrangebyscore: number;
  cpuMs: number;
}

/**
 * Busy, stolen and total jiffies of all cores (/proc/stat), to show how much else ran on the machine. Steal is time
 * the hypervisor gave this VM's cores to another guest: counted as busy (the cores were not ours to use), and shown
 * apart so a noisy neighbour can be told from a slower setup.
 */
function machineJiffies(): { busy: number; steal: number; total: number } {
  const fields = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).slice(1).map(Number);
  const total = fields.reduce((a, b) => a + b, 0);
  const idle = (fields[3] ?? 0) + (fields[4] ?? 0); // idle + iowait
  return { busy: total - idle, steal: fields[7] ?? 0, total };
}

/**
 * Writes and cache flushes of the machine's disks (/sys/block/<disk>/stat; loop, RAM and zram devices left out). A
 * flush is what an fsync asks of the disk: every durable commit (a Postgres COMMIT, or Redis's AOF once a
 * second) waits for one, so their mean time is the floor of a durable answer's latency in that window.
 */
function diskStats(): { sectorsWritten: number; flushes: number; flushMs: number } {
  const sum = { sectorsWritten: 0, flushes: 0, flushMs: 0 };
  let devices: string[] = [];
  try {
    devices = readdirSync('/sys/block').filter((d) => !/^(loop|ram|zram)/.test(d));
  } catch {
    return { sectorsWritten: NaN, flushes: NaN, flushMs: NaN }; // not Linux, or no sysfs
  }
  for (const device of devices) {
    const f = readFileSync(`/sys/block/${device}/stat`, 'utf8').trim().split(/\s+/).map(Number);
    sum.sectorsWritten += f[6] ?? 0;
    sum.flushes += f[15] ?? 0; // kernels before 5.5 have no flush fields: 0
    sum.flushMs += f[16] ?? 0;
  }
  return sum;
}

/**
 * CPU of the shared services and of the generator, for the cost breakdown. Postgres: the postmaster with the
 * children it has reaped, plus every live child (backends, WAL writer, checkpointer, autovacuum). Redis: its one
 * process. Generator: this process. With --isolate only the measured setup uses Postgres and Redis in its window,
 * but Postgres's background processes (checkpoints, autovacuum) also work off what earlier windows wrote.
 */
interface CpuSources {
  postgresCpuMs(): number;
  redisCpuMs(): number;
}
let cpuSources: CpuSources = { postgresCpuMs: () => NaN, redisCpuMs: () => NaN };

/**
 * WAL written and checkpoints taken by the Postgres server (all databases): a checkpoint's flush makes every commit
 * wait longer, so a slow window can be told from a slow setup. Postgres 15 keeps the counts in pg_stat_bgwriter.
 */
interface WalAndCheckpoints {
  walBytes: number;
  /** Checkpoints begun. */
  checkpoints: number;
  /** Time checkpoints spent in their final fsync phase (counted when a checkpoint ends). */
  checkpointSyncMs: number;
  /**
   * Buffers the checkpointer wrote. A checkpoint spreads its writes over most of checkpoint_timeout (5 min), so
   * one begun in an earlier window may still be writing, and its I/O beside every commit's WAL fsync, in this one.
   */
  checkpointBuffers: number;
}
let walAndCheckpoints: () => Promise<WalAndCheckpoints> = async () => ({ walBytes: NaN, checkpoints: NaN, checkpointSyncMs: NaN, checkpointBuffers: NaN });
const readWalAndCheckpoints = (monitor: pg.Client) => async (): Promise<WalAndCheckpoints> => {
  const { rows } = await monitor.query<{ wal: string; checkpoints: string; sync: string; buffers: string }>(
    `SELECT pg_wal_lsn_diff(pg_current_wal_lsn(), '0/0')::text AS wal, (checkpoints_timed + checkpoints_req)::text AS checkpoints,
            checkpoint_sync_time::text AS sync, buffers_checkpoint::text AS buffers FROM pg_stat_bgwriter`,
  );
  const r = rows[0]!;
  return { walBytes: Number(r.wal), checkpoints: Number(r.checkpoints), checkpointSyncMs: Number(r.sync), checkpointBuffers: Number(r.buffers) };
};
/** WAL segments made before round 1 (16 MB each; Postgres's max_wal_size, 1 GB, is 64 of them). */
const WAL_SEGMENTS_AHEAD = 64;
/**
 * Gives the fresh cluster the WAL segments a Postgres in service has: returns the number ready beyond the current one.
 * A checkpoint renames the segments it no longer needs to future names, so a server in service opens an existing file
 * when a segment fills. A fresh cluster has none: until its first checkpoints end, the backend whose commit fills a
 * segment creates the next inside that commit (16 MB of zeros, then a sync) and every commit waits for it. On this
 * machine that stalled every connection for 15–20 ms at each of the five to eight segments a 1,000-auction window of
 * Outbid fills, and made most of its p99 (BENCHMARKS.md, "WAL segments a Postgres in service has").
 * So: fill and switch that many segments, then CHECKPOINT, which recycles them.
 */
async function prepareWalSegments(monitor: pg.Client, count: number): Promise<number> {
  await monitor.query('CREATE TABLE bench_wal_filler (n int)');
  // pg_switch_wal() switches only when the segment holds WAL, so each switch follows a write.
  for (let i = 0; i < count; i++) {
    await monitor.query('INSERT INTO bench_wal_filler VALUES ($1)', [i]);
    await monitor.query('SELECT pg_switch_wal()');
  }
  await monitor.query('DROP TABLE bench_wal_filler');
  await monitor.query('CHECKPOINT');
  const { rows } = await monitor.query<{ ready: string }>(
    `SELECT count(*)::text AS ready FROM pg_ls_waldir() WHERE name ~ '^[0-9A-F]{24}$' AND name > pg_walfile_name(pg_current_wal_lsn())`,
  );
  return Number(rows[0]!.ready);
}

/**
 * Redis's forks (each AOF rewrite forks a child, which copies the whole dataset: the fork stalls Redis, and the child
 * takes CPU on this small machine), and whether a rewrite is running. Every decision grows the AOF, so rewrites come
 * during a run (the whole bench at 23:26 had one in two of the three 1,000-auction windows of Redis + Postgres).
 */
interface RedisForks {
  forks: number;
  latestForkMs: number;
  rewriting: boolean;
}
let redisForks: () => Promise<RedisForks> = async () => ({ forks: NaN, latestForkMs: NaN, rewriting: false });
const readRedisForks = (redis: Redis) => async (): Promise<RedisForks> => {
  const info = await redis.info();
  const field = (name: string) => Number(new RegExp(`^${name}:(\\d+)`, 'm').exec(info)?.[1] ?? NaN);
  return { forks: field('total_forks'), latestForkMs: field('latest_fork_usec') / 1_000, rewriting: field('aof_rewrite_in_progress') === 1 };
};

/**
 * Autovacuum workers running now, in any database: they work off the rows earlier windows wrote (every setup's
 * tables are insert-heavy), with I/O and CPU the measured setup then shares.
 */
let autovacuumWorkers: () => Promise<number> = async () => NaN;
const readAutovacuumWorkers = (monitor: pg.Client) => async (): Promise<number> => {
  const { rows } = await monitor.query<{ n: string }>(`SELECT count(*)::text AS n FROM pg_stat_activity WHERE backend_type = 'autovacuum worker'`);
  return Number(rows[0]!.n);
};
const generatorCpuMs = () => {
  const { user, system } = process.cpuUsage();
  return (user + system) / 1_000;
};

async function findCpuSources(monitor: pg.Client, redis: Redis): Promise<CpuSources> {
  const { rows } = await monitor.query<{ pid: number }>('SELECT pg_backend_pid() AS pid');
  const redisPid = Number(/^process_id:(\d+)/m.exec(await redis.info('server'))?.[1]);
  return {
    postgresCpuMs: postgresCpuMeter(rows[0]!.pid),
    redisCpuMs: () => cpuMsOf(redisPid),
  };
}

async function pgTxByDatabase(monitor: pg.Client): Promise<Map<string, number>> {
  const { rows } = await monitor.query<{ datname: string; tx: string }>('SELECT datname, xact_commit + xact_rollback AS tx FROM pg_stat_database WHERE datname IS NOT NULL');
  return new Map(rows.map((r) => [r.datname, Number(r.tx)]));
}

/** Redis INFO commandstats (commands run inside scripts count too, as in Redis 7). */
async function redisCommandStats(redis: Redis): Promise<{ calls: number; evalsha: number; zrangebyscore: number }> {
  const info = await redis.info('commandstats');
  let calls = 0;
  let evalsha = 0;
  let zrangebyscore = 0;
  for (const m of info.matchAll(/^cmdstat_([^:]+):calls=(\d+)/gm)) {
    calls += Number(m[2]);
    if (m[1] === 'evalsha') evalsha += Number(m[2]);
    if (m[1] === 'zrangebyscore') zrangebyscore += Number(m[2]);
  }
  return { calls, evalsha, zrangebyscore };
}

// ---------------------------------------------------------------------------------------------------------------
// Load generation

interface Measurement {
  setup: SetupName;
  workload: Workload;
  round: number;
  seconds: number;
  decisions: number;
  /** Decisions including the warm-up: the denominator of the per-decision counters. */
  decisionsWithWarmup: number;
  accepted: number;
  rejected: number;
  errors: Record<string, number>;
  decisionsPerSecond: number;
  offeredPerSecond?: number;
  p50Ms: number;
  p99Ms: number;
  p999Ms: number;
  maxMs: number;
  /** Mean latency: with the p99, it tells a p99 missed by throughput from one missed by the tail's shape. */
  meanMs: number;
  /** The same split by answer: accepted (201) and refused (409). A hot auction refuses most bids without a ledger write. */
  acceptedP50Ms: number;
  acceptedP99Ms: number;
  refusedP50Ms: number;
  refusedP99Ms: number;
  serverCpuPercent: number;
  serverCpuMsPerDecision: number;
  /** All cores busy during the window, in % of the machine (everything: generator, servers, databases, others). */
  machineBusyPercent: number;
  machineCpuMsPerDecision: number;
  /** CPU per decision in the window of all Postgres processes, of redis-server and of the load generator. */
  postgresCpuMsPerDecision: number;
  redisCpuMsPerDecision: number;
  generatorCpuMsPerDecision: number;
  /** WAL bytes per decision; checkpoints begun, and checkpoint fsync time ended, in the window (warm-up included). */
  walBytesPerDecision: number;
  checkpoints: number;
  checkpointSyncMs: number;
  /** Buffers the checkpointer wrote in the measured window (8 KB each), whichever checkpoint they belong to. */
  checkpointBuffersWritten: number;
  /** Autovacuum workers seen in once-a-second samples of the measured window, summed: about worker-seconds. */
  autovacuumWorkerSeconds: number;
  /** Machine time stolen by the hypervisor in the measured window, in % of all cores' time. */
  stealPercent: number;
  /** Redis forks (AOF rewrites) begun in the window, warm-up included, the last one's stall; a rewrite running at its start or end. */
  redisForks: number;
  redisLatestForkMs: number;
  redisRewriting: boolean;
  /** The disks in the measured window: MB written, cache flushes per second, and their mean time. */
  diskWrittenMb: number;
  diskFlushesPerSecond: number;
  diskFlushMeanMs: number;
  /** 1-minute load average at the end of the window. */
  loadAverage: number;
  /**
   * The load generator's own event-loop delay in the measured window (p99 and max, ms): a stalled generator sends
   * late and reads late, so every latency of that stretch includes the stall, whatever the server did.
   */
  generatorLoopDelayP99Ms: number;
  generatorLoopDelayMaxMs: number;
  /**
   * The server's main thread on the run queue in the measured window (run-queue.ts): ms per second it waited for a
   * core, that wait's share of the time it wanted one (%), and its longest wait within 100 ms. NaN where Linux keeps
   * no such counters. The server cannot answer while it waits, whatever its code.
   */
  serverRunQueueMsPerSecond: number;
  serverRunQueuePercent: number;
  serverRunQueueLongestMs: number;
  /** With --phases, of the answers that carried Server-Timing: p50, p99 and mean (ms) of each phase. */
  phases?: Record<Phase, PhaseFigures>;
  /** The same for the refused (409) answers alone: refusals collect the stalls (see BENCHMARKS.md), so their tail is apart. */
  refusedPhases?: Record<Phase, PhaseFigures>;
  pgTxPerDecision?: number;
  redisCallsPerDecision?: number;
  redisEvalshaPerDecision?: number;
  redisSchedulerPollsPerSecond?: number;
}

/** The histograms' ceiling: 300 s in µs. */
const HISTOGRAM_MAX_US = 300_000_000;
const newHistogram = (): Histogram => buildHistogram({ lowestDiscernibleValue: 1, highestTrackableValue: HISTOGRAM_MAX_US, numberOfSignificantValueDigits: 3 });

interface Target {
  server: Server;
  tokens: string[];
  hotAuction: string;
  spreadAuctions: string[];
}

let keySeq = 0;
const RUN_ID = Date.now().toString(36);

/** One bid; returns the HTTP status and the price the answer reported (or null). */
async function bid(pool: Pool, target: Target, auctionId: string, amount: number, user: number): Promise<{ status: number; price: number | null; timing?: string }> {
  const res = await pool.request({
    path: `/auctions/${auctionId}/bids`,
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      authorization: `Bearer ${target.tokens[user]}`,
      'idempotency-key': `${RUN_ID}-${++keySeq}`,
      'x-bench-bidder': `bidder-${user}`,
    },
    body: JSON.stringify({ amount }),
  });
  if (res.statusCode === 201 || res.statusCode === 409) {
    const body = (await res.body.json()) as { currentPrice?: number };
    const timing = res.headers['server-timing'];
    return { status: res.statusCode, price: typeof body.currentPrice === 'number' ? body.currentPrice : null, ...(typeof timing === 'string' ? { timing } : {}) };
  }
  await res.body.dump();
  return { status: res.statusCode, price: null };
}

const step = () => 1 + Math.floor(Math.random() * 3); // 1..3 increments of 1

/** The parts of an answer's latency with --phases (Server-Timing's engine, ledger and bid, and the rest outside bid). */
const PHASES = ['outside', 'engine', 'ledger', 'service'] as const;
type Phase = (typeof PHASES)[number];
type PhaseFigures = { p50Ms: number; p99Ms: number; meanMs: number };
const SERVER_TIMING = /engine;dur=([\d.]+), ledger;dur=([\d.]+), bid;dur=([\d.]+)/;

interface Tally {
  hist: Histogram;
  /** With --phases: each answer's latency split by phase (µs); `service` is the call's time not spent waiting for the engine or the ledger. */
  phases: Record<Phase, Histogram> | null;
  /** With --phases: the refused (409) answers' latency split by phase (µs). */
  refusedPhases: Record<Phase, Histogram> | null;
  acceptedHist: Histogram;
  refusedHist: Histogram;
  decisions: number;
  all: number;
  accepted: number;
  rejected: number;
  errors: Record<string, number>;
}

function tally(): Tally {
  const phaseHistograms = () => (WITH_PHASES ? (Object.fromEntries(PHASES.map((p) => [p, newHistogram()])) as Record<Phase, Histogram>) : null);
  return { hist: newHistogram(), phases: phaseHistograms(), refusedPhases: phaseHistograms(), acceptedHist: newHistogram(), refusedHist: newHistogram(), decisions: 0, all: 0, accepted: 0, rejected: 0, errors: {} };
}

/** A latency as the histograms take it: whole µs, from 1 to their ceiling. */
const histogramUs = (us: number) => Math.max(1, Math.min(Math.round(us), HISTOGRAM_MAX_US));

function record(t: Tally, status: number | string, latencyUs: number, counted: boolean, timing?: string) {
  const decision = status === 201 || status === 409;
  if (decision) t.all++;
  if (!counted) return;
  if (decision) {
    t.decisions++;
    if (status === 201) t.accepted++;
    else t.rejected++;
    const us = histogramUs(latencyUs);
    t.hist.recordValue(us);
    (status === 201 ? t.acceptedHist : t.refusedHist).recordValue(us);
    const parts = t.phases && timing ? SERVER_TIMING.exec(timing) : null;
    if (parts) {
      const [engine, ledger, call] = [parts[1], parts[2], parts[3]].map((d) => Number(d) * 1_000) as [number, number, number];
      const at = (phase: Phase, value: number) => {
        const phaseUs = histogramUs(value);
        t.phases![phase].recordValue(phaseUs);
        if (status === 409) t.refusedPhases![phase].recordValue(phaseUs);
      };
      at('engine', engine);
      at('ledger', ledger);
      at('service', call - engine - ledger);
      at('outside', us - call);
    }
  } else {
    const key = typeof status === 'number' ? `http ${status}` : status;
    t.errors[key] = (t.errors[key] ?? 0) + 1;
  }
}

const errorName = (e: unknown) => (e as { code?: string }).code ?? (e as Error).name ?? 'error';

async function closedLoop(pool: Pool, target: Target, workload: 'hot' | 'spread', t: Tally, measureFrom: number, end: number) {
  const spreadPrice = new Map<string, number>();
  await Promise.all(
    Array.from({ length: CONNECTIONS }, async (_, user) => {
      let hotPrice = 100;
      while (performance.now() < end) {
        const auctionId = workload === 'hot' ? target.hotAuction : target.spreadAuctions[Math.floor(Math.random() * target.spreadAuctions.length)]!;
        const last = workload === 'hot' ? hotPrice : (spreadPrice.get(auctionId) ?? 100);
        const started = performance.now();
        try {
          const { status, price, timing } = await bid(pool, target, auctionId, last + step(), user);
          const done = performance.now();
          if (price !== null) {
            if (workload === 'hot') hotPrice = price;
            else if (price > (spreadPrice.get(auctionId) ?? 0)) spreadPrice.set(auctionId, price);
          }
          record(t, status, (done - started) * 1_000, started >= measureFrom && done <= end, timing);
        } catch (error) {
          const done = performance.now();
          record(t, errorName(error), 0, started >= measureFrom && done <= end);
          await sleep(10);
        }
      }
    }),
  );
}

async function openLoop(pool: Pool, target: Target, t: Tally, measureFrom: number, end: number): Promise<number> {
  const interval = 1_000 / RATE;
  const maxOutstanding = RATE * 5;
  let outstanding = 0;
  let lastPrice = 100;
  let next = performance.now();
  let offered = 0;
  let user = 0;
  const inFlight = new Set<Promise<void>>();
  const fire = (intended: number) => {
    const counted = intended >= measureFrom;
    if (counted) offered++;
    if (outstanding >= maxOutstanding) {
      record(t, 'dropped: over 5 s of backlog', 0, counted);
      return;
    }
    outstanding++;
    const u = user++ % CONNECTIONS;
    const p = bid(pool, target, target.hotAuction, lastPrice + step(), u).then(
      ({ status, price, timing }) => {
        if (price !== null && price > lastPrice) lastPrice = price;
        record(t, status, (performance.now() - intended) * 1_000, counted, timing);
      },
      (error: unknown) => record(t, errorName(error), 0, counted),
    );
    const tracked = p.finally(() => {
      outstanding--;
      inFlight.delete(tracked);
    });
    inFlight.add(tracked);
  };
  for (;;) {
    const now = performance.now();
    while (next <= now && next < end) {
      fire(next);
      next += interval;
    }
    if (next >= end) break;
    await sleep(Math.max(0, next - performance.now()));
  }
  // Late answers still count (their latency includes the wait); bounded by the pool's timeouts.
  await Promise.race([Promise.allSettled([...inFlight]), sleep(30_000)]);
  return offered;
}

let postSeq = 0;

async function createAuction(pool: Pool, creatorToken: string): Promise<string> {
  const now = Date.now();
  const i = ++postSeq; // a post holds one open auction
  const res = await pool.request({
    path: '/auctions',
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${creatorToken}` },
    body: JSON.stringify({ postId: `bench-${RUN_ID}-${i}`, startAt: new Date(now).toISOString(), endAt: new Date(now + 6 * 3_600_000).toISOString(), startPrice: 100, minIncrement: 1 }),
  });
  const body = (await res.body.json()) as { auctionId?: string };
  if (res.statusCode !== 201 || !body.auctionId) throw new Error(`creating an auction answered ${res.statusCode}: ${JSON.stringify(body)}`);
  return body.auctionId;
}

async function createAuctions(server: Server, creatorToken: string, count: number): Promise<string[]> {
  if (server.name === 'bare') return Array.from({ length: count }, (_, i) => `bare-${i}`); // the bare route keeps no auctions
  const pool = new Pool(server.url, { connections: 16 });
  const ids: string[] = [];
  let next = 0;
  try {
    await Promise.all(
      Array.from({ length: 16 }, async () => {
        while (next++ < count) ids.push(await createAuction(pool, creatorToken)); // claim, then create
      }),
    );
  } finally {
    await pool.close();
  }
  return ids;
}

// ---------------------------------------------------------------------------------------------------------------
// The run

async function measure(target: Target, workload: Workload, round: number): Promise<Measurement> {
  const pool = new Pool(target.server.url, { connections: CONNECTIONS, pipelining: 1, headersTimeout: 30_000, bodyTimeout: 30_000 });
  const t = tally();
  const pid = target.server.child.pid!;
  const start = performance.now();
  const measureFrom = start + WARMUP_MS;
  const end = measureFrom + DURATION_MS;
  let cpuAtFrom = NaN;
  let machineAtFrom = machineJiffies();
  let diskAtFrom = diskStats();
  const servicesCpu = () => ({ postgres: cpuSources.postgresCpuMs(), redis: cpuSources.redisCpuMs(), generator: generatorCpuMs() });
  let servicesAtFrom = servicesCpu();
  const walAtStart = await walAndCheckpoints();
  const forksAtStart = await redisForks();
  let walAtFrom = walAtStart;
  const autovacuumSamples: Promise<number>[] = [];
  let sampler: ReturnType<typeof setInterval> | undefined;
  const loopDelay = monitorEventLoopDelay({ resolution: 5 });
  // The server's main thread's run-queue counters, every 20 ms through the measured window.
  const sched: SchedSample[] = [];
  const sampleSched = () => {
    const s = readSchedstat(pid);
    if (s) sched.push({ atMs: performance.now(), ...s });
  };
  let schedSampler: ReturnType<typeof setInterval> | undefined;
  // The measured window opens after the warm-up.
  const cpuTimer = setTimeout(() => {
    loopDelay.enable();
    sampleSched();
    schedSampler = setInterval(sampleSched, 20);
    cpuAtFrom = cpuMsOf(pid);
    machineAtFrom = machineJiffies();
    diskAtFrom = diskStats();
    servicesAtFrom = servicesCpu();
    void walAndCheckpoints().then((w) => (walAtFrom = w));
    // Autovacuum workers once a second in the window, the first sample a second after it opens.
    sampler = setInterval(() => autovacuumSamples.push(autovacuumWorkers().catch(() => NaN)), 1_000);
  }, WARMUP_MS);
  let offered: number | undefined;
  try {
    if (workload === 'open') offered = await openLoop(pool, target, t, measureFrom, end);
    else await closedLoop(pool, target, workload, t, measureFrom, end);
  } finally {
    loopDelay.disable();
    clearTimeout(cpuTimer);
    clearInterval(sampler);
    clearInterval(schedSampler);
    sampleSched();
    await pool.close();
  }
  const runQueue = runQueueFigures(sched);
  const autovacuumWorkerSeconds = (await Promise.all(autovacuumSamples)).reduce((a, b) => a + b, 0);
  const cpuMs = cpuMsOf(pid) - cpuAtFrom;
  const machine = machineJiffies();
  const disk = diskStats();
  const servicesAtEnd = servicesCpu();
  const walAtEnd = await walAndCheckpoints();
  const forksAtEnd = await redisForks();
  const perDecision = (key: 'postgres' | 'redis' | 'generator') => (servicesAtEnd[key] - servicesAtFrom[key]) / Math.max(1, t.decisions);
  const seconds = DURATION_MS / 1_000;
  const ms = (us: number) => us / 1_000;
  const busyShare = (machine.busy - machineAtFrom.busy) / Math.max(1, machine.total - machineAtFrom.total);
  return {
    setup: target.server.name,
    workload,
    round,
    seconds,
    decisions: t.decisions,
    decisionsWithWarmup: t.all,
    accepted: t.accepted,
    rejected: t.rejected,
    errors: t.errors,
    decisionsPerSecond: t.decisions / seconds,
    ...(offered !== undefined ? { offeredPerSecond: offered / seconds } : {}),
    p50Ms: ms(t.hist.getValueAtPercentile(50)),
    p99Ms: ms(t.hist.getValueAtPercentile(99)),
    p999Ms: ms(t.hist.getValueAtPercentile(99.9)),
    maxMs: ms(t.hist.maxValue),
    meanMs: ms(t.hist.mean),
    // NaN (printed '–') when no answer of that kind came, as with the bare route, which refuses nothing.
    acceptedP50Ms: t.accepted > 0 ? ms(t.acceptedHist.getValueAtPercentile(50)) : NaN,
    acceptedP99Ms: t.accepted > 0 ? ms(t.acceptedHist.getValueAtPercentile(99)) : NaN,
    refusedP50Ms: t.rejected > 0 ? ms(t.refusedHist.getValueAtPercentile(50)) : NaN,
    refusedP99Ms: t.rejected > 0 ? ms(t.refusedHist.getValueAtPercentile(99)) : NaN,
    serverCpuPercent: (cpuMs / (performance.now() - measureFrom)) * 100,
    serverCpuMsPerDecision: cpuMs / Math.max(1, t.decisions),
    machineBusyPercent: busyShare * 100,
    machineCpuMsPerDecision: (busyShare * CORES * seconds * 1_000) / Math.max(1, t.decisions),
    postgresCpuMsPerDecision: perDecision('postgres'),
    redisCpuMsPerDecision: perDecision('redis'),
    generatorCpuMsPerDecision: perDecision('generator'),
    walBytesPerDecision: (walAtEnd.walBytes - walAtFrom.walBytes) / Math.max(1, t.decisions),
    checkpoints: walAtEnd.checkpoints - walAtStart.checkpoints,
    checkpointSyncMs: walAtEnd.checkpointSyncMs - walAtStart.checkpointSyncMs,
    checkpointBuffersWritten: walAtEnd.checkpointBuffers - walAtFrom.checkpointBuffers,
    autovacuumWorkerSeconds,
    stealPercent: ((machine.steal - machineAtFrom.steal) / Math.max(1, machine.total - machineAtFrom.total)) * 100,
    redisForks: forksAtEnd.forks - forksAtStart.forks,
    redisLatestForkMs: forksAtEnd.latestForkMs,
    redisRewriting: forksAtStart.rewriting || forksAtEnd.rewriting,
    diskWrittenMb: ((disk.sectorsWritten - diskAtFrom.sectorsWritten) * 512) / 1_048_576,
    diskFlushesPerSecond: (disk.flushes - diskAtFrom.flushes) / seconds,
    diskFlushMeanMs: disk.flushes > diskAtFrom.flushes ? (disk.flushMs - diskAtFrom.flushMs) / (disk.flushes - diskAtFrom.flushes) : NaN,
    loadAverage: Number(readFileSync('/proc/loadavg', 'utf8').split(' ')[0]),
    // The histogram is in ns; empty (no sample) reads as 0.
    generatorLoopDelayP99Ms: loopDelay.count > 0 ? loopDelay.percentile(99) / 1e6 : 0,
    generatorLoopDelayMaxMs: loopDelay.count > 0 ? loopDelay.max / 1e6 : 0,
    serverRunQueueMsPerSecond: runQueue?.waitMsPerSecond ?? NaN,
    serverRunQueuePercent: runQueue?.waitPercent ?? NaN,
    serverRunQueueLongestMs: runQueue?.longestWaitMs ?? NaN,
    ...(t.phases && t.phases.engine.totalCount > 0 ? { phases: phaseFigures(t.phases) } : {}),
    ...(t.refusedPhases && t.refusedPhases.engine.totalCount > 0 ? { refusedPhases: phaseFigures(t.refusedPhases) } : {}),
  };
}

/** Each phase's p50, p99 and mean, in ms (the histograms hold µs). */
const phaseFigures = (phases: Record<Phase, Histogram>) =>
  Object.fromEntries(
    PHASES.map((p) => [p, { p50Ms: phases[p].getValueAtPercentile(50) / 1_000, p99Ms: phases[p].getValueAtPercentile(99) / 1_000, meanMs: phases[p].mean / 1_000 }]),
  ) as Record<Phase, PhaseFigures>;

/** --phases: where the answers' time went, per setup and workload (medians over the rounds of each window's figure). */
function phasesTable(results: Measurement[], servers: Server[]): string[] {
  const lines = [
    '\nWhere an answer\'s time went (--phases; ms, mean / p99 of each part, medians of the rounds): outside = the latency the generator saw less the',
    'service call (HTTP in and out, the middleware, the event loop getting round to it); engine and ledger = the waits for the decision and for the',
    "ledger to hold the answer (Server-Timing); service = the rest of the call. The p99s of the parts do not add up to the answer's.",
    '',
    '| setup | workload | answer mean / p99 | outside | engine | ledger | service |',
    '|---|---|---:|---:|---:|---:|---:|',
  ];
  for (const server of servers) {
    for (const w of WORKLOADS) {
      const rounds = results.filter((r) => r.setup === server.name && r.workload === w && r.phases);
      if (rounds.length === 0) continue;
      const part = (of: (r: Measurement) => Record<Phase, PhaseFigures>, from: Measurement[]) => (p: Phase) =>
        `${fmt(median(from.map((r) => of(r)[p].meanMs)), 1)} / ${fmt(median(from.map((r) => of(r)[p].p99Ms)), 1)}`;
      const answer = `${fmt(median(rounds.map((r) => r.meanMs)), 1)} / ${fmt(median(rounds.map((r) => r.p99Ms)), 1)}`;
      lines.push(`| ${server.name} | ${w} | ${answer} | ${PHASES.map(part((r) => r.phases!, rounds)).join(' | ')} |`);
      // The refused answers alone: their answer column is the refused p99 (their mean is not kept).
      const refused = rounds.filter((r) => r.refusedPhases);
      if (refused.length === 0) continue;
      const refusedAnswer = `– / ${fmt(median(refused.map((r) => r.refusedP99Ms)), 1)}`;
      lines.push(`| ${server.name} | ${w}, refused | ${refusedAnswer} | ${PHASES.map(part((r) => r.refusedPhases!, refused)).join(' | ')} |`);
    }
  }
  return lines;
}

/** The server's main thread's wait for a core in a window, when Linux gave the counters. */
function runQueueNote(m: Measurement): string {
  if (!Number.isFinite(m.serverRunQueueMsPerSecond)) return '';
  return ` (its main thread waited for a core ${fmt(m.serverRunQueueMsPerSecond)} ms/s, ${fmt(m.serverRunQueuePercent)}% of the time it wanted one, up to ${fmt(m.serverRunQueueLongestMs)} ms within 100 ms)`;
}

/**
 * What else loaded the machine in a window, when anything did: the checkpointer's writes (of a checkpoint begun
 * here or earlier), autovacuum workers, Redis's AOF rewrites, time stolen by the hypervisor, and the generator's own
 * event-loop stalls. A tail of a window with these is not the setup's alone.
 */
function backgroundNote(m: Measurement): string {
  const parts: string[] = [];
  if (m.checkpointBuffersWritten > 0) parts.push(`checkpointer wrote ${fmt((m.checkpointBuffersWritten * 8) / 1_024, 1)} MB`);
  if (m.autovacuumWorkerSeconds > 0) parts.push(`autovacuum ${fmt(m.autovacuumWorkerSeconds)} worker-s`);
  if (m.redisForks > 0) parts.push(`Redis forked ${m.redisForks}× (AOF rewrite; the last fork stalled it ${fmt(m.redisLatestForkMs, 1)} ms)`);
  else if (m.redisRewriting) parts.push('a Redis AOF rewrite running');
  if (m.stealPercent >= 0.05) parts.push(`steal ${fmt(m.stealPercent, 1)}%`);
  if (m.generatorLoopDelayMaxMs >= 20) parts.push(`the generator's event loop stalled up to ${fmt(m.generatorLoopDelayMaxMs)} ms (p99 ${fmt(m.generatorLoopDelayP99Ms, 1)})`);
  return parts.length > 0 ? `; in the window: ${parts.join(', ')}` : '';
}

/** --built: builds the packages of each checkout with a built setup in this run (this one, --baseline's), so none runs a stale dist. */
function buildCheckouts() {
  const build = ['-r', '--filter', './packages/**', 'build'];
  const running = flags.profile ? [PROFILED] : SETUPS;
  const checkouts = new Set(running.filter((s) => BUILT.has(s)).map((s) => (s === 'base' ? BASELINE! : ROOT)));
  for (const checkout of checkouts) {
    log(`--built: building the packages of ${checkout} (pnpm ${build.join(' ')})…`);
    const started = performance.now();
    try {
      execFileSync('pnpm', build, { cwd: checkout, stdio: ['ignore', 'pipe', 'pipe'] });
    } catch (error) {
      const e = error as { stdout?: Buffer; stderr?: Buffer; message: string };
      throw new Error(`--built: the build of ${checkout} failed:\n${e.stderr?.toString() || e.stdout?.toString() || e.message}`);
    }
    log(`--built: built in ${Math.round((performance.now() - started) / 1_000)} s`);
  }
}

async function main() {
  const startedAt = new Date();
  const loadavg = readFileSync('/proc/loadavg', 'utf8').trim();
  if (flags.profile) log(`pnpm bench bids --profile: ${PROFILED} under --cpu-prof, ${PROFILED_WORKLOAD === 'spread' ? `spread over ${AUCTIONS} auctions` : PROFILED_WORKLOAD === 'open' ? `open loop at ${RATE} bids/s on one auction` : 'hot (one auction)'}, ${DURATION_MS / 1_000} s (+${WARMUP_MS / 1_000} s warm-up), ${CONNECTIONS} connections; node ${process.version}, load average ${loadavg}`);
  else log(`pnpm bench bids: ${SETUPS.join(', ')} × ${WORKLOADS.join(', ')}; ${ROUNDS} rounds, ${DURATION_MS / 1_000} s (+${WARMUP_MS / 1_000} s warm-up) per measurement, ${CONNECTIONS} connections, ${AUCTIONS} auctions for spread, ${RATE} bids/s open loop${ISOLATE ? ', the other setups paused while one is measured' : ', every setup running throughout'}${BUILT.size ? `; from their build: ${[...BUILT].filter((b) => SETUPS.includes(b)).join(', ')}` : ''}; node ${process.version}, load average ${loadavg}`);
  if (PIN) {
    if (SERVER_CORE < 1) throw new Error('--pin needs at least two cores');
    // This process and what it starts from here (Redis, Postgres) keep off the servers' core; every thread of it.
    try {
      execFileSync('taskset', ['--all-tasks', '--cpu-list', '--pid', `0-${SERVER_CORE - 1}`, String(process.pid)], { stdio: ['ignore', 'ignore', 'pipe'] });
    } catch (error) {
      const e = error as NodeJS.ErrnoException & { stderr?: Buffer };
      throw new Error(e.code === 'ENOENT' ? '--pin needs taskset (Debian: apt-get install util-linux)' : `--pin: taskset failed: ${e.stderr?.toString().trim() || e.message}`);
    }
    log(`--pin: the servers under test on core ${SERVER_CORE} alone; the generator, Redis and Postgres on ${SERVER_CORE === 1 ? 'core 0' : `cores 0-${SERVER_CORE - 1}`}`);
  }
  buildCheckouts();
  const redisDir = mkdtempSync(join(tmpdir(), 'outbid-bench-redis-'));
  tempDirs.push(redisDir);
  const [redisServer, pgServer] = await Promise.all([startRedis(['--appendonly', 'yes', '--appendfsync', 'everysec', '--dir', redisDir]), startPostgres()]);
  const monitor = new pg.Client({ connectionString: pgServer.url });
  await monitor.connect();
  if (!flags['fresh-wal']) {
    const began = performance.now();
    const ready = await prepareWalSegments(monitor, WAL_SEGMENTS_AHEAD);
    log(`Postgres: ${WAL_SEGMENTS_AHEAD} WAL segments made and recycled by a checkpoint, ${ready} ready, as in a server in service (${((performance.now() - began) / 1_000).toFixed(1)} s; --fresh-wal skips this)`);
  }
  const redisMonitor = new Redis(redisServer.url);
  cpuSources = await findCpuSources(monitor, redisMonitor);
  walAndCheckpoints = readWalAndCheckpoints(monitor);
  autovacuumWorkers = readAutovacuumWorkers(monitor);
  redisForks = readRedisForks(redisMonitor);
  const servers: Server[] = [];
  const cleanup = async () => {
    stopping = true;
    for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill('SIGCONT'); // a paused child would not see SIGTERM
    await Promise.allSettled(children.map(stopChild));
    await Promise.allSettled([monitor.end(), redisMonitor.quit()]);
    await Promise.allSettled([redisServer.stop(), pgServer.stop()]);
    for (const dir of tempDirs) rmSync(dir, { recursive: true, force: true });
  };
  const interrupted = () => {
    console.error('interrupted: stopping everything this run started');
    void cleanup().finally(() => process.exit(130));
  };
  process.once('SIGINT', interrupted);
  process.once('SIGTERM', interrupted);
  try {
    const services = { redisUrl: redisServer.url, pgCreate: (db: string) => pgServer.createDatabase(db) };
    const tokens = await Promise.all(Array.from({ length: CONNECTIONS }, (_, i) => issueDevToken(SECRET, `bidder-${i}`, ['bidder'])));
    const creatorToken = await issueDevToken(SECRET, 'bench-seller', ['creator']);

    if (flags.profile) return await profile(services, tokens, creatorToken);

    for (const name of SETUPS) {
      // BENCH_NODE_FLAGS (e.g. --trace-gc, with BENCH_SERVER_LOGS=DIR to keep the output) go to every server's node.
      const server = await startSetup(name, services, (process.env.BENCH_NODE_FLAGS ?? '').split(' ').filter(Boolean));
      servers.push(server);
      log(`started ${name} (pid ${server.child.pid}, ${server.runsOn}) at ${server.url}`);
    }
    const targets = new Map<SetupName, Target>();
    for (const server of servers) {
      const t0 = performance.now();
      const spreadAuctions = WORKLOADS.includes('spread') ? await createAuctions(server, creatorToken, AUCTIONS) : [];
      targets.set(server.name, { server, tokens, hotAuction: '', spreadAuctions });
      if (spreadAuctions.length) log(`${server.name}: ${spreadAuctions.length} auctions created through the API in ${fmt((performance.now() - t0) / 1_000, 1)} s`);
    }

    // Counter attribution: each setup's counters from the start of one of its windows to the start of its next
    // window (or the settled end of the run) belong to the first window's workload.
    const marks = new Map<SetupName, { at: Counters; since: number; pausedAt: number; m: Measurement; redisAfter?: Awaited<ReturnType<typeof redisCommandStats>> } | null>();
    // Redis serves every setup: with two setups on it (base), its counters end with the window, when the next
    // setup starts using it.
    const sharedRedis = servers.filter((s) => s.usesRedis).length > 1;
    // Milliseconds each setup's server has spent paused while another was measured (see --isolate).
    const pausedMs = new Map<SetupName, number>(servers.map((s) => [s.name, 0]));
    const read = async (server: Server, pgTx: Map<string, number>, redis: { calls: number; evalsha: number; zrangebyscore: number }): Promise<Counters> => ({
      pgTx: server.database ? (pgTx.get(server.database) ?? NaN) : NaN,
      redisCalls: server.usesRedis ? redis.calls : NaN,
      redisEvalsha: server.usesRedis ? redis.evalsha : NaN,
      redisZrangebyscore: server.usesRedis ? redis.zrangebyscore : NaN,
      cpuMs: cpuMsOf(server.child.pid!),
    });

    // Before round 1, every setup (and the generator's code for it) runs a short unrecorded stampede: JIT and
    // connection pools warm, so the first measured setup is not the one that pays for it.
    if (PREWARM_MS > 0) {
      for (const server of servers) {
        const target = targets.get(server.name)!;
        target.hotAuction = (await createAuctions(server, creatorToken, 1))[0]!;
        const t = tally();
        const end = performance.now() + PREWARM_MS;
        const pool = new Pool(server.url, { connections: CONNECTIONS, pipelining: 1, headersTimeout: 30_000, bodyTimeout: 30_000 });
        await closedLoop(pool, target, 'hot', t, end, end).finally(() => pool.close());
      }
      log(`pre-warmed every setup with ${PREWARM_MS / 1_000} s of unrecorded hot bids`);
    }

    // What each setup does with no bids at all (guard, relay and scheduler polls), per second: subtracted from
    // the intervals below so the per-decision counts are the bids' own. Postgres: the idle rate × the interval.
    // Redis: the scheduler's polls are counted in the interval itself (its claim script is the only user of
    // ZRANGEBYSCORE, twice per shard poll) and each costs what an idle poll costs; a busy server polls less often.
    const background = new Map<SetupName, Counters>();
    const perPoll = new Map<SetupName, { calls: number; evalsha: number }>();
    const readAll = async () => {
      const pgTx = await pgTxByDatabase(monitor);
      const redis = await redisCommandStats(redisMonitor);
      return new Map(await Promise.all(servers.map(async (s) => [s.name, await read(s, pgTx, redis)] as const)));
    };
    log('measuring the idle background of every setup (12 s to let Postgres statistics settle, then 10 s)…');
    await sleep(12_000);
    const idleFrom = await readAll();
    await sleep(10_000);
    const idleTo = await readAll();
    for (const server of servers) {
      const a = idleFrom.get(server.name)!;
      const b = idleTo.get(server.name)!;
      const bg: Counters = {
        pgTx: (b.pgTx - a.pgTx) / 10,
        redisCalls: (b.redisCalls - a.redisCalls) / 10,
        redisEvalsha: (b.redisEvalsha - a.redisEvalsha) / 10,
        redisZrangebyscore: (b.redisZrangebyscore - a.redisZrangebyscore) / 10,
        cpuMs: (b.cpuMs - a.cpuMs) / 10,
      };
      background.set(server.name, bg);
      const polls = bg.redisZrangebyscore / 2;
      if (polls > 0) perPoll.set(server.name, { calls: bg.redisCalls / polls, evalsha: bg.redisEvalsha / polls });
      const poll = perPoll.get(server.name);
      log(
        `  ${server.name}: idle ${fmt(bg.pgTx, 1)} Postgres tx/s, ${fmt(bg.redisCalls, 1)} Redis commands/s (${fmt(bg.redisEvalsha, 1)} EVALSHA)` +
          `${poll ? ` = ${fmt(polls, 1)} scheduler claims/s (one per shard per poll) × ${fmt(poll.calls, 2)} commands (${fmt(poll.evalsha, 2)} EVALSHA)` : ''}, ${fmt(bg.cpuMs / 10, 1)}% CPU`,
      );
    }
    const close = (name: SetupName, now: Counters) => {
      const open = marks.get(name);
      if (!open) return;
      const d = Math.max(1, open.m.decisionsWithWarmup);
      // Its idle background ran only while it was not paused.
      const seconds = (performance.now() - open.since - (pausedMs.get(name)! - open.pausedAt)) / 1_000;
      const bg = background.get(name)!;
      const net = (to: number, from: number, perSecond: number) => Math.max(0, to - from - (Number.isFinite(perSecond) ? perSecond * seconds : 0)) / d;
      if (Number.isFinite(now.pgTx)) open.m.pgTxPerDecision = net(now.pgTx, open.at.pgTx, bg.pgTx);
      if (Number.isFinite(now.redisCalls)) {
        if (open.redisAfter) now = { ...now, redisCalls: open.redisAfter.calls, redisEvalsha: open.redisAfter.evalsha, redisZrangebyscore: open.redisAfter.zrangebyscore };
        const polls = (now.redisZrangebyscore - open.at.redisZrangebyscore) / 2;
        const poll = perPoll.get(name) ?? { calls: 0, evalsha: 0 };
        open.m.redisCallsPerDecision = Math.max(0, now.redisCalls - open.at.redisCalls - polls * poll.calls) / d;
        open.m.redisEvalshaPerDecision = Math.max(0, now.redisEvalsha - open.at.redisEvalsha - polls * poll.evalsha) / d;
        open.m.redisSchedulerPollsPerSecond = polls / seconds;
      }
    };

    const results: Measurement[] = [];
    const total = ROUNDS * WORKLOADS.length * servers.length;
    for (let round = 1; round <= ROUNDS; round++) {
      for (const server of servers) targets.get(server.name)!.hotAuction = (await createAuctions(server, creatorToken, 1))[0]!;
      const order = roundOrder(servers, round); // a stride of its own each round, so no setup always follows the same one
      for (const workload of WORKLOADS) {
        for (const server of order) {
          const target = targets.get(server.name)!;
          const counters = await read(server, await pgTxByDatabase(monitor), await redisCommandStats(redisMonitor));
          close(server.name, counters);
          const since = performance.now();
          const others = ISOLATE ? servers.filter((s) => s !== server) : [];
          for (const other of others) other.child.kill('SIGSTOP');
          const pausedFrom = performance.now();
          let m: Measurement;
          let redisAfter: Awaited<ReturnType<typeof redisCommandStats>> | undefined;
          try {
            m = await measure(target, workload, round);
          } finally {
            // Read while the others are still paused (see sharedRedis).
            if (sharedRedis && server.usesRedis) redisAfter = await redisCommandStats(redisMonitor);
            for (const other of others) {
              other.child.kill('SIGCONT');
              pausedMs.set(other.name, pausedMs.get(other.name)! + (performance.now() - pausedFrom));
            }
          }
          marks.set(server.name, { at: counters, since, pausedAt: pausedMs.get(server.name)!, m, ...(redisAfter ? { redisAfter } : {}) });
          results.push(m);
          const errors = Object.entries(m.errors).map(([k, v]) => `${k} ×${v}`).join(', ');
          log(
            `${String(results.length).padStart(3)}/${total} round ${round} ${workload.padEnd(6)} ${server.name.padEnd(9)}: ${fmt(m.decisionsPerSecond).padStart(6)} decisions/s` +
              `${m.offeredPerSecond !== undefined ? ` (offered ${fmt(m.offeredPerSecond)}/s)` : ''}, ${fmt((m.accepted / Math.max(1, m.decisions)) * 100)}% accepted, ` +
              `p50 ${fmt(m.p50Ms, 1)} ms, p99 ${fmt(m.p99Ms, 1)} ms, max ${fmt(m.maxMs)} ms (accepted p50 / p99 ${fmt(m.acceptedP50Ms, 1)} / ${fmt(m.acceptedP99Ms, 1)} ms, refused ${fmt(m.refusedP50Ms, 1)} / ${fmt(m.refusedP99Ms, 1)} ms), server CPU ${fmt(m.serverCpuPercent)}%${runQueueNote(m)}, machine ${fmt(m.machineBusyPercent)}% busy, load ${fmt(m.loadAverage, 1)}` +
              `${m.checkpoints > 0 || m.checkpointSyncMs > 0 ? `, Postgres checkpoint: ${m.checkpoints} begun, ${fmt(m.checkpointSyncMs)} ms of its fsync ended here` : ''}` +
              `, disk ${fmt(m.diskWrittenMb)} MB written, ${fmt(m.diskFlushesPerSecond)} flushes/s at ${fmt(m.diskFlushMeanMs, 2)} ms${backgroundNote(m)}${errors ? `, errors: ${errors}` : ''}`,
          );
          await sleep(1_000);
        }
      }
    }
    // Postgres flushes a backend's statistics when it goes idle, within ~10 s: let the last windows settle.
    log('letting the counters settle (11 s)…');
    await sleep(11_000);
    const pgTx = await pgTxByDatabase(monitor);
    const redis = await redisCommandStats(redisMonitor);
    for (const server of servers) close(server.name, await read(server, pgTx, redis));

    report(results, servers, { startedAt, loadavg, background: Object.fromEntries(background), perPoll: Object.fromEntries(perPoll) });
  } finally {
    await cleanup();
  }
}

/** The figures of a window that a setup's summary gives as their median over the rounds. */
const MEDIAN_FIELDS = [
  'decisionsPerSecond',
  'p50Ms',
  'p99Ms',
  'p999Ms',
  'maxMs',
  'meanMs',
  'acceptedP50Ms',
  'acceptedP99Ms',
  'refusedP50Ms',
  'refusedP99Ms',
  'serverCpuPercent',
  'serverCpuMsPerDecision',
  'machineBusyPercent',
  'machineCpuMsPerDecision',
  'postgresCpuMsPerDecision',
  'redisCpuMsPerDecision',
  'generatorCpuMsPerDecision',
  'walBytesPerDecision',
  'loadAverage',
  'serverRunQueueMsPerSecond',
  'serverRunQueuePercent',
  'serverRunQueueLongestMs',
] as const satisfies readonly (keyof Measurement)[];

/** A setup's figures for one workload: medians over its rounds (see the fields of Measurement). */
type Summary = Record<(typeof MEDIAN_FIELDS)[number], number> & {
  offeredPerSecond?: number;
  acceptedShare: number;
  errors: number;
  pgTxPerDecision?: number;
  redisCallsPerDecision?: number;
  redisEvalshaPerDecision?: number;
};

function summarise(ms: Measurement[]): Summary {
  const med = (f: (m: Measurement) => number | undefined) => median(ms.map((m) => f(m) ?? NaN));
  const pick = (f: (m: Measurement) => number | undefined) => (ms.some((m) => f(m) !== undefined) ? med(f) : undefined);
  const medians = Object.fromEntries(MEDIAN_FIELDS.map((field) => [field, med((m) => m[field])])) as Record<(typeof MEDIAN_FIELDS)[number], number>;
  return {
    ...medians,
    ...(ms[0]?.offeredPerSecond !== undefined ? { offeredPerSecond: med((m) => m.offeredPerSecond) } : {}),
    acceptedShare: med((m) => m.accepted / Math.max(1, m.decisions)),
    errors: med((m) => Object.values(m.errors).reduce((a, b) => a + b, 0)),
    ...(pick((m) => m.pgTxPerDecision) !== undefined ? { pgTxPerDecision: pick((m) => m.pgTxPerDecision) } : {}),
    ...(pick((m) => m.redisCallsPerDecision) !== undefined ? { redisCallsPerDecision: pick((m) => m.redisCallsPerDecision), redisEvalshaPerDecision: pick((m) => m.redisEvalshaPerDecision) } : {}),
  };
}

/**
 * redis+pg against base round by round: each round's two windows ran minutes apart at most, under the same load on
 * the shared machine, so their ratio is steadier than a ratio of medians. How far the ratios spread is the noise a
 * change must clear; a run of identical code as base (an A/A run) shows that band on a given machine.
 */
function pairedRounds(results: Measurement[]): string {
  const rows = ['\nredis+pg / base, round by round (median of the rounds; rounds where redis+pg did better):', '', '| workload | decisions/s | median | higher | server CPU ms per decision | median | lower |', '|---|---|---:|---:|---|---:|---:|'];
  for (const workload of WORKLOADS) {
    const pairs = [...new Set(results.map((m) => m.round))].flatMap((round) => {
      const find = (setup: SetupName) => results.find((m) => m.setup === setup && m.workload === workload && m.round === round);
      const ours = find('redis+pg');
      const theirs = find('base');
      return ours && theirs && theirs.decisionsPerSecond > 0 && theirs.serverCpuMsPerDecision > 0
        ? [{ rate: ours.decisionsPerSecond / theirs.decisionsPerSecond, cpu: ours.serverCpuMsPerDecision / theirs.serverCpuMsPerDecision }]
        : [];
    });
    if (pairs.length === 0) continue;
    const list = (xs: number[]) => xs.map((x) => x.toFixed(2)).join(', ');
    const rates = pairs.map((p) => p.rate);
    const cpus = pairs.map((p) => p.cpu);
    rows.push(
      `| ${workload} | ${list(rates)} | ${median(rates).toFixed(3)}× | ${rates.filter((r) => r > 1).length} of ${pairs.length} | ${list(cpus)} | ${median(cpus).toFixed(3)}× | ${cpus.filter((c) => c < 1).length} of ${pairs.length} |`,
    );
  }
  return rows.join('\n');
}

function report(results: Measurement[], servers: Server[], meta: { startedAt: Date; loadavg: string; background: Record<string, Counters>; perPoll: Record<string, { calls: number; evalsha: number }> }) {
  const summary: Record<string, Partial<Record<Workload, Summary>>> = {};
  for (const server of servers) {
    summary[server.name] = {};
    for (const w of WORKLOADS) summary[server.name]![w] = summarise(results.filter((m) => m.setup === server.name && m.workload === w));
  }
  const lat = (s: Summary | undefined) => (s ? `${fmt(s.p50Ms)} / ${fmt(s.p99Ms)} (max ${fmt(s.maxMs)})` : '–');
  const rate = (s: Summary | undefined) => (s ? `${fmt(s.decisionsPerSecond)}${s.errors ? ` (${fmt(s.errors)} errors)` : ''}` : '–');
  const lines: string[] = [];
  lines.push(`\nMedians of ${ROUNDS} rounds, ${DURATION_MS / 1_000} s each, ${CONNECTIONS} connections; decisions = 201 + 409 answers; latencies in ms.`);
  const has = (w: Workload) => WORKLOADS.includes(w);
  lines.push(
    `\n| setup |${has('hot') ? ' hot: decisions/s | p50 / p99 ms |' : ''}${has('spread') ? ` ${fmt(AUCTIONS)} auctions: decisions/s | p50 / p99 ms |` : ''}${has('open') ? ` open loop ${fmt(RATE)}/s: p50 / p99 ms |` : ''}`,
  );
  lines.push(`|---|${has('hot') ? '---:|---:|' : ''}${has('spread') ? '---:|---:|' : ''}${has('open') ? '---:|' : ''}`);
  for (const server of servers) {
    const s = summary[server.name]!;
    lines.push(
      `| ${LABELS[server.name]} |${has('hot') ? ` ${rate(s.hot)} | ${lat(s.hot)} |` : ''}${has('spread') ? ` ${rate(s.spread)} | ${lat(s.spread)} |` : ''}${has('open') ? ` ${lat(s.open)}${s.open?.errors ? `, ${fmt(s.open.errors)} errors` : ''} |` : ''}`,
    );
  }
  lines.push(
    `\nCost per decision (${WORKLOADS.join(' / ')}): Postgres transactions of the setup's database and Redis commands (of them EVALSHA), both net of the idle background (Postgres: idle rate × time; Redis: the scheduler polls, counted); server CPU ms; machine CPU ms (all ${CORES} cores: generator, server, Redis, Postgres, anything else); accepted share.`,
  );
  lines.push('\n| setup | runs on | Postgres tx | Redis commands (EVALSHA) | server CPU ms | server CPU % | machine CPU ms | accepted |');
  lines.push('|---|---|---:|---:|---:|---:|---:|---:|');
  const per = (f: (s: Summary) => number | undefined, digits: number, s: Partial<Record<Workload, Summary>>) =>
    WORKLOADS.map((w) => (s[w] && f(s[w]!) !== undefined ? fmt(f(s[w]!)!, digits) : '–')).join(' / ');
  for (const server of servers) {
    const s = summary[server.name]!;
    const redis = server.usesRedis
      ? WORKLOADS.map((w) => (s[w]?.redisCallsPerDecision !== undefined ? `${fmt(s[w]!.redisCallsPerDecision!, 1)} (${fmt(s[w]!.redisEvalshaPerDecision!, 1)})` : '–')).join(' / ')
      : '–';
    lines.push(
      `| ${server.name} | ${server.runsOn} | ${server.database ? per((x) => x.pgTxPerDecision, 2, s) : '–'} | ${redis} | ${per((x) => x.serverCpuMsPerDecision, 2, s)} | ${per((x) => x.serverCpuPercent, 0, s)} | ${per((x) => x.machineCpuMsPerDecision, 2, s)} | ${per((x) => x.acceptedShare * 100, 0, s)}% |`,
    );
  }
  // Where the machine's CPU went, per decision: the floor every setup pays (its HTTP server's share of the work and
  // the generator) against what the ledger and the engine add. The rest is the kernel's own threads and anything
  // else on the machine.
  lines.push(
    `\nMachine CPU ms per decision by process (${WORKLOADS.join(' / ')}): the server, all Postgres processes, redis-server, the load generator (this process), and the rest of the machine; and the Postgres WAL written per decision.`,
  );
  lines.push('\n| setup | server | Postgres | Redis | generator | rest | machine | WAL KB |');
  lines.push('|---|---:|---:|---:|---:|---:|---:|---:|');
  for (const server of servers) {
    const s = summary[server.name]!;
    const rest = (x: Summary) => x.machineCpuMsPerDecision - x.serverCpuMsPerDecision - x.postgresCpuMsPerDecision - x.redisCpuMsPerDecision - x.generatorCpuMsPerDecision;
    lines.push(
      `| ${server.name} | ${per((x) => x.serverCpuMsPerDecision, 2, s)} | ${per((x) => x.postgresCpuMsPerDecision, 2, s)} | ${per((x) => x.redisCpuMsPerDecision, 2, s)} | ${per((x) => x.generatorCpuMsPerDecision, 2, s)} | ${per(rest, 2, s)} | ${per((x) => x.machineCpuMsPerDecision, 2, s)} | ${per((x) => x.walBytesPerDecision / 1_024, 2, s)} |`,
    );
  }
  // A hot auction refuses most bids straight from the engine; the accepted ones also wait for their ledger commit.
  lines.push(`\nLatency by answer (${WORKLOADS.join(' / ')}), ms: p50 / p99 of the accepted (201) and of the refused (409) answers.`);
  lines.push('\n| setup | accepted p50 | accepted p99 | refused p50 | refused p99 |');
  lines.push('|---|---:|---:|---:|---:|');
  for (const server of servers) {
    const s = summary[server.name]!;
    lines.push(
      `| ${server.name} | ${per((x) => x.acceptedP50Ms, 1, s)} | ${per((x) => x.acceptedP99Ms, 1, s)} | ${per((x) => x.refusedP50Ms, 1, s)} | ${per((x) => x.refusedP99Ms, 1, s)} |`,
    );
  }
  // A late answer from a server that had no core to run on is the machine's, not the server's code.
  lines.push(
    `\nThe server's main thread waiting for a core (${WORKLOADS.join(' / ')}; /proc/<pid>/task/<pid>/schedstat, sampled every 20 ms): ms per second of the window, the share of the time it wanted a core, and its longest wait within 100 ms.`,
  );
  lines.push('\n| setup | waited ms/s | % of wanted | longest in 100 ms |');
  lines.push('|---|---:|---:|---:|');
  for (const server of servers) {
    const s = summary[server.name]!;
    lines.push(`| ${server.name} | ${per((x) => x.serverRunQueueMsPerSecond, 0, s)} | ${per((x) => x.serverRunQueuePercent, 0, s)} | ${per((x) => x.serverRunQueueLongestMs, 0, s)} |`);
  }
  if (WITH_PHASES) lines.push(...phasesTable(results, servers));
  const ratio = (a: SetupName, b: SetupName, w: Workload) => {
    const x = summary[a]?.[w]?.decisionsPerSecond;
    const y = summary[b]?.[w]?.decisionsPerSecond;
    return x !== undefined && y ? `${(x / y).toFixed(2)}×` : '–';
  };
  if (summary['redis+pg'] && summary.peer) {
    lines.push(`\nOutbid redis+pg / peer decisions/s: hot ${ratio('redis+pg', 'peer', 'hot')}, spread ${ratio('redis+pg', 'peer', 'spread')}`);
  }
  if (summary['redis+pg'] && summary.base) {
    lines.push(`Outbid redis+pg / base (${BASELINE}) decisions/s: hot ${ratio('redis+pg', 'base', 'hot')}, spread ${ratio('redis+pg', 'base', 'spread')}`);
    lines.push(pairedRounds(results));
  }
  // What the machine could do at all: with every core busy, at the CPU each decision cost in this run (the
  // generator's share included, as it is for every setup).
  const machineMs = (name: SetupName, w: Workload) => summary[name]?.[w]?.machineCpuMsPerDecision;
  const ceiling = (name: SetupName, w: Workload) => {
    const m = machineMs(name, w);
    return m ? fmt((CORES * 1_000) / m) : '–';
  };
  lines.push(`\nDecisions/s with all ${CORES} cores busy at this run's machine CPU per decision (hot / spread):`);
  for (const server of servers) lines.push(`  ${server.name}: ${ceiling(server.name, 'hot')} / ${ceiling(server.name, 'spread')}`);
  if (summary['redis+pg'] && summary.bare) {
    // Measured, and as the two would be with every core busy: a gap between them is the machine left idle.
    const atCeiling = (w: Workload) => {
      const outbid = machineMs('redis+pg', w);
      const bare = machineMs('bare', w);
      return outbid && bare ? `${(bare / outbid).toFixed(2)}×` : '–';
    };
    lines.push(
      `Outbid redis+pg / bare route: measured hot ${ratio('redis+pg', 'bare', 'hot')}, spread ${ratio('redis+pg', 'bare', 'spread')}; with every core busy hot ${atCeiling('hot')}, spread ${atCeiling('spread')}`,
    );
  }
  // Each round's windows, setup by workload, to count the rounds in which each target held.
  const rounds = [...new Set(results.map((m) => m.round))].sort((a, b) => a - b).map((round) => {
    const inRound: TargetSummary = {};
    for (const m of results) if (m.round === round) (inRound[m.setup] ??= {})[m.workload] = m;
    return inRound;
  });
  const targets = issue14Targets(summary, rounds);
  lines.push(
    `\nIssue 14's targets, each comparison judged on the median of its rounds' own ratios (the ratio of the medians beside it), with the rounds in which each held ("not run": a setup or workload it needs was not in this run):\n\n${targetsTable(targets)}`,
  );
  console.log(lines.join('\n'));
  const out = resolve(flags.out!);
  mkdirSync(resolve(out, '..'), { recursive: true });
  writeFileSync(
    out,
    JSON.stringify(
      {
        bench: 'bids',
        startedAt: meta.startedAt.toISOString(),
        node: process.version,
        loadAverageAtStart: meta.loadavg,
        idleBackgroundPerSecond: meta.background,
        redisCostPerSchedulerPoll: meta.perPoll,
        options: { durationS: DURATION_MS / 1_000, warmupS: WARMUP_MS / 1_000, rounds: ROUNDS, connections: CONNECTIONS, auctions: AUCTIONS, openLoopRate: RATE, setups: SETUPS, workloads: WORKLOADS, isolate: ISOLATE, pin: PIN, built: [...BUILT], freshWal: flags['fresh-wal'] === true },
        servers: servers.map((s) => ({ name: s.name, label: LABELS[s.name], runsOn: s.runsOn })),
        summary,
        targets,
        measurements: results,
      },
      null,
      2,
    ),
  );
  log(`wrote ${out}`);
}

/** --profile: one server (PROFILED) under `node --cpu-prof`, one workload, then a summary of the profile. */
async function profile(services: { redisUrl: string; pgCreate: (db: string) => Promise<string> }, tokens: string[], creatorToken: string) {
  const dir = resolve(ROOT, '.bench-results/profile');
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  const server = await startSetup(PROFILED, services, ['--cpu-prof', `--cpu-prof-dir=${dir}`]);
  log(`started ${PROFILED} under --cpu-prof (pid ${server.child.pid}, ${server.runsOn})`);
  const workload = PROFILED_WORKLOAD;
  const spreadAuctions = workload === 'spread' ? await createAuctions(server, creatorToken, AUCTIONS) : [];
  const hotAuction = workload === 'spread' ? '' : (await createAuctions(server, creatorToken, 1))[0]!;
  log(`${spreadAuctions.length || 1} auction(s) created`);
  // The profile's timestamps are CLOCK_MONOTONIC microseconds, like process.hrtime: keep the load window only.
  const fromUs = Number(process.hrtime.bigint() / 1_000n) + WARMUP_MS * 1_000;
  const m = await measure({ server, tokens, hotAuction, spreadAuctions }, workload, 1);
  const toUs = fromUs + DURATION_MS * 1_000;
  log(`${workload} under the profiler: ${fmt(m.decisionsPerSecond)} decisions/s, p50 ${fmt(m.p50Ms, 1)} ms, p99 ${fmt(m.p99Ms, 1)} ms, server CPU ${fmt(m.serverCpuPercent)}%`);
  stopping = true;
  await stopChild(server.child); // SIGTERM: the server closes and exits, and node writes the profile
  // One file per thread (CPU.<date>.<time>.<pid>.<thread>.<seq>.cpuprofile): thread 0 is the main thread; the other is tsx's loader.
  const file = readdirSync(dir).filter((f) => f.endsWith('.cpuprofile')).find((f) => f.split('.')[4] === '0');
  if (!file) throw new Error(`no .cpuprofile written in ${dir}`);
  console.log(summariseProfile(JSON.parse(readFileSync(join(dir, file), 'utf8')), { decisions: m.decisions, fromUs, toUs }));
  writeFileSync(join(dir, 'window.json'), JSON.stringify({ file, fromUs, toUs, decisions: m.decisions, measurement: m }, null, 2));
  log(`profile: ${join(dir, file)} (open it in Chrome DevTools → Performance, or summarise the load window again with: npx tsx tests/integration/bench/cpuprofile-summary.ts FILE ${fromUs} ${toUs})`);
}

try {
  await main();
  process.exit(0);
} catch (error) {
  console.error(error);
  process.exit(1);
}
