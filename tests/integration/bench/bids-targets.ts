/**
 * Issue 14's targets, judged from one run of `pnpm bench bids` (medians of its rounds): each target with what this
 * run measured and whether it held. A target whose setups or workloads were not run is `null` (not judged). Given
 * the run's rounds too, each target also says in how many rounds it held, with each round's ratio, and a comparison
 * is judged on the median of those ratios: each is a paired comparison (a round's windows run minutes apart at most),
 * where a ratio of two medians may pair one setup's good round with the other's bad one. A target held in half the
 * rounds sits on its line, one missed in most rounds is a miss.
 */

/** What the targets read of one setup's summary of one workload. */
export interface TargetInputs {
  decisionsPerSecond: number;
  p99Ms: number;
  /** When given, a p99 comparison also says how much of it is the tail's shape (see {@link tailShape}). */
  meanMs?: number;
  /** When given, the open-loop target also says how long each server's main thread waited for a core (ms/s). */
  serverRunQueueMsPerSecond?: number;
}
export type TargetSummary = Partial<Record<string, Partial<Record<'hot' | 'spread' | 'open', TargetInputs>>>>;

export interface TargetVerdict {
  target: string;
  /** What was measured, in words and numbers; '–' when not run. */
  measured: string;
  held: boolean | null;
  /** Given the rounds: in how many of the rounds that ran both sides the target held. */
  rounds?: { held: number; judged: number };
}

const ratio = (x: number, y: number) => `${(x / y).toFixed(3)}×`;

/**
 * A p99 against another's, split in two: p99 / mean is the tail's shape, and the ratio of the p99s is the ratio of the
 * shapes times the ratio of the means. So a p99 at most `limit` × the other's needs a mean at most `limit` × (their
 * shape / ours) × theirs. In a closed loop the mean is the connections over the decisions/s (Little's law), so a
 * lower mean means more decisions/s, and the text says how many more that is.
 */
export function tailShape(outbid: TargetInputs, other: TargetInputs, limit: number): string | null {
  if (outbid.meanMs === undefined || other.meanMs === undefined || !(outbid.meanMs > 0) || !(other.meanMs > 0)) return null;
  const ours = outbid.p99Ms / outbid.meanMs;
  const theirs = other.p99Ms / other.meanMs;
  const meanNeeded = (limit * theirs) / ours;
  return (
    `p99 / mean ${ours.toFixed(2)} vs ${theirs.toFixed(2)}: at these shapes it needs a mean ≤ ${meanNeeded.toFixed(3)}× theirs ` +
    `(closed loop: ≥ ${(1 / meanNeeded).toFixed(2)}× their decisions/s); this run ${(outbid.meanMs / other.meanMs).toFixed(3)}×`
  );
}

type Workload = 'hot' | 'spread' | 'open';
/** A target that compares an Outbid setup with another setup, by decisions/s or by p99. */
interface Comparison {
  target: string;
  outbid: [setup: string, workload: Workload];
  other: [setup: string, workload: Workload];
  pick: 'rate' | 'p99';
  limit: number;
  /** Held when the ratio is at most `limit`; otherwise at least. */
  atMost?: boolean;
}
const OPEN_TARGET = 'Redis + Postgres, open loop: p99 ≤ 20 ms';
const OPEN_LIMIT_MS = 20;
/** The targets in the order the issue lists them; 'open' is the open-loop target, an absolute limit. */
const TARGETS: (Comparison | 'open')[] = [
  { target: 'Redis + Postgres, hot: ≥ 1.5× the peer', outbid: ['redis+pg', 'hot'], other: ['peer', 'hot'], pick: 'rate', limit: 1.5 },
  { target: 'Redis + Postgres, 1,000 auctions: ≥ 2× the peer', outbid: ['redis+pg', 'spread'], other: ['peer', 'spread'], pick: 'rate', limit: 2 },
  { target: 'Redis + Postgres, hot: ≥ 50% of the bare route', outbid: ['redis+pg', 'hot'], other: ['bare', 'hot'], pick: 'rate', limit: 0.5 },
  { target: 'Redis + Postgres, 1,000 auctions: ≥ 50% of the bare route', outbid: ['redis+pg', 'spread'], other: ['bare', 'spread'], pick: 'rate', limit: 0.5 },
  { target: "Redis + Postgres, hot: p99 at most half the peer's", outbid: ['redis+pg', 'hot'], other: ['peer', 'hot'], pick: 'p99', limit: 0.5, atMost: true },
  { target: "Redis + Postgres, 1,000 auctions: p99 at most half the peer's", outbid: ['redis+pg', 'spread'], other: ['peer', 'spread'], pick: 'p99', limit: 0.5, atMost: true },
  'open',
  { target: "Embedded, hot: at least the peer's decisions/s", outbid: ['embedded', 'hot'], other: ['peer', 'hot'], pick: 'rate', limit: 1 },
  { target: "Embedded, 1,000 auctions: at least the peer's decisions/s", outbid: ['embedded', 'spread'], other: ['peer', 'spread'], pick: 'rate', limit: 1 },
  { target: "Embedded, hot: p99 no worse than the peer's", outbid: ['embedded', 'hot'], other: ['peer', 'hot'], pick: 'p99', limit: 1, atMost: true },
  { target: "Embedded, 1,000 auctions: p99 no worse than the peer's", outbid: ['embedded', 'spread'], other: ['peer', 'spread'], pick: 'p99', limit: 1, atMost: true },
];

