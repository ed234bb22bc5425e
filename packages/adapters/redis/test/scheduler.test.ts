import { expect, it } from 'vitest';
import { eventually } from '@outbid/core/testing';
import type { ScheduledJob } from '@outbid/core';
import { createRedisScheduler } from '../src/index.js';
import { useRedisServer } from './redis-server.js';

const redis = useRedisServer();
const client = () => redis.client();

it('a job whose worker died before acknowledging is delivered again after the lease, to another worker', async () => {
  const prefix = `lease-${Math.random()}`;
  // Room for one job: once it holds the job it claims nothing more, as a dead worker would not. (With room left it
  // kept polling and could claim the expired lease itself, in step with its own earlier claim: run 10 of 20 failed.)
  const dead = await createRedisScheduler({ redis: client(), prefix, pollMs: 20, leaseMs: 300, concurrency: 1 });
  let deadClaims = 0;
  // This worker claims and never finishes (as if SIGKILLed mid-job).
  await dead.start(() => {
    deadClaims++;
    return new Promise(() => {});
  });
  await dead.arm({ auctionId: 'a1', kind: 'end', at: Date.now() });
  await eventually(() => expect(deadClaims).toBe(1));
  const seen: ScheduledJob[] = [];
  const alive = await createRedisScheduler({ redis: client(), prefix, pollMs: 20, leaseMs: 300 });
  await alive.start(async (job) => {
    seen.push(job);
    return { kind: 'done' };
  });
  await eventually(() => expect(seen.map((j) => j.auctionId)).toEqual(['a1']), 3_000);
  await alive.close();
});

it('two workers never run the same due job twice while it is leased', async () => {
  const prefix = `pair-${Math.random()}`;
  const runs = new Map<string, number>();
  const handler = async (job: ScheduledJob) => {
    runs.set(job.auctionId, (runs.get(job.auctionId) ?? 0) + 1);
    return { kind: 'done' as const };
  };
  const [a, b] = await Promise.all([createRedisScheduler({ redis: client(), prefix, pollMs: 10 }), createRedisScheduler({ redis: client(), prefix, pollMs: 10 })]);
  await a.start(handler);
  await b.start(handler);
  const at = Date.now() + 200;
  await Promise.all(Array.from({ length: 500 }, (_, i) => a.arm({ auctionId: `j${i}`, kind: 'end', at })));
  await eventually(() => expect(runs.size).toBe(500), 10_000);
  expect([...runs.values()].every((n) => n === 1)).toBe(true);
  await Promise.all([a.close(), b.close()]);
});

it('jobs claimed ahead wait for their time; cancelling or re-arming one held here stops its timer', async () => {
  const prefix = `ahead-${Math.random()}`;
  const runs: Array<{ id: string; at: number; ranAt: number }> = [];
  const scheduler = await createRedisScheduler({ redis: client(), prefix, pollMs: 20, claimAheadMs: 2_000 });
  await scheduler.start(async (job) => {
    runs.push({ id: job.auctionId, at: job.at, ranAt: Date.now() });
    return { kind: 'done' };
  });
  const at = Date.now() + 400;
  await Promise.all(['kept', 'cancelled', 'moved'].map((id) => scheduler.arm({ auctionId: id, kind: 'end', at })));
  await new Promise((r) => setTimeout(r, 150)); // all three are now claimed and held on local timers
  await scheduler.cancel('cancelled');
  await scheduler.arm({ auctionId: 'moved', kind: 'end', at: at + 400 });
  await eventually(() => expect(runs.map((r) => r.id).sort()).toEqual(['kept', 'moved']), 3_000);
  await new Promise((r) => setTimeout(r, 300));
  expect(runs.map((r) => r.id).sort()).toEqual(['kept', 'moved']);
  for (const run of runs) expect(run.ranAt).toBeGreaterThanOrEqual(run.at);
  expect(runs.find((r) => r.id === 'moved')!.at).toBe(at + 400);
  await scheduler.close();
});

it('a closing worker hands back the jobs it claimed ahead instead of leaving them to the lease', async () => {
  const prefix = `handback-${Math.random()}`;
  const leaving = await createRedisScheduler({ redis: client(), prefix, pollMs: 20, claimAheadMs: 5_000, leaseMs: 30_000 });
  let leavingRuns = 0;
  await leaving.start(async () => {
    leavingRuns++;
    return { kind: 'done' };
  });
  const at = Date.now() + 600;
  await leaving.arm({ auctionId: 'handed-back', kind: 'end', at });
  await new Promise((r) => setTimeout(r, 150)); // claimed ahead, held here
  await leaving.close();
  const ranAt: number[] = [];
  const staying = await createRedisScheduler({ redis: client(), prefix, pollMs: 20, claimAheadMs: 0 });
  await staying.start(async () => {
    ranAt.push(Date.now());
    return { kind: 'done' };
  });
  await eventually(() => expect(ranAt).toHaveLength(1), 3_000); // long before the 30 s lease
  expect(ranAt[0]).toBeGreaterThanOrEqual(at);
  expect(leavingRuns).toBe(0);
  await staying.close();
});

it('a worker never holds more jobs than its concurrency, even with fewer slots than shards, and runs each once', async () => {
  const prefix = `bound-${Math.random()}`;
  const concurrency = 5; // fewer than the 16 shards: the room is split, never rounded up per shard
  const scheduler = await createRedisScheduler({ redis: client(), prefix, pollMs: 10, concurrency });
  const runs = new Map<string, number>();
  let running = 0;
  let mostAtOnce = 0;
  let release!: () => void;
  const gate = new Promise<void>((resolve) => (release = resolve));
  await scheduler.start(async (job) => {
    running++;
    mostAtOnce = Math.max(mostAtOnce, running);
    runs.set(job.auctionId, (runs.get(job.auctionId) ?? 0) + 1);
    await gate;
    running--;
    return { kind: 'done' };
  });
  const at = Date.now();
  await Promise.all(Array.from({ length: 100 }, (_, i) => scheduler.arm({ auctionId: `b${i}`, kind: 'end', at })));
  await eventually(() => expect(running).toBe(concurrency));
  await new Promise((r) => setTimeout(r, 100)); // several more polls while every slot is taken
  expect(mostAtOnce).toBe(concurrency);
  release();
  await eventually(() => expect(runs.size).toBe(100), 10_000);
  expect(mostAtOnce).toBe(concurrency);
  expect([...runs.values()].every((n) => n === 1)).toBe(true);
  await scheduler.close();
});
