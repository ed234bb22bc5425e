/**
 * Counts requests per key (a user) against a limit. The server's bid limit takes one of these: its own token
 * bucket in process memory, or one shared by every instance (`createRedisRateLimiter`).
 */
export interface RateLimiter {
  /** Takes one request's worth; resolves 0 when allowed, else the milliseconds until the key may try again. */
  take(key: string): Promise<number>;
}
