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
   * Tokens taken from Redis at once and spent in this process until its window ends, so most requests make no
   * Redis call. Default: a tenth of the limit, between 1 and 16. The shared limit is never exceeded; a user
   * spread over several instances may be refused up to `lease - 1` requests early per other instance (tokens
   * leased there and not spent yet). 1 = every request asks Redis.
   */
  lease?: number;
  /**
   * Counts instead while Redis cannot be reached (e.g. an in-process limiter), so a Redis outage neither fails
   * every request nor lifts the limit; the bid engine may well be deciding elsewhere meanwhile. Without it, the
   * Redis error is thrown.
   */
  fallback?: RateLimiter;
  /** Told about each Redis failure the fallback covered. */
  onError?: (error: unknown) => void;
}

interface Lease {
  tokens: number;
  /** Local time the window it came from ends; leftover tokens are worthless after it. */
  until: number;
}

/** A rate limiter shared by all instances: `take(key)` resolves 0 when allowed, else ms until it may retry. */
export function createRedisRateLimiter(options: RedisRateLimiterOptions): RateLimiter {
  const call = registerScripts(options.redis, ['rate_limit']);
  const prefix = options.prefix ?? 'outbid';
  const lease = Math.max(1, Math.floor(options.lease ?? Math.min(16, options.limit / 10)));
  const leases = new Map<string, Lease>();
  let takes = 0;
  return {
    async take(key: string): Promise<number> {
      const now = Date.now();
      if (++takes % 10_000 === 0) for (const [k, l] of leases) if (l.until <= now) leases.delete(k); // forget old users
      const held = leases.get(key);
      if (held && held.until > now) {
        if (--held.tokens === 0) leases.delete(key);
        return 0;
      }
      let granted: number;
      let waitMs: number;
      try {
        [granted, waitMs] = (await call('rate_limit', `${prefix}:{rl:${key}}:bids`, options.limit, options.windowMs, lease)).map(Number) as [number, number];
      } catch (error) {
        if (!options.fallback) throw error;
        options.onError?.(error);
        return options.fallback.take(key);
      }
      if (granted === 0) return waitMs;
      if (granted > 1) leases.set(key, { tokens: granted - 1, until: Date.now() + waitMs });
      else leases.delete(key);
      return 0;
    },
  };
}
