import type { Cluster, Redis } from 'ioredis';

/**
 * Waits for the connection, at most 10 s: a client without an offline queue refuses every command sent before it
 * is ready (the engine's first call, or each shard's first scheduler poll, would fail).
 */
export async function whenReady(redis: Redis | Cluster): Promise<void> {
  if (redis.status === 'ready') return;
  if (redis.status === 'wait') await redis.connect();
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('Redis did not become ready within 10 s.')), 10_000);
    redis.once('ready', () => {
      clearTimeout(timer);
      resolve();
    });
  });
}
