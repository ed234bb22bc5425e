import { systemClock, type Clock } from '../ports/clock.js';
import {
  SCHEDULER_SPECIFICATION_VERSION,
  type JobHandler,
  type JobKind,
  type ScheduledJob,
  type Scheduler,
} from '../ports/scheduler.js';

export interface MemorySchedulerOptions {
  clock?: Clock;
  /** Delay before a job whose handler threw is delivered again. */
  retryDelayMs?: number;
  onError?: (error: unknown, job: ScheduledJob) => void;
}

export interface MemoryScheduler extends Scheduler {
  /** Jobs currently armed, soonest first. */
  pending(): ScheduledJob[];
  /** Resolves when no handler is running. */
  idle(): Promise<void>;
}

/** In-process timers on the given clock: the embedded default. A job lives as long as this process. */
export function createMemoryScheduler(options: MemorySchedulerOptions = {}): MemoryScheduler {
  const clock = options.clock ?? systemClock;
  const retryDelayMs = options.retryDelayMs ?? 1_000;
  const jobs = new Map<string, { job: ScheduledJob; cancelTimer: () => void }>();
  const running = new Set<Promise<void>>();
  let handler: JobHandler | null = null;
  let closed = false;

  const slot = (auctionId: string, kind: JobKind) => `${auctionId}\u0000${kind}`;

  const fire = (job: ScheduledJob) => {
    if (closed || !handler) return;
    const current = jobs.get(slot(job.auctionId, job.kind));
    if (!current || current.job !== job) return; // replaced or cancelled meanwhile
    const run = (async () => {
      try {
        const outcome = await handler!(job);
        if (jobs.get(slot(job.auctionId, job.kind))?.job !== job) return; // re-armed while running
        if (outcome.kind === 'rearm') arm({ ...job, at: outcome.at });
        else jobs.delete(slot(job.auctionId, job.kind));
      } catch (error) {
        options.onError?.(error, job);
        if (jobs.get(slot(job.auctionId, job.kind))?.job === job) arm({ ...job, at: clock.now() + retryDelayMs });
      }
    })();
    running.add(run);
    void run.finally(() => running.delete(run));
  };

  const arm = (job: ScheduledJob) => {
    const key = slot(job.auctionId, job.kind);
    jobs.get(key)?.cancelTimer();
    const entry = { job, cancelTimer: () => {} };
    jobs.set(key, entry);
    if (handler) entry.cancelTimer = clock.setTimer(job.at, () => fire(job));
  };

  return {
    specificationVersion: SCHEDULER_SPECIFICATION_VERSION,
    name: 'memory',
    async arm(job) {
      if (!closed) arm({ ...job });
    },
    async cancel(auctionId, kind) {
      for (const k of kind ? [kind] : (['start', 'end'] as const)) {
        jobs.get(slot(auctionId, k))?.cancelTimer();
        jobs.delete(slot(auctionId, k));
      }
    },
    async start(jobHandler) {
      handler = jobHandler;
      for (const { job } of [...jobs.values()]) arm(job);
    },
    pending() {
      return [...jobs.values()].map((e) => ({ ...e.job })).sort((a, b) => a.at - b.at);
    },
    async idle() {
      while (running.size > 0) await Promise.all([...running]);
    },
    async close() {
      closed = true;
      for (const e of jobs.values()) e.cancelTimer();
      jobs.clear();
      await Promise.all([...running]);
    },
  };
}
