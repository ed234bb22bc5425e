import { Worker } from 'node:worker_threads';
import type { Db, Queryable } from './db.js';

type Request =
  | { kind: 'query'; sql: string; params?: unknown[]; tx?: number }
  | { kind: 'exec'; sql: string; tx?: number }
  | { kind: 'begin' }
  | { kind: 'end'; tx: number; commit: boolean }
  | { kind: 'close' };
interface Reply {
  id: number;
  rows?: Record<string, unknown>[];
  error?: { message: string; code?: string; constraint?: string; detail?: string };
}

/**
 * A {@link Db} on PGlite running in a worker thread (`pglite-worker.mjs`): Postgres in WebAssembly executes every
 * statement there, so the event loop that answers requests never waits on it. Same SQL, same files and the same
 * durability as PGlite on the calling thread (committed data survives the process dying, not a power loss). A
 * transaction holds PGlite for its whole length, as it does on the calling thread; other statements wait for it.
 */
export function pgliteThreadDb(dataDir?: string): Db {
  // None of the process's Node flags: the script needs none, and some (`--input-type`, a loader) break a worker.
  const worker = new Worker(new URL('./pglite-worker.mjs', import.meta.url), { workerData: { dataDir }, execArgv: [] });
  const pending = new Map<number, { resolve(rows: Record<string, unknown>[]): void; reject(error: Error): void }>();
  let nextId = 1;
  let closed = false;
  let dead: Error | null = null;
  // The thread keeps the process alive only while an answer is awaited: a ledger left open never holds the exit.
  worker.unref();

  const failAll = (error: Error) => {
    dead = error;
    for (const waiting of pending.values()) waiting.reject(error);
    pending.clear();
  };
  worker.on('message', (reply: Reply) => {
    const waiting = pending.get(reply.id);
    if (!waiting) return;
    pending.delete(reply.id);
    if (pending.size === 0) worker.unref();
    if (reply.error) {
      // The fields the ledger reads (`code`, `constraint`) are kept, so a unique violation is still one.
      waiting.reject(Object.assign(new Error(reply.error.message), reply.error));
    } else waiting.resolve(reply.rows ?? []);
  });
  worker.on('error', (error) => failAll(new Error(`The PGlite worker thread failed: ${error.message}`, { cause: error })));
  worker.on('exit', (code) => {
    if (!closed) failAll(new Error(`The PGlite worker thread exited (code ${code}).`));
  });

  const call = (request: Request): Promise<Record<string, unknown>[]> =>
    new Promise((resolve, reject) => {
      if (dead) return reject(dead);
      if (closed) return reject(new Error('The PGlite ledger is closed.'));
      const id = nextId++;
      pending.set(id, { resolve, reject });
      if (pending.size === 1) worker.ref();
      worker.postMessage({ id, ...request });
    });
  const on = (tx?: number): Queryable => ({
    query: async <R>(sql: string, params?: unknown[]) => ({ rows: (await call({ kind: 'query', sql, params, tx })) as R[] }),
    exec: (sql) => call({ kind: 'exec', sql, tx }),
  });

  return {
    kind: 'pglite',
    ...on(),
    async transaction(fn) {
      // The id of the `begin` names the transaction in the statements that follow.
      const tx = nextId;
      await call({ kind: 'begin' });
      let result;
      try {
        result = await fn(on(tx));
      } catch (error) {
        await call({ kind: 'end', tx, commit: false }).catch(() => undefined);
        throw error;
      }
      await call({ kind: 'end', tx, commit: true });
      return result;
    },
    async close() {
      if (closed) return;
      try {
        if (!dead) await call({ kind: 'close' });
      } finally {
        closed = true;
        await worker.terminate();
        // Anything still waiting (sent while closing) will never be answered.
        failAll(new Error('The PGlite ledger is closed.'));
      }
    },
  };
}
