/**
 * @outbid/server: the Outbid reference server. `createApp` mounts the API in your own Hono or Node app;
 * `startServer` runs it from environment variables.
 * @packageDocumentation
 */
export { createApp, type AppOptions, type OutbidApp, type AppLogger } from './app.js';
export { startServer, type RunningServer } from './server.js';
export { loadConfig, listenHost, configSchema, type ServerConfig } from './config.js';
export { authenticate, issueDevToken, requireRole, requireUser, ROLES, type AuthOptions, type Role, type User } from './auth.js';
export { createRealtimeGateway, encodeFrame, type RealtimeGateway, type RealtimeOptions, type RealtimeStats } from './realtime/index.js';
export { createMetrics, type Metrics } from './metrics.js';
export { buildOpenApi } from './openapi.js';
export { idempotencyKey, type IdempotencyKeyEnv, type IdempotencyKeyOptions } from './middleware/idempotency-key.js';
export { rateLimit, type RateLimitOptions } from './middleware/rate-limit.js';
export { createMemoryRateLimiter, type MemoryRateLimiterOptions } from './middleware/memory-rate-limiter.js';
export { HttpProblem, type Problem } from './problem.js';
