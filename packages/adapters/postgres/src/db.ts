import { createHash } from 'node:crypto';
import type { PGlite } from '@electric-sql/pglite';
import type pg from 'pg';

/** The little SQL surface the ledger needs; the same statements run on pg and on PGlite. */
export interface Queryable {
  query<R = Record<string, unknown>>(sql: string, params?: unknown[]): Promise<{ rows: R[] }>;
  /** Several statements, no parameters (migrations). */
  exec(sql: string): Promise<unknown>;
}

export interface Db extends Queryable {
  readonly kind: 'postgres' | 'pglite';
  /** Runs `fn` in one transaction: committed when it resolves, rolled back when it throws. */
  transaction<T>(fn: (tx: Queryable) => Promise<T>): Promise<T>;
  /** Holds a dedicated connection for `fn` (pg only; PGlite has one connection). */
  withConnection?<T>(fn: (conn: Queryable) => Promise<T>): Promise<T>;
  close(): Promise<void>;
}

/**
 * Statements with parameters run as named (prepared) statements: Postgres parses and plans each once per
 * connection instead of on every bid. The name is a hash of the text, so equal texts share it.
 */
const statementNames = new Map<string, string>();
function named(sql: string, values: unknown[] | undefined): pg.QueryConfig | string {
  if (!values || values.length === 0) return sql;
  let name = statementNames.get(sql);
  if (!name) {
    name = `outbid_${createHash('sha1').update(sql).digest('hex').slice(0, 16)}`;
    statementNames.set(sql, name);
  }
  return { name, text: sql, values };
}

export function pgDb(pool: pg.Pool, ownsPool: boolean): Db {
  const withConnection = async <T>(fn: (conn: Queryable) => Promise<T>): Promise<T> => {
    const client = await pool.connect();
    // A server that dies while this client is checked out makes it emit 'error': without a listener that would
    // crash the process. The failed query rejects on its own; the client is then released as broken.
    const onError = () => {
      broken = true;
    };
    client.on('error', onError);
    let broken = false;
    try {
      return await fn({ query: (sql, params) => client.query(named(sql, params) as never) as never, exec: (sql) => client.query(sql) });
    } catch (error) {
      broken = isConnectionError(error);
      throw error;
    } finally {
      client.off('error', onError);
      client.release(broken);
    }
  };
  return {
    kind: 'postgres',
    query: (sql, params) => pool.query(named(sql, params) as never) as never,
    exec: (sql) => pool.query(sql),
    withConnection,
    transaction: (fn) =>
      withConnection(async (conn) => {
        await conn.query('BEGIN');
        try {
          const result = await fn(conn);
          await conn.query('COMMIT');
          return result;
        } catch (error) {
          await conn.query('ROLLBACK').catch(() => undefined);
          throw error;
        }
      }),
    async close() {
      if (ownsPool) await pool.end();
    },
  };
}

export function pgliteDb(db: PGlite, ownsDb: boolean): Db {
  return {
    kind: 'pglite',
    query: (sql, params) => db.query(sql, params) as never,
    exec: (sql) => db.exec(sql),
    transaction: (fn) => db.transaction((tx) => fn({ query: (sql, params) => tx.query(sql, params) as never, exec: (sql) => tx.exec(sql) })),
    async close() {
      if (ownsDb) await db.close();
    },
  };
}

/** Errors after which a pooled connection must not be reused. */
function isConnectionError(error: unknown): boolean {
  const code = (error as { code?: string }).code ?? '';
  return code.startsWith('08') || code === '57P01' || code === 'ECONNRESET' || code === 'EPIPE';
}

/** A unique violation (SQLSTATE 23505), with the constraint it broke. */
export function uniqueViolation(error: unknown): string | null {
  const e = error as { code?: string; constraint?: string; message?: string };
  if (e?.code !== '23505') return null;
  return e.constraint ?? e.message ?? '';
}
