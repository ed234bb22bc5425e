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
  HOST: z.string().default('0.0.0.0'),
  OUTBID_DATA_DIR: z.string().default('./.outbid'),
  REDIS_URL: z.string().url().optional(),
  DATABASE_URL: z.string().url().optional(),
  KAFKA_BROKERS: list.optional(),
  KAFKA_TOPIC: z.string().default('outbid.auction-events'),
  OUTBID_AUTH: z.enum(['jwt', 'gateway', 'dev']).optional(),
  OUTBID_JWT_SECRET: z.string().min(32, { error: 'must be at least 32 characters' }).optional(),
  OUTBID_JWKS_URL: z.string().url().optional(),
  OUTBID_JWT_ISSUER: z.string().optional(),
  OUTBID_JWT_AUDIENCE: z.string().optional(),
  OUTBID_GATEWAY_SECRET: z.string().min(16).optional(),
  OUTBID_ANONYMOUS_READS: bool.default(false),
  OUTBID_BID_RATE_PER_SECOND: z.coerce.number().positive().default(10),
  OUTBID_BID_BURST: z.coerce.number().int().positive().default(20),
  OUTBID_HEARTBEAT_MS: ms.default(15_000),
  OUTBID_TICK_MS: ms.default(1_000),
  OUTBID_FLUSH_MS: ms.default(50),
  OUTBID_GUARD_INTERVAL_MS: ms.default(2_000),
  OUTBID_LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  OUTBID_CDN_PURGE_URL_TEMPLATE: z.string().optional(),
  OUTBID_DEMO_DIR: z.string().optional(),
});
export type ServerConfig = z.infer<typeof configSchema>;

/** Parses the environment; on failure throws one Error listing every problem, variable by variable. */
export function loadConfig(env: Record<string, string | undefined> = process.env): ServerConfig {
  const clean = Object.fromEntries(Object.entries(env).filter(([, v]) => v !== undefined && v !== ''));
  const parsed = configSchema.safeParse(clean);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((i) => `  ${i.path.join('.')}: ${i.message}`);
    throw new Error(`Invalid configuration:\n${lines.join('\n')}`);
  }
  const config = parsed.data;
  const mode = authMode(config);
  if (mode === 'jwt' && !config.OUTBID_JWT_SECRET && !config.OUTBID_JWKS_URL) {
    throw new Error('Invalid configuration:\n  OUTBID_AUTH=jwt needs OUTBID_JWT_SECRET or OUTBID_JWKS_URL');
  }
  if (mode === 'gateway' && !config.OUTBID_GATEWAY_SECRET) {
    throw new Error('Invalid configuration:\n  OUTBID_AUTH=gateway needs OUTBID_GATEWAY_SECRET');
  }
  if (mode === 'dev' && config.NODE_ENV === 'production') {
    throw new Error(
      'Refusing to start: no authentication is configured and NODE_ENV=production. Set OUTBID_JWT_SECRET, OUTBID_JWKS_URL or OUTBID_AUTH=gateway with OUTBID_GATEWAY_SECRET.',
    );
  }
  return config;
}

export function authMode(config: ServerConfig): 'jwt' | 'gateway' | 'dev' {
  if (config.OUTBID_AUTH) return config.OUTBID_AUTH;
  if (config.OUTBID_JWT_SECRET || config.OUTBID_JWKS_URL) return 'jwt';
  return 'dev';
}
