/**
 * Issue 14's targets, judged from one run of `pnpm bench bids` (medians of its rounds): each target with what this
 * run measured and whether it held. A target whose setups or workloads were not run is `null` (not judged).
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

export function issue14Targets(summary: TargetSummary): TargetVerdict[] {
  const get = (setup: string, w: 'hot' | 'spread' | 'open') => summary[setup]?.[w];
  const verdicts: TargetVerdict[] = [];
  /** `outbid` against `other` by `pick`: held when the ratio is at least (or, `atMost`, at most) `limit`. */
  const compare = (target: string, outbid: TargetInputs | undefined, other: TargetInputs | undefined, pick: 'rate' | 'p99', limit: number, atMost = false) => {
    if (!outbid || !other) return verdicts.push({ target, measured: '–', held: null });
    const [x, y] = pick === 'rate' ? [outbid.decisionsPerSecond, other.decisionsPerSecond] : [outbid.p99Ms, other.p99Ms];
    const unit = pick === 'rate' ? '/s' : ' ms';
    const shown = (v: number) => (pick === 'rate' ? Math.round(v).toLocaleString('en-US') : v.toFixed(1));
    const r = x / y;
    const shape = pick === 'p99' ? tailShape(outbid, other, limit) : null;
    verdicts.push({ target, measured: `${shown(x)} vs ${shown(y)}${unit} (${ratio(x, y)})${shape ? `; ${shape}` : ''}`, held: atMost ? r <= limit : r >= limit });
  };
  compare('Redis + Postgres, hot: ≥ 1.5× the peer', get('redis+pg', 'hot'), get('peer', 'hot'), 'rate', 1.5);
  compare('Redis + Postgres, 1,000 auctions: ≥ 2× the peer', get('redis+pg', 'spread'), get('peer', 'spread'), 'rate', 2);
  compare('Redis + Postgres, hot: ≥ 50% of the bare route', get('redis+pg', 'hot'), get('bare', 'hot'), 'rate', 0.5);
  compare('Redis + Postgres, 1,000 auctions: ≥ 50% of the bare route', get('redis+pg', 'spread'), get('bare', 'spread'), 'rate', 0.5);
  compare("Redis + Postgres, hot: p99 at most half the peer's", get('redis+pg', 'hot'), get('peer', 'hot'), 'p99', 0.5, true);
  compare("Redis + Postgres, 1,000 auctions: p99 at most half the peer's", get('redis+pg', 'spread'), get('peer', 'spread'), 'p99', 0.5, true);
  const open = get('redis+pg', 'open');
  // The bare route at the same offered rate: how much of the limit the machine and the HTTP stack alone take.
  const bareOpen = get('bare', 'open');
  const openTarget = 'Redis + Postgres, open loop: p99 ≤ 20 ms';
  // A server kept off a core cannot answer: the wait is the machine's, the same for the bare route.
  const waited = (s: TargetInputs) =>
    s.serverRunQueueMsPerSecond !== undefined && Number.isFinite(s.serverRunQueueMsPerSecond) ? ` (its server waited for a core ${s.serverRunQueueMsPerSecond.toFixed(0)} ms/s)` : '';
  verdicts.push(
    open
      ? {
          target: openTarget,
          measured: `${open.p99Ms.toFixed(1)} ms${waited(open)}${bareOpen ? `; the bare route at the same rate ${bareOpen.p99Ms.toFixed(1)} ms${waited(bareOpen)}` : ''}`,
          held: open.p99Ms <= 20,
        }
      : { target: openTarget, measured: '–', held: null },
  );
  compare("Embedded, hot: at least the peer's decisions/s", get('embedded', 'hot'), get('peer', 'hot'), 'rate', 1);
  compare("Embedded, 1,000 auctions: at least the peer's decisions/s", get('embedded', 'spread'), get('peer', 'spread'), 'rate', 1);
  compare("Embedded, hot: p99 no worse than the peer's", get('embedded', 'hot'), get('peer', 'hot'), 'p99', 1, true);
  compare("Embedded, 1,000 auctions: p99 no worse than the peer's", get('embedded', 'spread'), get('peer', 'spread'), 'p99', 1, true);
  return verdicts;
}

/** The verdicts as a Markdown table. */
export function targetsTable(verdicts: TargetVerdict[]): string {
  const rows = verdicts.map((v) => `| ${v.target} | ${v.measured} | ${v.held === null ? 'not run' : v.held ? 'held' : 'missed'} |`);
  return ['| target | measured | |', '|---|---|---|', ...rows].join('\n');
}
