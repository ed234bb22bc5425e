// The worker thread behind `pgliteThreadDb` (pglite-thread.ts): one PGlite instance whose statements run here, off
// the event loop that serves requests. Plain JavaScript, so the same file runs from `src` and from `dist`.
// Messages in:  { id, kind: 'query' | 'exec', sql, params?, tx? } | { id, kind: 'begin' } | { id, kind: 'end', tx, commit }
//               | { id, kind: 'close' }
// Messages out: { id, rows? } on success, { id, error: { message, code, constraint, detail } } on failure.
import { parentPort, workerData } from 'node:worker_threads';
import { PGlite } from '@electric-sql/pglite';

const db = workerData?.dataDir ? new PGlite(workerData.dataDir) : new PGlite();
/** Transactions begun and not yet ended, by the id of their `begin`: the handle, and how to end it. */
const open = new Map();
const ROLLBACK = Symbol('rollback');

const post = (message) => parentPort.postMessage(message);
const fail = (id, error) =>
  post({ id, error: { message: String(error?.message ?? error), code: error?.code, constraint: error?.constraint, detail: error?.detail } });
const target = (tx) => {
  if (tx === undefined) return db;
  const entry = open.get(tx);
  if (!entry?.handle) throw new Error(`transaction ${tx} is not open`);
  return entry.handle;
};

const begin = (id) => {
  const entry = { handle: null, end: null, done: null };
  open.set(id, entry);
  const ended = new Promise((resolve) => (entry.end = resolve));
  entry.done = db
    .transaction(async (handle) => {
      entry.handle = handle;
      post({ id });
      if (!(await ended)) throw ROLLBACK;
    })
    .catch((error) => {
      if (error === ROLLBACK) return;
      // Failed before it began: the `begin` is answered with the error. Failed at COMMIT: the `end` will be.
      if (!entry.handle) {
        open.delete(id);
        fail(id, error);
        return;
      }
      throw error;
    });
};

const end = async (id, tx, commit) => {
  const entry = open.get(tx);
  if (!entry) throw new Error(`transaction ${tx} is not open`);
  open.delete(tx);
  entry.end(commit);
  await entry.done;
  post({ id });
};

parentPort.on('message', async (message) => {
  const { id, kind } = message;
  try {
    if (kind === 'query') post({ id, rows: (await target(message.tx).query(message.sql, message.params)).rows });
    else if (kind === 'exec') {
      await target(message.tx).exec(message.sql);
      post({ id });
    } else if (kind === 'begin') begin(id);
    else if (kind === 'end') await end(id, message.tx, message.commit);
    else if (kind === 'close') {
      await db.close();
      post({ id });
    } else throw new Error(`unknown message kind ${kind}`);
  } catch (error) {
    fail(id, error);
  }
});