const pair = (c: Comparison, s: TargetSummary) => [s[c.outbid[0]]?.[c.outbid[1]], s[c.other[0]]?.[c.other[1]]] as const;
const valueOf = (c: Comparison, i: TargetInputs) => (c.pick === 'rate' ? i.decisionsPerSecond : i.p99Ms);
const meets = (c: Comparison, r: number) => (c.atMost ? r <= c.limit : r >= c.limit);

/**
 * Each round's value of one target (a ratio, or for the open loop a p99), and in how many rounds it held; null when
 * no round ran what the target needs. Each round's windows ran minutes apart at most, so a round is a paired comparison.
 */
function byRound(rounds: TargetSummary[], judge: (s: TargetSummary) => { value: number; held: boolean } | null, shown: (v: number) => string) {
  const judged = rounds.map(judge).filter((j) => j !== null);
  if (judged.length === 0) return null;
  const held = judged.filter((j) => j.held).length;
  return {
    rounds: { held, judged: judged.length },
    median: median(judged.map((j) => j.value)),
    text: `; held in ${held} of ${judged.length} rounds (${judged.map((j) => shown(j.value)).join(' ')})`,
  };
}

/** The middle of the finite values (the mean of the middle two for an even count); NaN when there are none. */
export function median(values: readonly number[]): number {
  const s = values.filter((x) => Number.isFinite(x)).sort((a, b) => a - b);
  if (s.length === 0) return NaN;
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
}

function judgeComparison(c: Comparison, summary: TargetSummary, rounds: TargetSummary[]): TargetVerdict {
  const [outbid, other] = pair(c, summary);
  if (!outbid || !other) return { target: c.target, measured: '–', held: null };
  const [x, y] = [valueOf(c, outbid), valueOf(c, other)];
  const unit = c.pick === 'rate' ? '/s' : ' ms';
  const shown = (v: number) => (c.pick === 'rate' ? Math.round(v).toLocaleString('en-US') : v.toFixed(1));
  const shape = c.pick === 'p99' ? tailShape(outbid, other, c.limit) : null;
  const perRound = byRound(
    rounds,
    (s) => {
      const [o, t] = pair(c, s);
      if (!o || !t) return null;
      const r = valueOf(c, o) / valueOf(c, t);
      return { value: r, held: meets(c, r) };
    },
    (r) => r.toFixed(c.pick === 'rate' ? 2 : 3),
  );
  // Judged on the rounds' own ratios when there are any (see the top of this file), else on the medians' ratio.
  const judgedRatio = perRound ? perRound.median : x / y;
  const judgedText = perRound ? `; median of the rounds' ratios ${ratio(perRound.median, 1)}` : '';
  return {
    target: c.target,
    measured: `${shown(x)} vs ${shown(y)}${unit} (${ratio(x, y)})${shape ? `; ${shape}` : ''}${perRound?.text ?? ''}${judgedText}`,
    held: meets(c, judgedRatio),
    ...(perRound ? { rounds: perRound.rounds } : {}),
  };
}

function judgeOpenLoop(summary: TargetSummary, rounds: TargetSummary[]): TargetVerdict {
  const open = summary['redis+pg']?.open;
  if (!open) return { target: OPEN_TARGET, measured: '–', held: null };
  // The bare route at the same offered rate: how much of the limit the machine and the HTTP stack alone take.
  const bareOpen = summary.bare?.open;
  // A server kept off a core cannot answer: the wait is the machine's, the same for the bare route.
  const waited = (s: TargetInputs) =>
    s.serverRunQueueMsPerSecond !== undefined && Number.isFinite(s.serverRunQueueMsPerSecond) ? ` (its server waited for a core ${s.serverRunQueueMsPerSecond.toFixed(0)} ms/s)` : '';
  const perRound = byRound(
    rounds,
    (s) => {
      const o = s['redis+pg']?.open;
      return o ? { value: o.p99Ms, held: o.p99Ms <= OPEN_LIMIT_MS } : null;
    },
    (v) => v.toFixed(1),
  );
  return {
    target: OPEN_TARGET,
    measured: `${open.p99Ms.toFixed(1)} ms${waited(open)}${bareOpen ? `; the bare route at the same rate ${bareOpen.p99Ms.toFixed(1)} ms${waited(bareOpen)}` : ''}${perRound?.text ?? ''}`,
    held: open.p99Ms <= OPEN_LIMIT_MS,
    ...(perRound ? { rounds: perRound.rounds } : {}),
  };
}

export function issue14Targets(summary: TargetSummary, rounds: TargetSummary[] = []): TargetVerdict[] {
  return TARGETS.map((t) => (t === 'open' ? judgeOpenLoop(summary, rounds) : judgeComparison(t, summary, rounds)));
}

/** The verdicts as a Markdown table. */
export function targetsTable(verdicts: TargetVerdict[]): string {
  const rows = verdicts.map((v) => `| ${v.target} | ${v.measured} | ${v.held === null ? 'not run' : v.held ? 'held' : 'missed'} |`);
  return ['| target | measured | |', '|---|---|---|', ...rows].join('\n');
}
