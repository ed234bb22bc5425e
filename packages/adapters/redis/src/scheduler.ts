import {
  fnv1a32,
  SCHEDULER_SPECIFICATION_VERSION,
  type JobHandler,
  type JobKind,
  type ScheduledJob,
  type Scheduler,
} from '@outbid/core';
import type { Cluster, Redis } from 'ioredis';
import { whenReady } from './connection.js';
import { registerScripts } from './scripts.js';

export interface RedisSchedulerOptions {
  redis: Redis | Cluster;
  prefix?: string;
  /** Sorted sets the jobs are spread over (each its own hash tag, so Redis Cluster spreads them). Default 16. */
  shards?: number;
  /** A claimed job not acknowledged within this is delivered again (its worker died). Default 10 s. */
  leaseMs?: number;
  /** How often the shards are polled for due jobs (all in one pipelined round). Default 100 ms: the bound on lateness when idle. */
  pollMs?: number;
  /** Jobs this worker holds at once (running, or claimed ahead and waiting for their time). Default 512. */
  concurrency?: number;
  /**
   * Jobs due within this long are claimed ahead and started on a local timer at their due time, so a burst of
   * ends does not wait for the next poll. Default: pollMs. 0 claims only what is already due.
   */
  claimAheadMs?: number;
  /** Delay before a job whose handler threw is delivered again. Default 1 s. */
  retryDelayMs?: number;
  /** false: only arms and cancels (this process runs no jobs). Default true. */
  worker?: boolean;
  logger?: { warn(obj: object, msg: string): void; error(obj: object, msg: string): void };
}

type HeldJob = { run: Promise<void>; dropped: boolean; wake?: () => void };

function shardOf(auctionId: string, shards: number): number {
  return fnv1a32(auctionId) % shards;
}

/**
 * A delay queue in Redis: due jobs in sorted sets sharded by auction, claimed atomically with a lease by one worker,
 * delivered again when a lease expires. Jobs survive the death of any worker; several workers share the load.
 */
