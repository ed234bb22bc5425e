/** The run-queue figures `pnpm bench bids` gives per window (plain numbers, and this process's own counters). */
import { describe, expect, it } from 'vitest';
import { readSchedstat, runQueueFigures, type SchedSample } from '../bench/run-queue.js';

const ms = 1e6; // ns per ms
const at = (atMs: number, runMs: number, waitMs: number): SchedSample => ({ atMs, runNs: runMs * ms, waitNs: waitMs * ms });

describe('how long a thread waited for a core', () => {
  it('gives the wait per second, its share of the wanted time, and the longest wait within the span', () => {
    // 1 s sampled every 50 ms: 600 ms run, 150 ms waited, 90 of it between 300 and 400 ms.
    const samples: SchedSample[] = [];
    for (let t = 0; t <= 1_000; t += 50) {
      const waited = t <= 300 ? (t / 300) * 30 : t <= 400 ? 30 + ((t - 300) / 100) * 90 : 120 + ((t - 400) / 600) * 30;
      samples.push(at(t, (t / 1_000) * 600, waited));
    }
    const figures = runQueueFigures(samples)!;
    expect(figures.waitMsPerSecond).toBeCloseTo(150, 6);
    expect(figures.waitPercent).toBeCloseTo(20, 6); // 150 of 750
    expect(figures.longestWaitMs).toBeCloseTo(90, 6);
    // A wider span takes in more of the wait around that stretch.
    expect(runQueueFigures(samples, 200)!.longestWaitMs).toBeCloseTo(90 + 5 + 5, 6);
  });

  it('never joins samples further apart than the span, and gives nothing for fewer than two', () => {
    // 40 ms waited over a 300 ms gap between two samples: no two samples lie within 100 ms, so no stretch is known.
    expect(runQueueFigures([at(0, 0, 0), at(300, 100, 40)])).toEqual({ waitMsPerSecond: 40 / 0.3, waitPercent: (40 / 140) * 100, longestWaitMs: 0 });
    expect(runQueueFigures([at(0, 0, 0), at(300, 100, 40)], 300)!.longestWaitMs).toBeCloseTo(40, 6);
    expect(runQueueFigures([at(0, 0, 0)])).toBeNull();
    expect(runQueueFigures([])).toBeNull();
    expect(runQueueFigures([at(0, 0, 0), at(100, 0, 0)])).toEqual({ waitMsPerSecond: 0, waitPercent: 0, longestWaitMs: 0 });
  });

  it("reads a live thread's counters from Linux, and null for a thread that does not exist", () => {
    const now = readSchedstat(process.pid);
    expect(now).not.toBeNull();
    expect(now!.runNs).toBeGreaterThan(0);
    expect(now!.waitNs).toBeGreaterThanOrEqual(0);
    expect(readSchedstat(process.pid, 2 ** 30)).toBeNull();
  });
});
