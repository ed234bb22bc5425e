/**
 * How long a server's thread waited for a core. Linux keeps, per thread, the time it ran and the time it was
 * runnable but waiting on a run queue (/proc/<pid>/task/<tid>/schedstat: ns on a CPU, ns waiting, timeslices). On a
 * machine whose cores the load generator, the server, Redis and Postgres share, an answer can be late only because
 * the server's thread had no core to run on; these figures tell that wait from the server's own work.
 */
import { readFileSync } from 'node:fs';

/** One reading of a thread's counters, at `atMs` (performance.now()). */
export interface SchedSample {
  atMs: number;
  runNs: number;
  waitNs: number;
}

/** The thread's counters now; null where the kernel keeps none or the thread is gone. */
export function readSchedstat(pid: number, tid = pid): { runNs: number; waitNs: number } | null {
  try {
    const [runNs, waitNs] = readFileSync(`/proc/${pid}/task/${tid}/schedstat`, 'utf8').trim().split(/\s+/).map(Number);
    return Number.isFinite(runNs) && Number.isFinite(waitNs) ? { runNs: runNs!, waitNs: waitNs! } : null;
  } catch {
    return null;
  }
}

export interface RunQueueFigures {
  /** Run-queue wait per second of the sampled span, ms. */
  waitMsPerSecond: number;
  /** Of the time the thread wanted a core (ran or waited), the share it waited, %. */
  waitPercent: number;
  /** The most it waited between two samples at most `spanMs` apart, ms: its longest stretch kept off a core. */
  longestWaitMs: number;
}

/** The figures of a series of samples in time order; null with fewer than two. */
export function runQueueFigures(samples: readonly SchedSample[], spanMs = 100): RunQueueFigures | null {
  if (samples.length < 2) return null;
  const first = samples[0]!;
  const last = samples.at(-1)!;
  const waitNs = last.waitNs - first.waitNs;
  const runNs = last.runNs - first.runNs;
  let longestNs = 0;
  let j = 0;
  for (let i = 0; i < samples.length; i++) {
    j = Math.max(j, i);
    while (j + 1 < samples.length && samples[j + 1]!.atMs - samples[i]!.atMs <= spanMs) j++;
    longestNs = Math.max(longestNs, samples[j]!.waitNs - samples[i]!.waitNs);
  }
  return {
    waitMsPerSecond: waitNs / 1e6 / Math.max(1e-9, (last.atMs - first.atMs) / 1_000),
    waitPercent: runNs + waitNs > 0 ? (waitNs / (runNs + waitNs)) * 100 : 0,
    longestWaitMs: longestNs / 1e6,
  };
}
