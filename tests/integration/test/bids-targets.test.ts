/** How `pnpm bench bids` judges issue 14's targets from a run's medians (no services: plain numbers). */
import { describe, expect, it } from 'vitest';
import { issue14Targets, tailShape, targetsTable, type TargetSummary } from '../bench/bids-targets.js';

const at = (decisionsPerSecond: number, p99Ms: number) => ({ decisionsPerSecond, p99Ms });
const held = (summary: TargetSummary) => Object.fromEntries(issue14Targets(summary).map((v) => [v.target, v.held]));

describe("issue 14's targets from a bench run", () => {
  const run: TargetSummary = {
    bare: { hot: at(6_400, 23), spread: at(6_100, 23) },
    peer: { hot: at(2_000, 54), spread: at(1_800, 65) },
    'redis+pg': { hot: at(4_800, 27), spread: at(3_200, 36), open: at(1_000, 19.9) },
    embedded: { hot: at(4_600, 33), spread: at(3_300, 66) },
  };

  it('judges each target by its own ratio and direction', () => {
    expect(held(run)).toEqual({
      'Redis + Postgres, hot: ≥ 1.5× the peer': true,
      'Redis + Postgres, 1,000 auctions: ≥ 2× the peer': false,
      'Redis + Postgres, hot: ≥ 50% of the bare route': true,
      'Redis + Postgres, 1,000 auctions: ≥ 50% of the bare route': true,
      "Redis + Postgres, hot: p99 at most half the peer's": true,
      "Redis + Postgres, 1,000 auctions: p99 at most half the peer's": false,
      'Redis + Postgres, open loop: p99 ≤ 20 ms': true,
      "Embedded, hot: at least the peer's decisions/s": true,
      "Embedded, 1,000 auctions: at least the peer's decisions/s": true,
      "Embedded, hot: p99 no worse than the peer's": true,
      "Embedded, 1,000 auctions: p99 no worse than the peer's": false,
    });
  });

  it('holds a target met exactly, and misses one just past its limit', () => {
    const edge = held({ peer: { hot: at(2_000, 50) }, 'redis+pg': { hot: at(3_000, 25), open: at(1_000, 20) } });
    expect(edge['Redis + Postgres, hot: ≥ 1.5× the peer']).toBe(true);
    expect(edge["Redis + Postgres, hot: p99 at most half the peer's"]).toBe(true);
    expect(edge['Redis + Postgres, open loop: p99 ≤ 20 ms']).toBe(true);
    const past = held({ peer: { hot: at(2_000, 50) }, 'redis+pg': { hot: at(2_999, 25.1), open: at(1_000, 20.1) } });
    expect(past['Redis + Postgres, hot: ≥ 1.5× the peer']).toBe(false);
    expect(past["Redis + Postgres, hot: p99 at most half the peer's"]).toBe(false);
    expect(past['Redis + Postgres, open loop: p99 ≤ 20 ms']).toBe(false);
  });

  it('leaves a target unjudged when its setup or workload was not run, and says so in the table', () => {
    const partial: TargetSummary = { peer: { hot: at(2_000, 54) }, 'redis+pg': { hot: at(4_800, 27) } };
    const verdicts = issue14Targets(partial);
    expect(verdicts.find((v) => v.target.includes('≥ 50% of the bare route'))).toMatchObject({ measured: '–', held: null });
    expect(verdicts.find((v) => v.target.includes('open loop'))).toMatchObject({ measured: '–', held: null });
    expect(verdicts.find((v) => v.target === 'Redis + Postgres, hot: ≥ 1.5× the peer')).toEqual({
      target: 'Redis + Postgres, hot: ≥ 1.5× the peer',
      measured: '4,800 vs 2,000/s (2.400×)',
      held: true,
    });
    const table = targetsTable(verdicts);
    expect(table).toContain('| Redis + Postgres, hot: ≥ 1.5× the peer | 4,800 vs 2,000/s (2.400×) | held |');
    expect(table).toContain('| Redis + Postgres, open loop: p99 ≤ 20 ms | – | not run |');
    expect(table).toContain("| Redis + Postgres, hot: p99 at most half the peer's | 27.0 vs 54.0 ms (0.500×) | held |");
  });

  it("names the bare route's own open-loop p99 beside the open-loop target, when the bare route ran it", () => {
    const open = (summary: TargetSummary) => issue14Targets(summary).find((v) => v.target.includes('open loop'));
    expect(open({ 'redis+pg': { open: at(1_000, 83.5) }, bare: { open: at(1_000, 18.8) } })).toEqual({
      target: 'Redis + Postgres, open loop: p99 ≤ 20 ms',
      measured: '83.5 ms; the bare route at the same rate 18.8 ms',
      held: false,
    });
    expect(open({ 'redis+pg': { open: at(1_000, 19.3) } })).toMatchObject({ measured: '19.3 ms', held: true });
    // With each server's wait for a core, when the bench could read it.
    const waiting = (ms: number) => ({ serverRunQueueMsPerSecond: ms });
    expect(open({ 'redis+pg': { open: { ...at(1_000, 81.6), ...waiting(212.4) } }, bare: { open: { ...at(1_000, 116.9), ...waiting(251.6) } } })!.measured).toBe(
      '81.6 ms (its server waited for a core 212 ms/s); the bare route at the same rate 116.9 ms (its server waited for a core 252 ms/s)',
    );
    expect(open({ 'redis+pg': { open: { ...at(1_000, 19.3), ...waiting(Number.NaN) } } })).toMatchObject({ measured: '19.3 ms', held: true });
  });

  it("splits a p99 against another's into the tail's shape and the mean, when the means are known", () => {
    // Ours: p99 31.5 over a mean of 15 (shape 2.1). Theirs: 54 over 30 (1.8). Half their p99 then needs a mean of
    // 0.5 × 1.8 / 2.1 = 0.4286× theirs, i.e. 2.33× their decisions/s in a closed loop; this run's is 0.5×.
    expect(tailShape({ decisionsPerSecond: 4_000, p99Ms: 31.5, meanMs: 15 }, { decisionsPerSecond: 2_000, p99Ms: 54, meanMs: 30 }, 0.5)).toBe(
      'p99 / mean 2.10 vs 1.80: at these shapes it needs a mean ≤ 0.429× theirs (closed loop: ≥ 2.33× their decisions/s); this run 0.500×',
    );
    expect(tailShape({ decisionsPerSecond: 4_000, p99Ms: 31.5 }, { decisionsPerSecond: 2_000, p99Ms: 54, meanMs: 30 }, 0.5)).toBeNull();
    expect(tailShape({ decisionsPerSecond: 4_000, p99Ms: 31.5, meanMs: 0 }, { decisionsPerSecond: 2_000, p99Ms: 54, meanMs: 30 }, 0.5)).toBeNull();

    const verdicts = issue14Targets({
      peer: { hot: { decisionsPerSecond: 2_000, p99Ms: 54, meanMs: 30 } },
      'redis+pg': { hot: { decisionsPerSecond: 4_000, p99Ms: 31.5, meanMs: 15 } },
    });
    const p99 = verdicts.find((v) => v.target === "Redis + Postgres, hot: p99 at most half the peer's")!;
    expect(p99.held).toBe(false);
    expect(p99.measured).toBe('31.5 vs 54.0 ms (0.583×); p99 / mean 2.10 vs 1.80: at these shapes it needs a mean ≤ 0.429× theirs (closed loop: ≥ 2.33× their decisions/s); this run 0.500×');
    // A rate target says nothing of tails.
    expect(verdicts.find((v) => v.target === 'Redis + Postgres, hot: ≥ 1.5× the peer')!.measured).toBe('4,000 vs 2,000/s (2.000×)');
  });
  it('counts the rounds in which each target held, each round judged on its own pair of windows', () => {
    const rounds: TargetSummary[] = [
      // p99 0.471 (held), 2.14× (held), open 19.0 ms (held)
      { peer: { spread: at(700, 170) }, 'redis+pg': { spread: at(1_500, 80), open: at(1_000, 19) } },
      // p99 0.569 (missed), 1.86× (missed), open 25.0 ms (missed)
      { peer: { spread: at(700, 160) }, 'redis+pg': { spread: at(1_300, 91), open: at(1_000, 25) } },
      // p99 0.528 (missed), 2.33× (held); no open loop in this round
      { peer: { spread: at(600, 180) }, 'redis+pg': { spread: at(1_400, 95) } },
    ];
    const summary: TargetSummary = { peer: { spread: at(700, 170) }, 'redis+pg': { spread: at(1_400, 91), open: at(1_000, 22) } };
    const verdict = (target: string) => issue14Targets(summary, rounds).find((v) => v.target === target)!;

    expect(verdict("Redis + Postgres, 1,000 auctions: p99 at most half the peer's")).toEqual({
      target: "Redis + Postgres, 1,000 auctions: p99 at most half the peer's",
      measured: "91.0 vs 170.0 ms (0.535×); held in 1 of 3 rounds (0.471 0.569 0.528); median of the rounds' ratios 0.528×",
      held: false,
      rounds: { held: 1, judged: 3 },
    });
    expect(verdict('Redis + Postgres, 1,000 auctions: ≥ 2× the peer')).toMatchObject({
      measured: "1,400 vs 700/s (2.000×); held in 2 of 3 rounds (2.14 1.86 2.33); median of the rounds' ratios 2.143×",
      held: true,
      rounds: { held: 2, judged: 3 },
    });
    // The open loop counts only the rounds that ran it.
    expect(verdict('Redis + Postgres, open loop: p99 ≤ 20 ms')).toMatchObject({ measured: '22.0 ms; held in 1 of 2 rounds (19.0 25.0)', held: false, rounds: { held: 1, judged: 2 } });
    // A target no round could judge says nothing of rounds; one not run at all stays unjudged.
    expect(issue14Targets({ peer: { hot: at(2_000, 54) }, 'redis+pg': { hot: at(4_800, 27) } }, rounds).find((v) => v.target === 'Redis + Postgres, hot: ≥ 1.5× the peer')).toEqual({
      target: 'Redis + Postgres, hot: ≥ 1.5× the peer',
      measured: '4,800 vs 2,000/s (2.400×)',
      held: true,
    });
    expect(verdict('Redis + Postgres, hot: ≥ 1.5× the peer')).toEqual({ target: 'Redis + Postgres, hot: ≥ 1.5× the peer', measured: '–', held: null });
    // The order is the issue's, with or without rounds.
    expect(issue14Targets(summary, rounds).map((v) => v.target)).toEqual(issue14Targets(summary).map((v) => v.target));
    expect(issue14Targets(summary).map((v) => v.target)[6]).toBe('Redis + Postgres, open loop: p99 ≤ 20 ms');
  });

  it("judges a comparison on its rounds' own ratios, not on the ratio of medians taken from different rounds", () => {
    // Outbid's median round (3,400) and the bare route's (6,000) are different rounds: 0.567× on the medians, while
    // round by round it was 0.57, 0.42 and 0.48 (as in a run of 2026-11-28).
    const rounds: TargetSummary[] = [
      { bare: { spread: at(6_000, 25) }, 'redis+pg': { spread: at(3_400, 50) } },
      { bare: { spread: at(8_100, 25) }, 'redis+pg': { spread: at(3_400, 50) } },
      { bare: { spread: at(5_000, 25) }, 'redis+pg': { spread: at(2_400, 50) } },
    ];
    const summary: TargetSummary = { bare: { spread: at(6_000, 25) }, 'redis+pg': { spread: at(3_400, 50) } };
    const target = 'Redis + Postgres, 1,000 auctions: ≥ 50% of the bare route';
    expect(held(summary)[target]).toBe(true); // without rounds: the medians' ratio, as before
    expect(issue14Targets(summary, rounds).find((v) => v.target === target)).toEqual({
      target,
      measured: "3,400 vs 6,000/s (0.567×); held in 1 of 3 rounds (0.57 0.42 0.48); median of the rounds' ratios 0.480×",
      held: false,
      rounds: { held: 1, judged: 3 },
    });
    // An even number of rounds: the mean of the middle two ratios (0.48 and 0.52 → 0.50, held exactly).
    const even: TargetSummary[] = [0.42, 0.48, 0.52, 0.6].map((r) => ({ bare: { spread: at(5_000, 25) }, 'redis+pg': { spread: at(5_000 * r, 50) } }));
    expect(issue14Targets(summary, even).find((v) => v.target === target)).toMatchObject({ held: true, rounds: { held: 2, judged: 4 } });
  });
});
