/**
 * @outbid/redis: the Outbid bid engine on Redis — one Lua compare-and-set per decision, Redis TIME as the clock.
 * @packageDocumentation
 */
export { whenReady } from './connection.js';
export { createRedisEngine, type RedisEngineOptions } from './engine.js';
export { SCRIPTS } from './generated/scripts.js';
export { PACKAGE_VERSION } from './version.js';
export { createRedisScheduler, type RedisSchedulerOptions } from './scheduler.js';
export { createRedisRateLimiter, type RedisRateLimiterOptions } from './rate-limit.js';
