import type { RateLimiter } from '@outbid/core';
import type { Cluster, Redis } from 'ioredis';
import { registerScripts } from './scripts.js';

export interface RedisRateLimiterOptions {
  redis: Redis | Cluster;
  /** Requests per window per key. */
  limit: number;
  windowMs: number;
  prefix?: string;
  /**
   * Counts instead while Redis cannot be reached (e.g. an in-process limiter), so a Redis outage neither fails
   * every request nor lifts the limit; the bid engine may well be deciding elsewhere meanwhile. Without it, the
   * Redis error is thrown.
   */
  fallback?: RateLimiter;
  /** Told about each Redis failure the fallback covered. */
  onError?: (error: unknown) => void;
}

/** A rate limiter shared by all instances: `take(key)` resolves 0 when allowed, else ms until it may retry. */
export function createRedisRateLimiter(options: RedisRateLimiterOptions): RateLimiter {
  const call = registerScripts(options.redis, ['rate_limit']);
  const prefix = options.prefix ?? 'outbid';
  return {
    async take(key: string): Promise<number> {
      try {
        return Number(await call('rate_limit', `${prefix}:{rl:${key}}:bids`, options.limit, options.windowMs));
      } catch (error) {
        if (!options.fallback) throw error;
        options.onError?.(error);
        return options.fallback.take(key);
      }
    },
  };
}
