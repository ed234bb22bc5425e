import type { RateLimiter } from '@outbid/core';
import type { Cluster, Redis } from 'ioredis';
import { registerScripts } from './scripts.js';

export interface RedisRateLimiterOptions {
  redis: Redis | Cluster;
  /** Requests per window per key. */
  limit: number;
  windowMs: number;
  prefix?: string;
}

/** A rate limiter shared by all instances: `take(key)` resolves 0 when allowed, else ms until it may retry. */
export function createRedisRateLimiter(options: RedisRateLimiterOptions): RateLimiter {
  const call = registerScripts(options.redis, ['rate_limit']);
  const prefix = options.prefix ?? 'outbid';
  return {
    async take(key: string): Promise<number> {
      return Number(await call('rate_limit', `${prefix}:{rl:${key}}:bids`, options.limit, options.windowMs));
    },
  };
}
