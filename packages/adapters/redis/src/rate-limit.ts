import type { Cluster, Redis } from 'ioredis';
import { SCRIPTS } from './generated/scripts.js';
import { PACKAGE_VERSION } from './version.js';

export interface RedisRateLimiterOptions {
  redis: Redis | Cluster;
  /** Requests per window per key. */
  limit: number;
  windowMs: number;
  prefix?: string;
}

/** A rate limiter shared by all instances: `take(key)` resolves 0 when allowed, else ms until it may retry. */
export function createRedisRateLimiter(options: RedisRateLimiterOptions) {
  const name = `outbid_rate_limit_${PACKAGE_VERSION.replace(/\W/g, '_')}`;
  options.redis.defineCommand(name, { numberOfKeys: SCRIPTS.rate_limit.numberOfKeys, lua: SCRIPTS.rate_limit.lua });
  const call = (options.redis as unknown as Record<string, (...a: Array<string | number>) => Promise<number>>)[name]!.bind(options.redis);
  const prefix = options.prefix ?? 'outbid';
  return {
    async take(key: string): Promise<number> {
      return Number(await call(`${prefix}:{rl:${key}}:bids`, options.limit, options.windowMs));
    },
  };
}
