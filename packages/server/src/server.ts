import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { AddressInfo } from 'node:net';
import { serve, type ServerType } from '@hono/node-server';
import { createFailoverEngine, createHttpPurger, createOutbid, startEngineUpdater, type BidEngine, type EventBus, type Ledger, type Outbid, type RateLimiter, type Scheduler } from '@outbid/core';
import { createRedisEngine, createRedisRateLimiter, createRedisScheduler, whenReady } from '@outbid/redis';
import { Redis } from 'ioredis';
import { createPgliteLedger, createPostgresEngine, createPostgresLedger } from '@outbid/postgres';
import { pino, type Logger } from 'pino';
import { createApp, type OutbidApp } from './app.js';
import { generateDevSecret, type AuthOptions } from './auth.js';
import { authMode, listenHost, loadConfig, outboxOn, type ServerConfig } from './config.js';
import { createMetrics } from './metrics.js';
import { findDemoDir } from './demo.js';
import { createMemoryRateLimiter } from './middleware/memory-rate-limiter.js';

export interface RunningServer {
  url: string;
  port: number;
  app: OutbidApp;
  outbid: Outbid;
  config: ServerConfig;
  logger: Logger;
  /** Graceful: stop accepting, let in-flight requests finish, close streams with a final frame, close adapters. */
  close(): Promise<void>;
}

interface Adapters {
  engine?: BidEngine;
  ledger: Ledger;
  bus?: EventBus;
  scheduler?: Scheduler;
  reconcileIntervalMs?: number;
  rateLimiter?: RateLimiter;
}

/**
 * Kafka's client is imported only when KAFKA_BROKERS is set, so deployments without Kafka never load it; a build
 * whose @outbid/kafka lacks the factory fails here with the variable named. Redis and Postgres are imported
 * normally (the embedded default needs Postgres's PGlite anyway).
 */
async function optionalExport<T>(specifier: string, name: string, variable: string): Promise<T> {
  const mod = (await import(specifier)) as Record<string, unknown>;
  const factory = mod[name];
  if (typeof factory !== 'function') throw new Error(`${variable} is set, but ${specifier} does not provide ${name} in this build.`);
  return factory as T;
}

async function buildAdapters(config: ServerConfig, logger: Logger): Promise<Adapters> {
  let ledger: Ledger;
  if (config.DATABASE_URL) {
    ledger = await createPostgresLedger({ connectionString: config.DATABASE_URL });
  } else {
    const dataDir = resolve(config.OUTBID_DATA_DIR);
    mkdirSync(dataDir, { recursive: true });
    ledger = await createPgliteLedger({ dataDir, thread: config.OUTBID_PGLITE_THREAD });
    logger.info(
      { dataDir, durability: 'process crash', thread: config.OUTBID_PGLITE_THREAD },
      'embedded PGlite ledger: committed bids survive the server process dying, not the machine losing power (PGlite cannot fsync); set DATABASE_URL for a Postgres ledger that does',
    );
  }
  const adapters: Adapters = { ledger };
  if (config.REDIS_URL) {
    // Fail fast while Redis is unreachable (no offline queue, short timeouts): the failover engine then decides
    // in Postgres instead of letting bids wait. Auto-pipelining sends the other commands of one event-loop turn
    // (rate-limit leases, transitions) in one write; the bid engine sends its own script calls at once (see its README).
    const redis = new Redis(config.REDIS_URL, {
      maxRetriesPerRequest: 1,
      enableOfflineQueue: false,
      commandTimeout: 2_000,
      connectTimeout: 2_000,
      enableAutoPipelining: true,
    });
    redis.on('error', (err: Error) => logger.warn({ err: err.message }, 'redis connection problem'));
    // The adapter's own wait (10 s); a server that cannot reach Redis stops retrying and says which URL it tried.
    await whenReady(redis).catch((error: unknown) => {
      redis.disconnect();
      throw new Error(`Cannot reach Redis at REDIS_URL (${config.REDIS_URL}) within 10 s.`, { cause: error });
    });
    const redisEngine = await createRedisEngine({ redis, quitOnClose: true });
    adapters.engine = config.DATABASE_URL
      ? createFailoverEngine({
          primary: redisEngine,
          fallback: await createPostgresEngine({ connectionString: config.DATABASE_URL }),
          onSwitch: (to, cause) => logger.warn({ to, cause: cause instanceof Error ? cause.message : undefined }, 'bid engine switched'),
        })
      : redisEngine;
    adapters.reconcileIntervalMs = 30_000;
    // Bursts of OUTBID_BID_BURST per burst/rate seconds, counted across every instance.
    adapters.rateLimiter = createRedisRateLimiter({
      redis,
      limit: config.OUTBID_BID_BURST,
      windowMs: Math.ceil((config.OUTBID_BID_BURST / config.OUTBID_BID_RATE_PER_SECOND) * 1_000),
      // While Redis is down, count in this process: bids still reach the failover engine instead of failing.
      fallback: createMemoryRateLimiter({ ratePerSecond: config.OUTBID_BID_RATE_PER_SECOND, burst: config.OUTBID_BID_BURST }),
      onError: (err) => logger.debug({ err: err instanceof Error ? err.message : err }, 'shared rate limit unavailable; counting in this process'),
    });
    // The scheduler's own connection (it waits for it to be ready before its first poll).
    const schedulerRedis = redis.duplicate();
    schedulerRedis.on('error', (err: Error) => logger.warn({ err: err.message }, 'redis connection problem (scheduler)'));
    adapters.scheduler = await createRedisScheduler({ redis: schedulerRedis, logger });
  }
  if (config.KAFKA_BROKERS) {
    type KafkaBusFactory = (o: { brokers: string[]; topic: string; onError: (err: unknown, at: object) => void }) => Promise<EventBus>;
    const createKafkaBus = await optionalExport<KafkaBusFactory>('@outbid/kafka', 'createKafkaBus', 'KAFKA_BROKERS');
    adapters.bus = await createKafkaBus({
      brokers: config.KAFKA_BROKERS,
      topic: config.KAFKA_TOPIC,
      onError: (err, at) => logger.warn({ err, ...at }, 'kafka: message skipped, handler failed or consumer restarted'),
    });
  }
  return adapters;
}

