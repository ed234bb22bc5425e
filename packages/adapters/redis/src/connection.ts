import type { Cluster, Redis } from 'ioredis';

/**
 * Waits for the connection, at most 10 s: a client without an offline queue refuses every command sent before it
 * is ready (the engine's first call, or each shard's first scheduler poll, would fail).
 */
export async function whenReady(redis: Redis | Cluster): Promise<void> {
  // A lazy client's connect() resolves once it is ready: its 'ready' event has then passed already.
  if (redis.status === 'wait') await redis.connect();
  if (redis.status === 'ready') return;
  await new Promise<void>((resolve, reject) => {
    const onReady = () => {
      clearTimeout(timer);
      resolve();
    };
    const timer = setTimeout(() => {
      redis.off('ready', onReady);
      reject(new Error('Redis did not become ready within 10 s.'));
    }, 10_000);
    redis.once('ready', onReady);
  });
}
