export const SCHEDULER_SPECIFICATION_VERSION = 'v1';

export type JobKind = 'start' | 'end';

export interface ScheduledJob {
  auctionId: string;
  kind: JobKind;
  /** Epoch ms when the job is due. */
  at: number;
}

/** What the handler made of a due job: finished, or due again later (soft close moved the end). */
export type JobOutcome = { kind: 'done' } | { kind: 'rearm'; at: number };

export type JobHandler = (job: ScheduledJob) => Promise<JobOutcome>;

/**
 * Runs start and end transitions at their time. One job per (auction, kind): arming again replaces it.
 * A job whose handler throws (or whose worker dies) is delivered again.
 */
export interface Scheduler {
  readonly specificationVersion: typeof SCHEDULER_SPECIFICATION_VERSION;
  readonly name: string;
  arm(job: ScheduledJob): Promise<void>;
  cancel(auctionId: string, kind?: JobKind): Promise<void>;
  /** Starts delivering due jobs to `handler`. */
  start(handler: JobHandler): Promise<void>;
  /** Optional: resolves when the jobs this process has started (or holds) are done. */
  idle?(): Promise<void>;
  close(): Promise<void>;
}
