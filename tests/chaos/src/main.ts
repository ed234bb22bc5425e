import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { issueDevToken } from '@outbid/server';
import { checkHistory, incrementAt, type CheckResult } from './checker.js';
import { injectFault, planFaults, FAULT_KINDS, type PlannedFault } from './faults.js';
import type { ApiState, BidAttempt, FaultRecord, History, ViewerRecord } from './history.js';
import { readAuctionRows, readLedger } from './ledger.js';
import { bidder, getAuction, placeBid, viewer, type Instance, type LoadContext, type SentKey } from './load.js';
import { createRng } from './rng.js';
import { JWT_SECRET, startSystem, type System } from './system.js';

/**
 * `pnpm chaos [--quick | --long] [--seed N] [--load-seconds S] [--check history.json]`
 * Runs the real system under bidding load and seeded faults, records the history, checks it, prints a summary
 * and exits non-zero on any violation. The history is saved to .tmp/chaos/history-<seed>.json.
 */
interface Profile {
  name: string;
  loadMs: number;
  bidders: number;
  /** Seconds after the load starts at which the timed auctions end. */
  endsAtS: number[];
  /** Auctions that stay open past the run (probed after healing). */
  openAuctions: number;
  faultGapMs: [number, number];
  resendChance: number;
  /** How many keys (answered or not) are sent once more after healing. */
  finalResends: number;
}

const PROFILES: Record<string, Profile> = {
  quick: { name: 'quick', loadMs: 75_000, bidders: 12, endsAtS: [20, 32, 44, 56, 68], openAuctions: 2, faultGapMs: [5_000, 8_000], resendChance: 0.12, finalResends: 150 },
  long: {
    name: 'long',
    loadMs: 600_000,
    bidders: 20,
    endsAtS: Array.from({ length: 18 }, (_, i) => 30 + i * 32),
    openAuctions: 3,
    faultGapMs: [6_000, 12_000],
    resendChance: 0.1,
    finalResends: 400,
  },
};

function parseArgs(argv: string[]) {
  const args = { profile: PROFILES.quick!, seed: (Math.random() * 2 ** 31) >>> 0, check: null as string | null, loadMs: null as number | null };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--quick') args.profile = PROFILES.quick!;
    else if (a === '--long') args.profile = PROFILES.long!;
    else if (a === '--seed') args.seed = Number(argv[++i]) >>> 0;
    else if (a === '--check') args.check = argv[++i] ?? null;
    else if (a === '--load-seconds') args.loadMs = Number(argv[++i]) * 1_000;
    else if (a === '--') continue;
    else throw new Error(`unknown argument ${a}; use --quick, --long, --seed N, --load-seconds S, --check FILE`);
  }
  if (args.loadMs !== null) {
    const scale = args.loadMs / args.profile.loadMs;
    args.profile = { ...args.profile, loadMs: args.loadMs, endsAtS: args.profile.endsAtS.map((s) => Math.round(s * scale)).filter((s) => s > 5) };
  }
  return args;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
/** The run could not be completed for a reason outside the system under test: no verdict, exit code 2. */
class EnvironmentFailure extends Error {}
let environmentFailure: string | null = null;
const log = (line: string) => console.log(`[chaos] ${line}`);
const ROOT = resolve(import.meta.dirname, '../../..');