export async function createRedisScheduler(options: RedisSchedulerOptions): Promise<Scheduler & { idle(): Promise<void> }> {
  const { redis } = options;
  const prefix = options.prefix ?? 'outbid';
  const shards = options.shards ?? 16;
  const leaseMs = options.leaseMs ?? 10_000;
  const pollMs = options.pollMs ?? 100;
  const concurrency = options.concurrency ?? 512;
  const claimAheadMs = options.claimAheadMs ?? pollMs;
  const retryDelayMs = options.retryDelayMs ?? 1_000;
  const log = options.logger ?? { warn: () => {}, error: () => {} };
  await whenReady(redis);
  const call = registerScripts(redis, ['schedule_claim', 'schedule_ack']);
  const keys = (shard: number) => [`${prefix}:{sched:${shard}}:due`, `${prefix}:{sched:${shard}}:lease`] as const;
  const member = (auctionId: string, kind: JobKind) => `${kind}|${auctionId}`;

  let handler: JobHandler | null = null;
  let timer: ReturnType<typeof setTimeout> | null = null;
  let closed = false;
  let polling: Promise<void> | null = null;
  let rotation = 0;
  /** Claimed jobs of this worker, waiting for their time or running: member → its run. */
  const held = new Map<string, HeldJob>();

  const runJob = async (self: HeldJob, shard: number, entry: string, dueAt: number, localDueAt: number) => {
    // Claimed ahead: wait for the due time on a local timer (Redis time, shifted to this clock).
    while (!self.dropped && !closed && Date.now() < localDueAt) {
      await new Promise<void>((resolve) => {
        const wait = setTimeout(resolve, localDueAt - Date.now());
        self.wake = () => {
          clearTimeout(wait);
          resolve();
        };
      });
    }
    if (self.dropped) return; // cancelled or armed again in this process
    if (closed) {
      // Shutting down before its time: hand it back now rather than leave it to the lease.
      await call('schedule_ack', ...keys(shard), entry, String(dueAt));
      return;
    }
    const bar = entry.indexOf('|');
    const job: ScheduledJob = { kind: entry.slice(0, bar) as JobKind, auctionId: entry.slice(bar + 1), at: dueAt };
    const lateness = Date.now() - localDueAt;
    if (lateness > 1_000) log.warn({ auctionId: job.auctionId, kind: job.kind, latenessMs: lateness }, 'scheduled job ran late');
    let rearmAt = '';
    try {
      const outcome = await handler!(job);
      if (outcome.kind === 'rearm') rearmAt = String(outcome.at);
    } catch (error) {
      log.error({ err: error, auctionId: job.auctionId, kind: job.kind }, 'scheduled job failed; delivering it again');
      rearmAt = String(Date.now() + retryDelayMs);
    }
    await call('schedule_ack', ...keys(shard), entry, rearmAt);
  };

  /** Forgets a job held here (cancelled or armed again): its timer must not fire. */
  const drop = (entry: string) => {
    const job = held.get(entry);
    if (!job) return;
    job.dropped = true;
    job.wake?.();
  };

  /** Claims from one shard and holds what it got; returns how many jobs. */
  const claim = async (shard: number, limit: number, horizonMs: number): Promise<number> => {
    let reply: string[];
    try {
      reply = await call('schedule_claim', ...keys(shard), leaseMs, limit, horizonMs);
    } catch (error) {
      log.error({ err: error, shard }, 'claim failed; polling again');
      return 0;
    }
    // Redis time minus local time, give or take half a round trip (late, never early: the reply is later).
    const offset = Number(reply[0]) - Date.now();
    for (let i = 1; i < reply.length; i += 2) {
      const entry = reply[i]!;
      const dueAt = Number(reply[i + 1]);
      drop(entry); // a stale local copy (claimed again after a re-arm) gives way to this one
      const slot: HeldJob = { run: Promise.resolve(), dropped: false };
      held.set(entry, slot);
      slot.run = runJob(slot, shard, entry, dueAt, dueAt - offset)
        .catch((error: unknown) => log.error({ err: error }, 'acknowledge failed'))
        .finally(() => {
          if (held.get(entry) === slot) held.delete(entry);
        });
    }
    return (reply.length - 1) / 2;
  };

  /**
   * One round: every shard at once (one pipelined round trip, not one per shard), each claiming what is due now and
   * then what falls due within claimAheadMs, soonest first. The room left is split exactly over the shards, starting
   * at a different shard each round, so the worker never holds more than `concurrency` jobs and jobs claimed ahead on
   * one shard never crowd out another shard's overdue ones.
   */
  const poll = async (): Promise<number> => {
    const room = concurrency - held.size;
    if (room <= 0 || closed) return 0;
    const first = rotation++ % shards;
    const claims: Array<Promise<number>> = [];
    for (let step = 0; step < shards; step++) {
      const share = Math.floor(room / shards) + (step < room % shards ? 1 : 0);
      if (share > 0) claims.push(claim((first + step) % shards, share, claimAheadMs));
    }
    return (await Promise.all(claims)).reduce((a, b) => a + b, 0);
  };

  const runs = () => [...held.values()].map((h) => h.run);

  // While jobs keep coming (a burst of ends), claim again as soon as slots free; idle, poll every pollMs.
  const loop = () => {
    if (closed) return;
    let claimed = 0;
    polling = poll()
      .then((n) => {
        claimed = n;
      })
      .finally(async () => {
        polling = null;
        if (closed) return;
        // Refill in batches: claiming one job per round trip as single slots free up would cap throughput.
        while (claimed > 0 && held.size > concurrency / 2) await Promise.race(runs());
        timer = setTimeout(loop, claimed > 0 ? 0 : pollMs);
        timer.unref?.();
      });
  };

  return {
    specificationVersion: SCHEDULER_SPECIFICATION_VERSION,
    name: 'redis',
    async arm(job) {
      const shard = shardOf(job.auctionId, shards);
      const entry = member(job.auctionId, job.kind);
      drop(entry);
      await redis.zadd(keys(shard)[0], job.at, entry);
    },
    async cancel(auctionId, kind) {
      const [due, lease] = keys(shardOf(auctionId, shards));
      const members = (kind ? [kind] : (['start', 'end'] as const)).map((k) => member(auctionId, k));
      members.forEach(drop);
      await Promise.all([redis.zrem(due, ...members), redis.zrem(lease, ...members)]);
    },
    async start(jobHandler) {
      handler = jobHandler;
      if (options.worker !== false) loop();
    },
    async idle() {
      while (held.size > 0) await Promise.all(runs());
    },
    async close() {
      closed = true;
      if (timer) clearTimeout(timer);
      if (polling) await polling;
      for (const job of held.values()) job.wake?.();
      await Promise.all(runs());
    },
  };
}
