import type { Redis } from 'ioredis';

/** Script calls a Redis has run (EVALSHA, and EVAL after a NOSCRIPT), from INFO commandstats. */
export async function scriptCalls(probe: Redis): Promise<number> {
  const info = await probe.info('commandstats');
  return [...info.matchAll(/cmdstat_eval(?:sha)?:calls=(\d+)/g)].reduce((sum, m) => sum + Number(m[1]), 0);
}