async function runChaos(profile: Profile, seed: number): Promise<History> {
  const rng = createRng(seed);
  const faultRng = rng.fork('faults');
  const plan = planFaults(faultRng, { fromMs: 6_000, untilMs: profile.loadMs - 6_000, gapMs: profile.faultGapMs });
  log(`seed ${seed}, profile ${profile.name}: ${profile.loadMs / 1_000} s of load, ${profile.bidders} bidders, ${plan.length} faults planned`);
  for (const f of plan) log(`  plan +${(f.at / 1_000).toFixed(1)}s ${f.kind}${f.target ? ` ${f.target}` : ''}${f.ms ? ` ${f.ms} ms` : ''}`);

  const system: System = await startSystem(log);
  const cleanup = () => void system.stop();
  process.once('SIGINT', cleanup);
  process.once('SIGTERM', cleanup);
  try {
    await Promise.all([system.startServer('a'), system.startServer('b')]);
    const attempts: BidAttempt[] = [];
    let seq = 0;
    const ctx: LoadContext = {
      url: (i) => system.instanceUrl(i),
      record: (a) => {
        const full = { seq: ++seq, ...a };
        attempts.push(full);
        return full;
      },
      auctions: [],
      timeoutMs: 2_500,
    };

    // Auctions: fixed and tiered increments, with and without soft close.
    const creator = await issueDevToken(JWT_SECRET, 'chaos-seller', ['creator']);
    const viewerToken = await issueDevToken(JWT_SECRET, 'chaos-viewer', ['viewer']);
    const loadStart = Date.now() + 2_000;
    const auctions: History['auctions'] = [];
    const ends = [...profile.endsAtS.map((s) => loadStart + s * 1_000), ...Array.from({ length: profile.openAuctions }, () => loadStart + profile.loadMs + 3_600_000)];
    for (const [i, endAt] of ends.entries()) {
      const tiered = i % 2 === 1;
      const tiers = [{ from: 0, increment: 5 }, { from: 300, increment: 25 }, { from: 2_000, increment: 100 }];
      const softClose = i % 3 === 0 ? { windowMs: 3_000, extendMs: 2_000, mode: 'reset', maxExtensions: 5 } : i % 3 === 1 ? { windowMs: 2_000, extendMs: 1_500, mode: 'additive', maxExtensions: 3 } : undefined;
      const body = {
        postId: `chaos-${seed}-${i}`,
        startAt: new Date().toISOString(),
        endAt: new Date(endAt).toISOString(),
        startPrice: 100,
        ...(tiered ? { incrementTable: tiers } : { minIncrement: 10 }),
        ...(softClose ? { softClose } : {}),
      };
      const res = await fetch(`${system.instanceUrl('a')}/auctions`, {
        method: 'POST',
        headers: { authorization: `Bearer ${creator}`, 'content-type': 'application/json' },
        body: JSON.stringify(body),
      });
      const created = (await res.json()) as { auctionId?: string; status?: string };
      if (res.status !== 201 || !created.auctionId) throw new Error(`creating an auction failed: ${res.status} ${JSON.stringify(created)}`);
      auctions.push({
        id: created.auctionId,
        startPrice: 100,
        increment: tiered ? { type: 'table', tiers } : { type: 'fixed', amount: 10 },
        endAt,
        softClose: softClose !== undefined,
      });
      ctx.auctions.push({ id: created.auctionId, endAt });
    }
    log(`${auctions.length} auctions created`);

    // Viewers: one per auction per instance.
    const viewerRecords: ViewerRecord[] = [];
    const viewers = auctions.flatMap((a) =>
      (['a', 'b'] as const).map((instance) => {
        const record: ViewerRecord = { viewer: `viewer-${a.id.slice(-6)}-${instance}`, auctionId: a.id, instance, frames: [], connects: 0 };
        viewerRecords.push(record);
        return { record, handle: viewer(ctx, record, viewerToken, rng.fork(record.viewer)) };
      }),
    );

    await sleep(Math.max(0, loadStart - Date.now()));
    const loadEnd = loadStart + profile.loadMs;
    const stopLoad = () => Date.now() >= loadEnd || environmentFailure !== null;
    const bidders = await Promise.all(
      Array.from({ length: profile.bidders }, async (_, i) => ({ client: `c${i}`, bidderId: `bidder-${i}`, token: await issueDevToken(JWT_SECRET, `bidder-${i}`, ['bidder']) })),
    );
    const bidderRuns = bidders.map((who) => bidder(ctx, rng.fork(who.client), who, stopLoad, { resendChance: profile.resendChance, pauseMs: [30, 300] }));

    // Progress.
    const faults: FaultRecord[] = [];
    const progress = setInterval(() => {
      const accepted = attempts.filter((a) => a.outcome.type === 'response' && a.outcome.status === 201).length;
      const transient = attempts.filter((a) => a.outcome.type === 'error' || (a.outcome.type === 'response' && a.outcome.status >= 500)).length;
      log(`t=${Math.round((Date.now() - loadStart) / 1_000)}s attempts=${attempts.length} accepted-answers=${accepted} errors+5xx=${transient} faults=${faults.length}/${plan.length}`);
    }, 10_000);

    // A service the harness does not fault (the Kafka mock) dying ends the run as an environment failure.
    const watchdog = setInterval(() => {
      void system.environmentProblem().then((problem) => {
        if (problem && environmentFailure === null) {
          environmentFailure = problem;
          log(`ENVIRONMENT FAILURE: ${problem}; stopping the run`);
        }
      });
    }, 2_000);

    // Faults, in order, each healed before the next.
    for (const fault of plan) {
      await sleep(Math.max(0, loadStart + fault.at - Date.now()));
      if (environmentFailure !== null) break;
      const record: FaultRecord = { at: Date.now(), kind: fault.kind, ...(fault.target ? { target: fault.target } : {}) };
      faults.push(record);
      log(`fault ${faults.length}/${plan.length} at +${((Date.now() - loadStart) / 1_000).toFixed(1)}s: ${fault.kind}${fault.target ? ` ${fault.target}` : ''}`);
      try {
        await injectFault(system, fault, record);
      } catch (error) {
        record.detail = `injection failed: ${(error as Error).message}`;
        log(`  ${record.detail}`);
      }
      record.healedAt = Date.now();
    }
    const sent: SentKey[] = (await Promise.all(bidderRuns)).flat();
    clearInterval(progress);
    clearInterval(watchdog);
    if (environmentFailure !== null) throw new EnvironmentFailure(environmentFailure);
    log(`load over: ${attempts.length} attempts; healing`);

    // Heal: both servers up and ready.
    for (const name of ['a', 'b'] as const) if (!system.serverUp(name)) await system.startServer(name);
    for (const name of ['a', 'b'] as const) {
      const deadline = Date.now() + 30_000;
      while (Date.now() < deadline) {
        const ok = await fetch(`${system.instanceUrl(name)}/readyz`, { signal: AbortSignal.timeout(2_000) }).then((r) => r.ok, () => false);
        if (ok) break;
        await sleep(250);
      }
    }

    // Every auction whose end passed gets time to be ended by the scheduler or the guard.
    const endGraceMs = 10_000;
    const ids = auctions.map((a) => a.id);
    for (let deadline = Date.now() + 25_000; Date.now() < deadline; await sleep(500)) {
      const rows = await readAuctionRows(system.databaseUrl, ids);
      if (rows.every((r) => r.status === 'ended' || r.effectiveEndAt > Date.now())) break;
    }

    // Keys sent again after healing: each must get its first answer (or, never answered before, the ledger's).
    const byClient = new Map(bidders.map((b) => [b.client, b]));
    const finalRng = rng.fork('final');
    // Keys never answered are included: a client may come back for its answer later; if the ledger took the bid,
    // that answer must be the accept.
    const sample = [...sent];
    for (let i = 0; i < Math.min(profile.finalResends, sample.length); i++) {
      const pick = sample.splice(finalRng.int(0, sample.length - 1), 1)[0]!;
      const who = byClient.get(pick.key.split('-')[0]!)!;
      await placeBid(ctx, finalRng, who, pick, 'resend', { maxAttempts: 4 });
    }
    log(`resent ${Math.min(profile.finalResends, sent.length)} keys after healing`);

    // Probes: the engine's copy of every open auction must agree with the ledger (through both instances).
    for (const instance of ['a', 'b'] as Instance[]) {
      const who = { client: `probe-${instance}`, bidderId: `probe-${instance}`, token: await issueDevToken(JWT_SECRET, `probe-${instance}`, ['bidder']) };
      const rows = await readAuctionRows(system.databaseUrl, ids);
      for (const row of rows) {
        if (row.status !== 'active' || row.effectiveEndAt < Date.now() + 10_000) continue;
        const amount = row.currentWinnerId === null ? row.startPrice : row.currentPrice + incrementAt(row.increment, row.currentPrice);
        await placeBid(ctx, finalRng, who, { auctionId: row.id, key: `probe-${instance}-${row.version}`, amount }, 'probe', { maxAttempts: 5, expectVersion: row.version + 1, instance });
      }
    }

    // Viewers get time to reach the final versions.
    const finalRows = await readAuctionRows(system.databaseUrl, ids);
    const finalVersion = new Map(finalRows.map((r) => [r.id, r.version]));
    for (let deadline = Date.now() + 20_000; Date.now() < deadline; await sleep(250)) {
      if (viewers.every((v) => v.handle.lastVersion >= (finalVersion.get(v.record.auctionId) ?? 0))) break;
    }
    await Promise.all(viewers.map((v) => v.handle.stop()));

    const apiStates: ApiState[] = [];
    for (const instance of ['a', 'b'] as Instance[]) {
      for (const id of ids) {
        const { status, body } = await getAuction(ctx, instance, viewerToken, id);
        apiStates.push({ instance, auctionId: id, status, body: body as ApiState['body'] });
      }
    }
    const ledgerReadAt = Date.now();
    const ledger = await readLedger(system.databaseUrl, ids);
    return {
      seed,
      profile: profile.name,
      startedAt: loadStart,
      finishedAt: Date.now(),
      auctions,
      attempts,
      viewers: viewerRecords,
      faults,
      ledger,
      apiStates,
      ledgerReadAt,
      endGraceMs,
    };
  } finally {
    process.off('SIGINT', cleanup);
    process.off('SIGTERM', cleanup);
    const logs = join(ROOT, '.tmp/chaos', `logs-${seed}`);
    await system.stop(logs);
    log(`server and Postgres logs kept in ${logs}`);
  }
}

