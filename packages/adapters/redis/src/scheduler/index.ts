import {
  SCHEDULER_SPECIFICATION_VERSION,
  type JobHandler,
  type JobKind,
  type ScheduledJob,
  type Scheduler,
} from '@outbid/core';
import type { Cluster, Redis } from 'ioredis';
import { SCRIPTS, type ScriptName } from '../generated/scripts.js';
import { PACKAGE_VERSION } from '../version.js';

export interface RedisSchedulerOptions {
  redis: Redis | Cluster;
  prefix?: string;
  /** Sorted sets the jobs are spread over (each its own hash tag, so Redis Cluster spreads them). Default 16. */
  shards?: number;
  /** A claimed job not acknowledged within this is delivered again (its worker died). Default 10 s. */
  leaseMs?: number;
  /** How often each shard is polled for due jobs. Default 100 ms: the bound on lateness when idle. */
  pollMs?: number;
  /** Jobs run at once by this worker. Default 32. */
  concurrency?: number;
  /** Delay before a job whose handler threw is delivered again. Default 1 s. */
  retryDelayMs?: number;
  /** false: only arms and cancels (this process runs no jobs). Default true. */
  worker?: boolean;
  logger?: { warn(obj: object, msg: string): void; error(obj: object, msg: string): void };
}

type Caller = Record<string, (...args: Array<string | number>) => Promise<unknown>>;
const commandName = (script: ScriptName) => `outbid_${script}_${PACKAGE_VERSION.replace(/\W/g, '_')}`;

function shardOf(auctionId: string, shards: number): number {
  let h = 2166136261;
  for (let i = 0; i < auctionId.length; i++) h = Math.imul(h ^ auctionId.charCodeAt(i), 16777619);
  return (h >>> 0) % shards;
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
  const concurrency = options.concurrency ?? 32;
  const retryDelayMs = options.retryDelayMs ?? 1_000;
  const log = options.logger ?? { warn: () => {}, error: () => {} };
  for (const name of ['schedule_claim', 'schedule_ack'] as const) {
    redis.defineCommand(commandName(name), { numberOfKeys: SCRIPTS[name].numberOfKeys, lua: SCRIPTS[name].lua });
  }
  const call = (script: ScriptName, ...args: Array<string | number>) => (redis as unknown as Caller)[commandName(script)]!(...args);
  const keys = (shard: number) => [`${prefix}:{sched:${shard}}:due`, `${prefix}:{sched:${shard}}:lease`] as const;
  const member = (auctionId: string, kind: JobKind) => `${kind}|${auctionId}`;

  let handler: JobHandler | null = null;
  let timer: ReturnType<typeof setTimeout> | null = null;
  let closed = false;
  let polling: Promise<void> | null = null;
  let rotation = 0;
  const running = new Set<Promise<void>>();

  const runJob = async (shard: number, entry: string, dueAt: number) => {
    const bar = entry.indexOf('|');
    const job: ScheduledJob = { kind: entry.slice(0, bar) as JobKind, auctionId: entry.slice(bar + 1), at: dueAt };
    const lateness = Date.now() - dueAt;
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

  /** One round over the shards; returns how many jobs it claimed. */
  const poll = async (): Promise<number> => {
    let claimedTotal = 0;
    const first = rotation++ % shards; // start at a different shard each round, so none starves
    for (let step = 0; step < shards && !closed; step++) {
      const shard = (first + step) % shards;
      const room = concurrency - running.size;
      if (room <= 0) break;
      let claimed: string[];
      try {
        claimed = (await call('schedule_claim', ...keys(shard), leaseMs, room)) as string[];
      } catch (error) {
        log.error({ err: error, shard }, 'claim failed; polling again');
        continue;
      }
      claimedTotal += claimed.length / 2;
      for (let i = 0; i < claimed.length; i += 2) {
        const run = runJob(shard, claimed[i]!, Number(claimed[i + 1])).catch((error: unknown) => log.error({ err: error }, 'acknowledge failed'));
        running.add(run);
        void run.finally(() => running.delete(run));
      }
    }
    return claimedTotal;
  };

  // While jobs keep coming (a burst of ends), claim again as soon as a slot frees; idle, poll every pollMs.
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
        while (claimed > 0 && running.size > concurrency / 2) await Promise.race(running);
        timer = setTimeout(loop, claimed > 0 ? 0 : pollMs);
        timer.unref?.();
      });
  };

  return {
    specificationVersion: SCHEDULER_SPECIFICATION_VERSION,
    name: 'redis',
    async arm(job) {
      const shard = shardOf(job.auctionId, shards);
      await redis.zadd(keys(shard)[0], job.at, member(job.auctionId, job.kind));
    },
    async cancel(auctionId, kind) {
      const [due, lease] = keys(shardOf(auctionId, shards));
      const members = (kind ? [kind] : (['start', 'end'] as const)).map((k) => member(auctionId, k));
      await Promise.all([redis.zrem(due, ...members), redis.zrem(lease, ...members)]);
    },
    async start(jobHandler) {
      handler = jobHandler;
      if (options.worker !== false) loop();
    },
    async idle() {
      while (running.size > 0) await Promise.all([...running]);
    },
    async close() {
      closed = true;
      if (timer) clearTimeout(timer);
      if (polling) await polling;
      await Promise.all([...running]);
    },
  };
}
