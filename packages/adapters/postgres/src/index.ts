/**
 * @outbid/postgres: the Outbid ledger on Postgres (pg) or embedded PGlite — one schema, one set of statements —
 * and a bid engine deciding inside Postgres (the degraded mode when Redis is down).
 * @packageDocumentation
 */
import { PGlite } from '@electric-sql/pglite';
import type { BidEngine, Ledger } from '@outbid/core';
import pg from 'pg';
import { pgDb, pgliteDb } from './db.js';
import { createSqlEngine } from './engine.js';
import { createSqlLedger } from './ledger.js';
import { pgliteThreadDb } from './pglite-thread.js';
import { migrate } from './migrations.js';

export { MIGRATIONS, migrate } from './migrations.js';

export interface PostgresLedgerOptions {
  /** e.g. postgres://user@127.0.0.1:5432/outbid. Ignored when `pool` is given. */
  connectionString?: string;
  /** Your own pool; it is not ended by `close()`. */
  pool?: pg.Pool;
  /** Apply pending migrations on start (default true). */
  migrate?: boolean;
  /** Pool size when the ledger creates the pool (default 20). */
  max?: number;
}

/** The caller's pool, or one made (and owned) from the connection string; migrated unless `migrate: false`. */
async function connect(options: PostgresLedgerOptions, who: string) {
  if (!options.pool && !options.connectionString) throw new Error(`${who} needs a connectionString or a pool`);
  const pool = options.pool ?? new pg.Pool({ connectionString: options.connectionString, max: options.max ?? 20 });
  // An idle client losing its server (a restart) must not crash the process: the next query reconnects.
  if (!options.pool) pool.on('error', () => {});
  const db = pgDb(pool, !options.pool);
  if (options.migrate !== false) await migrate(db);
  return db;
}

/** The ledger on a Postgres server through `pg`. Migrates on start unless `migrate: false`. */
export async function createPostgresLedger(options: PostgresLedgerOptions): Promise<Ledger> {
  return createSqlLedger(await connect(options, 'createPostgresLedger'), 'postgres');
}

export interface PgliteLedgerOptions {
  /** A directory to keep the database in; omitted = in memory. */
  dataDir?: string;
  /** Your own PGlite instance; it is not closed by `close()`. It runs where you made it (`thread` is ignored). */
  pglite?: PGlite;
  /**
   * Run PGlite in a worker thread of its own (default false). Postgres in WebAssembly is CPU work: on the calling
   * thread, every statement holds up the event loop that answers requests. Same files, same durability.
   */
  thread?: boolean;
}

/** The ledger on embedded PGlite (Postgres in WebAssembly): the embedded default, no server needed. */
export async function createPgliteLedger(options: PgliteLedgerOptions = {}): Promise<Ledger> {
  let db;
  if (options.pglite) db = pgliteDb(options.pglite, false);
  else if (options.thread) db = pgliteThreadDb(options.dataDir);
  else db = pgliteDb(options.dataDir ? new PGlite(options.dataDir) : new PGlite(), true);
  try {
    await migrate(db);
  } catch (error) {
    await db.close().catch(() => undefined);
    throw error;
  }
  return createSqlLedger(db, 'pglite');
}

export interface PostgresEngineOptions extends PostgresLedgerOptions {
  /** Idempotency records live until the auction's effective end plus this. Default 7 days, at least 24 h (`ENGINE_RETENTION` in @outbid/core). */
  idempotencyTtlMs?: number;
}

/**
 * A bid engine that decides inside Postgres (row lock + database clock): the degraded mode when Redis is down
 * (see `createFailoverEngine` in @outbid/core), or the only engine of a deployment without Redis.
 */
export async function createPostgresEngine(options: PostgresEngineOptions): Promise<BidEngine> {
  const db = await connect(options, 'createPostgresEngine');
  return createSqlEngine(db, options.idempotencyTtlMs === undefined ? {} : { idempotencyTtlMs: options.idempotencyTtlMs });
}