function printSummary(history: History, result: CheckResult, perKind: number) {
  const shownPerKind: Record<string, number> = {};
  for (const v of result.violations) {
    shownPerKind[v.kind] = (shownPerKind[v.kind] ?? 0) + 1;
    if (shownPerKind[v.kind]! <= perKind) log(`VIOLATION ${v.kind}${v.auctionId ? ` [${v.auctionId}]` : ''}: ${v.message}`);
  }
  for (const [kind, n] of Object.entries(shownPerKind)) if (n > perKind) log(`… and ${n - perKind} more ${kind} (pnpm chaos --check on the saved history lists them all)`);
  const faultsByKind: Record<string, number> = Object.fromEntries(FAULT_KINDS.map((k) => [k, 0]));
  for (const f of history.faults) faultsByKind[f.kind] = (faultsByKind[f.kind] ?? 0) + 1;
  const s = result.stats;
  const rows: Array<[string, string | number]> = [
    ['seed', history.seed],
    ['profile', history.profile],
    ['duration (load + heal)', `${Math.round((history.finishedAt - history.startedAt) / 1_000)} s`],
    ['auctions', history.auctions.length],
    ['bids (distinct keys)', s.bids],
    ['attempts', s.attempts],
    ['retries (after a transient outcome)', s.retries],
    ['resends (of an answered key)', s.resends],
    ['accepted / rejected (first answers)', `${s.accepted} / ${s.rejected}`],
    ['transient outcomes', s.transient],
    ['SSE viewers / frames', `${s.viewers} / ${s.frames}`],
    ...Object.entries(faultsByKind).map(([k, n]): [string, number] => [`fault: ${k}`, n]),
    ...Object.entries(result.byKind).map(([k, n]): [string, number] => [`violation: ${k}`, n]),
  ];
  console.log('\n| chaos run | |\n|---|---|');
  for (const [k, v] of rows) console.log(`| ${k} | ${v} |`);
  console.log(`\nchaos seed ${history.seed}: ${result.violations.length} violations`);
}

const args = parseArgs(process.argv.slice(2));
let history: History;
if (args.check) {
  history = JSON.parse(readFileSync(args.check, 'utf8')) as History;
} else {
  log(`seed ${args.seed} (replay with: pnpm chaos --${args.profile.name === 'long' ? 'long' : 'quick'} --seed ${args.seed})`);
  try {
    history = await runChaos(args.profile, args.seed);
  } catch (error) {
    const what = error instanceof EnvironmentFailure ? 'environment failure' : 'harness failure';
    console.log(`\nchaos seed ${args.seed}: no verdict, ${what}: ${(error as Error).message}`);
    process.exit(2);
  }
  const dir = join(ROOT, '.tmp/chaos');
  mkdirSync(dir, { recursive: true });
  const file = join(dir, `history-${args.seed}.json`);
  writeFileSync(file, JSON.stringify(history));
  log(`history saved to ${file} (check it again with: pnpm chaos --check ${file})`);
}
const result = checkHistory(history);
printSummary(history, result, args.check ? Infinity : 5);
process.exit(result.violations.length > 0 ? 1 : 0);