function authFrom(config: ServerConfig, logger: Logger): AuthOptions {
  const mode = authMode(config);
  if (mode === 'gateway') return { mode, gatewaySecret: config.OUTBID_GATEWAY_SECRET! };
  if (mode === 'jwt') {
    return {
      mode,
      rolesClaim: config.OUTBID_JWT_ROLES_CLAIM,
      ...(config.OUTBID_JWT_SECRET ? { secret: config.OUTBID_JWT_SECRET } : {}),
      ...(config.OUTBID_JWKS_URL ? { jwksUrl: config.OUTBID_JWKS_URL } : {}),
      ...(config.OUTBID_JWT_ISSUER ? { issuer: config.OUTBID_JWT_ISSUER } : {}),
      ...(config.OUTBID_JWT_AUDIENCE ? { audience: config.OUTBID_JWT_AUDIENCE } : {}),
    };
  }
  logger.warn(
    { host: listenHost(config) },
    'DEV MODE (OUTBID_AUTH=dev): anyone who reaches this server can get a token for any user and role from POST /dev/token. For real use set OUTBID_JWT_SECRET, OUTBID_JWKS_URL or OUTBID_AUTH=gateway.',
  );
  // Kept beside the embedded data, so tokens (and open pages) survive a restart like the auctions do.
  const dataDir = resolve(config.OUTBID_DATA_DIR);
  mkdirSync(dataDir, { recursive: true });
  const secretFile = join(dataDir, 'dev-jwt-secret');
  if (!existsSync(secretFile)) writeFileSync(secretFile, generateDevSecret(), { mode: 0o600 });
  return { mode: 'dev', secret: readFileSync(secretFile, 'utf8').trim() };
}

/**
 * Starts the reference server from environment variables. With none set it runs the embedded default: memory
 * engine, bus and scheduler, and a PGlite ledger on disk in ./.outbid.
 */
