import type { RateLimiter } from '@outbid/core';
import type { Context } from 'hono';
import { createMiddleware } from 'hono/factory';
import { HttpProblem } from '../problem.js';

export interface RateLimitOptions {
  /** Where requests are counted: in this process (`createMemoryRateLimiter`) or shared (`createRedisRateLimiter`). */
  limiter: RateLimiter;
  /** The key a request is counted under (e.g. the user's id). */
  keyOf: (c: Context) => string;
  /** Called for each refused request (a metric). */
  onLimited?: () => void;
  /** What is being limited, for the problem's detail ("Too many <what>; slow down."). Default `bids`. */
  what?: string;
}

/** Refuses a request over its key's limit with 429 and Retry-After (whole seconds). */
export function rateLimit(options: RateLimitOptions) {
  return createMiddleware(async function outbidRateLimit(c, next) {
    const wait = Math.ceil((await options.limiter.take(options.keyOf(c))) / 1_000);
    if (wait > 0) {
      options.onLimited?.();
      throw new HttpProblem(429, 'RATE_LIMITED', `Too many ${options.what ?? 'bids'}; slow down.`, { headers: { 'retry-after': String(wait) } });
    }
    await next();
  });
}
