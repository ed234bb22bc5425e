/**
 * A token bucket per user: `ratePerSecond` sustained, `burst` at once. In process memory, so per instance;
 * behind a load balancer the effective limit is the sum over instances.
 */
export function createRateLimiter(ratePerSecond: number, burst: number, now: () => number = Date.now) {
  const buckets = new Map<string, { tokens: number; at: number }>();
  let sweeps = 0;
  return {
    /** Takes one token; returns 0 when allowed, else the seconds to wait. */
    take(key: string): number {
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
    },
  };
}
