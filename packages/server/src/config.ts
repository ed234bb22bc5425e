import { z } from 'zod';

const list = z
  .string()
  .transform((s) => s.split(',').map((x) => x.trim()).filter(Boolean));
const bool = z.enum(['true', 'false', '1', '0']).transform((v) => v === 'true' || v === '1');
const ms = z.coerce.number().int().min(0);

/** Every environment variable the server reads, with defaults. */
export const configSchema = z.object({
  NODE_ENV: z.string().default('development'),
  PORT: z.coerce.number().int().min(0).max(65_535).default(8787),
  /** Default 0.0.0.0, or 127.0.0.1 in dev mode (an open token endpoint must not face a network by accident). */
  HOST: z.string().optional(),
  OUTBID_DATA_DIR: z.string().default('./.outbid'),
  /** The embedded PGlite ledger runs in a worker thread of its own, off the event loop that answers requests. */
  OUTBID_PGLITE_THREAD: bool.default(true),
  REDIS_URL: z.string().url().optional(),
  DATABASE_URL: z.string().url().optional(),
  KAFKA_BROKERS: list.optional(),
  KAFKA_TOPIC: z.string().default('outbid.auction-events'),
  OUTBID_AUTH: z.enum(['jwt', 'gateway', 'dev']).optional(),
  OUTBID_JWT_SECRET: z.string().min(32, { error: 'must be at least 32 characters' }).optional(),
  OUTBID_JWKS_URL: z.string().url().optional(),
  OUTBID_JWT_ROLES_CLAIM: z.string().regex(/^[\w:/.-]+$/).default('roles'),
  OUTBID_JWT_ISSUER: z.string().optional(),
  OUTBID_JWT_AUDIENCE: z.string().optional(),
  OUTBID_GATEWAY_SECRET: z.string().min(16).optional(),
  OUTBID_METRICS_TOKEN: z.string().min(16, { error: 'must be at least 16 characters' }).optional(),
  OUTBID_CORS_ORIGINS: list.pipe(z.array(z.url({ protocol: /^https?$/ }).or(z.literal('*')))).optional(),
  OUTBID_MAX_STREAMS_PER_USER: z.coerce.number().int().positive().default(16),
  OUTBID_CREATE_RATE_PER_MINUTE: z.coerce.number().positive().default(60),
  OUTBID_ANONYMOUS_READS: bool.default(false),
  OUTBID_SERVER_TIMING: bool.default(false),
  OUTBID_BID_RATE_PER_SECOND: z.coerce.number().positive().default(10),
  OUTBID_BID_BURST: z.coerce.number().int().positive().default(20),
  OUTBID_HEARTBEAT_MS: ms.default(15_000),
  OUTBID_TICK_MS: ms.default(1_000),
  OUTBID_FLUSH_MS: ms.default(50),
  OUTBID_GUARD_INTERVAL_MS: ms.default(2_000),
  /**
   * `auto`: the outbox is written (and relayed) when there is a bus other instances read, i.e. with KAFKA_BROKERS;
   * without it the events only ever reached this instance, which now hands them over at commit. `on` keeps it for
   * an outside reader (Debezium); `off` is refused with KAFKA_BROKERS.
   */
  OUTBID_OUTBOX: z.enum(['auto', 'on', 'off']).default('auto'),
  OUTBID_OUTBOX_RETENTION_MS: ms.default(86_400_000),
  OUTBID_LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  OUTBID_CDN_PURGE_URL_TEMPLATE: z.string().optional(),
  OUTBID_DEMO_DIR: z.string().optional(),
});
export type ServerConfig = z.infer<typeof configSchema>;

/** Parses the environment; on failure throws one Error listing every problem, variable by variable. */
/** Set but empty, these are a mistake (an unset secret must never quietly mean "no authentication"). */
const NEVER_EMPTY = new Set(['OUTBID_AUTH', 'OUTBID_JWT_SECRET', 'OUTBID_JWKS_URL', 'OUTBID_GATEWAY_SECRET', 'OUTBID_METRICS_TOKEN']);

export function loadConfig(env: Record<string, string | undefined> = process.env): ServerConfig {
  const clean = Object.fromEntries(Object.entries(env).filter(([k, v]) => v !== undefined && (v !== '' || NEVER_EMPTY.has(k))));
  const parsed = configSchema.safeParse(clean);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((i) => `  ${i.path.join('.')}: ${i.message}`);
    throw new Error(`Invalid configuration:\n${lines.join('\n')}`);
  }
  const config = parsed.data;
  const mode = authMode(config);
  if (mode === null) throw new Error(`Invalid configuration:\n  ${NO_AUTH}`);
  if (mode === 'jwt' && !config.OUTBID_JWT_SECRET && !config.OUTBID_JWKS_URL) {
    throw new Error('Invalid configuration:\n  OUTBID_AUTH=jwt needs OUTBID_JWT_SECRET or OUTBID_JWKS_URL');
  }
  if (mode === 'gateway' && !config.OUTBID_GATEWAY_SECRET) {
    throw new Error('Invalid configuration:\n  OUTBID_AUTH=gateway needs OUTBID_GATEWAY_SECRET');
  }
  if (config.OUTBID_OUTBOX === 'off' && config.KAFKA_BROKERS) {
    throw new Error('Invalid configuration:\n  OUTBID_OUTBOX=off with KAFKA_BROKERS: the other instances get events only through the outbox; use auto or on');
  }
  if (mode === 'dev' && config.NODE_ENV.trim().toLowerCase() === 'production') {
    throw new Error(
      'Refusing to start: no authentication is configured and NODE_ENV=production. Set OUTBID_JWT_SECRET, OUTBID_JWKS_URL or OUTBID_AUTH=gateway with OUTBID_GATEWAY_SECRET.',
    );
  }
  return config;
}

export const NO_AUTH =
  'no authentication is configured: set OUTBID_JWT_SECRET (HS256, at least 32 characters) or OUTBID_JWKS_URL, or OUTBID_AUTH=gateway with OUTBID_GATEWAY_SECRET, or OUTBID_AUTH=dev for local development only (open token endpoint, loopback by default)';

/** Dev mode only when asked for by name: a missing or empty secret is never a reason to open the token endpoint. */
export function authMode(config: ServerConfig): 'jwt' | 'gateway' | 'dev' | null {
  if (config.OUTBID_AUTH) return config.OUTBID_AUTH;
  if (config.OUTBID_JWT_SECRET || config.OUTBID_JWKS_URL) return 'jwt';
  return null;
}

/** Where to listen: HOST, else every interface, except in dev mode which stays on loopback unless HOST says otherwise. */
export const listenHost = (config: ServerConfig) => config.HOST ?? (authMode(config) === 'dev' ? '127.0.0.1' : '0.0.0.0');

/** Whether this server writes and relays the outbox (see OUTBID_OUTBOX). */
export const outboxOn = (config: ServerConfig) => (config.OUTBID_OUTBOX === 'auto' ? config.KAFKA_BROKERS !== undefined : config.OUTBID_OUTBOX === 'on');