export async function startServer(env: Record<string, string | undefined> = process.env): Promise<RunningServer> {
  const config = loadConfig(env);
  const logger = pino({ level: config.OUTBID_LOG_LEVEL, base: { service: 'outbid' } });
  const metrics = createMetrics();
  const adapters = await buildAdapters(config, logger);
  const purgeTemplate = config.OUTBID_CDN_PURGE_URL_TEMPLATE;
  const { rateLimiter, ...ports } = adapters;
  const outbid = createOutbid({
    ...ports,
    guardIntervalMs: config.OUTBID_GUARD_INTERVAL_MS,
    outboxRetentionMs: config.OUTBID_OUTBOX_RETENTION_MS,
    // Viewers of this instance get its commits at once, on every bus (the gateway drops the bus's copy by version).
    localDelivery: true,
    // Without Kafka the bus is this process's own and the outbox only fed it: OUTBID_OUTBOX=auto leaves it off.
    outbox: outboxOn(config),
    hooks: metrics.hooks,
    logger: { warn: (o, m) => logger.warn(o, m), error: (o, m) => logger.error(o, m) },
    ...(purgeTemplate
      ? { purger: createHttpPurger({ urlsFor: (id) => [purgeTemplate.replace('{id}', encodeURIComponent(id))], onError: (err, url) => logger.warn({ err, url }, 'CDN purge failed') }) }
      : {}),
  });
  const rearmed = await outbid.rearmScheduler();
  // Bus subscriptions (Kafka consumer groups) take seconds to join. The server listens meanwhile and /readyz
  // answers 503 naming what it waits for, so a load balancer sends no traffic before this instance sees every event.
  const startup = new Map<string, string>(); // what is still awaited → its failure, if it failed
  const awaitStartup = (what: string, promise: Promise<unknown>) => {
    startup.set(what, '');
    promise.then(
      () => startup.delete(what),
      (err: unknown) => {
        startup.set(what, err instanceof Error ? err.message : String(err));
        logger.error({ err, what }, 'start-up step failed; this instance stays not ready');
      },
    );
  };
  // An engine shared by instances (Redis) is kept up to date with changes decided elsewhere.
  // Not awaited for readiness: its group is shared by all instances and resumes from committed offsets, so no
  // event goes unseen while this member joins (on the mock a second member's join takes ~9 s, the own group ~3 s).
  if (adapters.bus && adapters.engine) {
    const joining = performance.now();
    startEngineUpdater(outbid).then(
      () => logger.info({ ms: Math.round(performance.now() - joining) }, 'bus subscription outbid-engine-updater joined'),
      (err: unknown) => logger.error({ err }, 'bus subscription outbid-engine-updater failed; the reconciler still repairs the engine'),
    );
  }
  awaitStartup(`bus subscription outbid-fanout (${outbid.bus.name})`, outbid.ready());
  const startedAt = performance.now();
  void outbid.ready().then(
    () => logger.info({ ms: Math.round(performance.now() - startedAt) }, 'bus subscription joined'),
    () => undefined,
  );
  const app = createApp(outbid, {
    auth: authFrom(config, logger),
    anonymousReads: config.OUTBID_ANONYMOUS_READS,
    serverTiming: config.OUTBID_SERVER_TIMING,
    bidRateLimit: { ratePerSecond: config.OUTBID_BID_RATE_PER_SECOND, burst: config.OUTBID_BID_BURST },
    ...(rateLimiter ? { sharedRateLimiter: rateLimiter } : {}),
    realtime: { heartbeatMs: config.OUTBID_HEARTBEAT_MS, tickMs: config.OUTBID_TICK_MS, flushMs: config.OUTBID_FLUSH_MS },
    maxStreamsPerUser: config.OUTBID_MAX_STREAMS_PER_USER,
    createRateLimit: { ratePerSecond: config.OUTBID_CREATE_RATE_PER_MINUTE / 60, burst: Math.max(1, Math.min(20, Math.ceil(config.OUTBID_CREATE_RATE_PER_MINUTE))) },
    corsOrigins: config.OUTBID_CORS_ORIGINS ?? [],
    ...(config.OUTBID_METRICS_TOKEN ? { metricsToken: config.OUTBID_METRICS_TOKEN } : {}),
    metrics,
    logger: { error: (o, m) => logger.error(o, m), warn: (o, m) => logger.warn(o, m) },
    demoDir: findDemoDir(config.OUTBID_DEMO_DIR),
    startup: () => [...startup].map(([what, failure]) => (failure ? `${what}: failed: ${failure}` : what)),
  });

  const server: ServerType = await new Promise((resolveServer) => {
    const s = serve({ fetch: app.fetch, port: config.PORT, hostname: listenHost(config) }, () => resolveServer(s));
  });
  const port = (server.address() as AddressInfo).port;
  const host = listenHost(config);
  const url = `http://${host === '0.0.0.0' ? 'localhost' : host.includes(':') ? `[${host}]` : host}:${port}`;
  logger.info({ url, engine: outbid.engine.name, ledger: outbid.ledger.name, bus: outbid.bus.name, scheduler: outbid.scheduler.name, rearmed }, 'Outbid server listening');

  let closing: Promise<void> | null = null;
  const close = () =>
    (closing ??= (async () => {
      logger.info('shutting down');
      const stopped = new Promise<void>((done) => server.close(() => done()));
      await app.gateway.close(); // streams end with a final frame, so server.close() is not held open by them
      (server as { closeIdleConnections?: () => void }).closeIdleConnections?.();
      await stopped;
      await outbid.close();
      logger.info('stopped');
    })());
  return { url, port, app, outbid, config, logger, close };
}
