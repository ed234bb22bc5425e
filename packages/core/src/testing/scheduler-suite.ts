import { afterEach, describe, expect, it } from 'vitest';
import type { JobHandler, ScheduledJob, Scheduler } from '../ports/scheduler.js';
import { eventually, sleep, testId } from './fixtures.js';

export interface SchedulerSuiteOptions {
  /** A fresh scheduler per test, on real time. */
  create(): Promise<Scheduler>;
  teardown?(): Promise<void>;
  /** How late a due job may run. Default 1.5 s. */
  slaMs?: number;
}

/** The scheduler contract: due jobs run, re-arm, replacement, cancellation and redelivery after failure. */
export function describeSchedulerConformance(name: string, options: SchedulerSuiteOptions): void {
  describe(`Scheduler conformance: ${name}`, () => {
    const sla = options.slaMs ?? 1_500;
    const open: Scheduler[] = [];
    afterEach(async () => {
      await Promise.all(open.splice(0).map((s) => s.close()));
    });
    afterEach(async () => {
      await options.teardown?.();
    });

    const started = async (handler: JobHandler) => {
      const scheduler = await options.create();
      open.push(scheduler);
      await scheduler.start(handler);
      return scheduler;
    };
    const runs: Array<ScheduledJob & { ranAt: number }> = [];
    const recorder: JobHandler = async (job) => {
      runs.push({ ...job, ranAt: Date.now() });
      return { kind: 'done' };
    };

    it('declares its name and the port version it implements', async () => {
      const scheduler = await started(recorder);
      expect(scheduler.name).toBe(name);
      expect(scheduler.specificationVersion).toBe('v1');
    });

    it('runs a due job once, not before its time and within the SLA', async () => {
      const scheduler = await started(recorder);
      const auctionId = testId('auction');
      const at = Date.now() + 200;
      await scheduler.arm({ auctionId, kind: 'end', at });
      await eventually(() => expect(runs.filter((r) => r.auctionId === auctionId)).toHaveLength(1), sla + 1_000);
      const run = runs.find((r) => r.auctionId === auctionId)!;
      expect(run.ranAt).toBeGreaterThanOrEqual(at);
      expect(run.ranAt - at).toBeLessThan(sla);
      await sleep(300);
      expect(runs.filter((r) => r.auctionId === auctionId)).toHaveLength(1);
    });

    it('arming the same (auction, kind) again replaces the job; other kinds are separate', async () => {
      const scheduler = await started(recorder);
      const auctionId = testId('auction');
      await scheduler.arm({ auctionId, kind: 'end', at: Date.now() + 100 });
      const replacedAt = Date.now() + 400;
      await scheduler.arm({ auctionId, kind: 'end', at: replacedAt });
      await scheduler.arm({ auctionId, kind: 'start', at: Date.now() + 50 });
      await eventually(() => expect(runs.filter((r) => r.auctionId === auctionId)).toHaveLength(2), sla + 1_000);
      const mine = runs.filter((r) => r.auctionId === auctionId);
      // One run per kind (in whatever order a loaded machine lets them fire); the end that ran is the replacement.
      expect(mine.map((r) => r.kind).sort()).toEqual(['end', 'start']);
      expect(mine.find((r) => r.kind === 'end')!.at).toBe(replacedAt);
    });

    it('a cancelled job does not run', async () => {
      const scheduler = await started(recorder);
      const auctionId = testId('auction');
      await scheduler.arm({ auctionId, kind: 'end', at: Date.now() + 150 });
      await scheduler.cancel(auctionId);
      await sleep(600);
      expect(runs.filter((r) => r.auctionId === auctionId)).toEqual([]);
    });

    it('a handler answering rearm gets the job again at the new time', async () => {
      const auctionId = testId('auction');
      const seen: number[] = [];
      let rearmAt = 0;
      await started(async (job) => {
        if (job.auctionId !== auctionId) return { kind: 'done' };
        seen.push(Date.now());
        if (seen.length === 1) {
          rearmAt = Date.now() + 300;
          return { kind: 'rearm', at: rearmAt };
        }
        return { kind: 'done' };
      }).then((s) => s.arm({ auctionId, kind: 'end', at: Date.now() + 50 }));
      await eventually(() => expect(seen).toHaveLength(2), sla * 2 + 1_000);
      expect(seen[1]!).toBeGreaterThanOrEqual(rearmAt);
    });

    it('a handler that throws gets the job delivered again', async () => {
      const auctionId = testId('auction');
      let attempts = 0;
      await started(async (job) => {
        if (job.auctionId !== auctionId) return { kind: 'done' };
        attempts += 1;
        if (attempts === 1) throw new Error('worker crashed');
        return { kind: 'done' };
      }).then((s) => s.arm({ auctionId, kind: 'end', at: Date.now() + 50 }));
      await eventually(() => expect(attempts).toBe(2), sla * 3 + 5_000);
    });
  });
}
