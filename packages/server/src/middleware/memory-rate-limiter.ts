import type { RateLimiter } from '@outbid/core';

export interface MemoryRateLimiterOptions {
  /** Sustained requests per second per key. */
  ratePerSecond: number;
  /** Requests allowed at once per key. */
  burst: number;
  now?: () => number;
}

/**
 * A token bucket per user: `ratePerSecond` sustained, `burst` at once. In process memory, so per instance;
 * behind a load balancer the effective limit is the sum over instances.
 */
export function createMemoryRateLimiter(options: MemoryRateLimiterOptions): RateLimiter {
  const { ratePerSecond, burst } = options;
  const now = options.now ?? Date.now;
  const buckets = new Map<string, { tokens: number; at: number }>();
  let sweeps = 0;
  /** Takes one token; returns 0 when allowed, else the whole seconds to wait. */
  const takeSeconds = (key: string): number => {
    const t = now();
    const bucket = buckets.get(key) ?? { tokens: burst, at: t };
    bucket.tokens = Math.min(burst, bucket.tokens + ((t - bucket.at) / 1_000) * ratePerSecond);
    bucket.at = t;
    buckets.set(key, bucket);
    if (++sweeps % 10_000 === 0) {
      // Full buckets carry no information: forget them so the map does not grow with every user ever seen.
      for (const [k, b] of buckets) if (b.tokens + ((t - b.at) / 1_000) * ratePerSecond >= burst) buckets.delete(k);
    }
    if (bucket.tokens >= 1) {
      bucket.tokens -= 1;
      return 0;
    }
    return Math.ceil((1 - bucket.tokens) / ratePerSecond);
  };
  return {
    // Whole seconds in ms: Retry-After is in seconds, and the bucket answers in seconds.
    take: async (key) => takeSeconds(key) * 1_000,
  };
}
