import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Db } from '../src/db.js';
import { pgliteThreadDb } from '../src/pglite-thread.js';

// The ledger's behaviour on this Db is the conformance suite's (conformance.test.ts runs it in a worker thread too);
// these are the properties of the thread itself.
describe('PGlite in a worker thread', () => {
  let db: Db;
  beforeAll(async () => {
    db = pgliteThreadDb();
    await db.exec('CREATE TABLE t (n integer); CREATE TABLE u (k text CONSTRAINT u_one_k UNIQUE)');
  }, 60_000);
  afterAll(async () => {
    await db?.close();
  });

  it('a statement sent while a transaction is open runs after it, never inside it', async () => {
    await db.exec('TRUNCATE t');
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    let firstInserted = false;
    const tx = db.transaction(async (q) => {
      await q.query('INSERT INTO t VALUES (1)');
      firstInserted = true;
      await gate;
      await q.query('INSERT INTO t VALUES (2)');
    });
    while (!firstInserted) await new Promise((r) => setTimeout(r, 5));
    // Inside the transaction it would count 1 row; after the commit it counts both.
    const outside = db.query<{ n: number }>('SELECT count(*)::integer AS n FROM t');
    let answered = false;
    void outside.then(() => (answered = true));
    await new Promise((r) => setTimeout(r, 100));
    expect(answered).toBe(false);
    release();
    await tx;
    expect((await outside).rows).toEqual([{ n: 2 }]);
  });

  it('a transaction whose function throws is rolled back, and rejects with that error', async () => {
    await db.exec('TRUNCATE t');
    const failure = new Error('the function failed');
    await expect(
      db.transaction(async (q) => {
        await q.query('INSERT INTO t VALUES (1)');
        throw failure;
      }),
    ).rejects.toBe(failure);
    expect((await db.query('SELECT count(*)::integer AS n FROM t')).rows).toEqual([{ n: 0 }]);
  });

  it("a database error keeps its SQLSTATE and constraint, in a transaction or not (the ledger reads them)", async () => {
    await db.query('INSERT INTO u VALUES ($1)', ['held']);
    const outside = await db.query('INSERT INTO u VALUES ($1)', ['held']).catch((e: unknown) => e);
    expect(outside).toMatchObject({ code: '23505', constraint: 'u_one_k' });
    const inside = await db.transaction((q) => q.query('INSERT INTO u VALUES ($1)', ['held'])).catch((e: unknown) => e);
    expect(inside).toMatchObject({ code: '23505', constraint: 'u_one_k' });
    // The failed transaction was rolled back: the thread takes the next statement.
    expect((await db.query('SELECT count(*)::integer AS n FROM u')).rows).toEqual([{ n: 1 }]);
  });

  it('once closed, it says so', async () => {
    const other = pgliteThreadDb();
    await other.query('SELECT 1');
    await other.close();
    await expect(other.query('SELECT 1')).rejects.toThrow('The PGlite ledger is closed.');
  }, 60_000);

  it('a statement sent before close is answered; one sent while it closes fails, never hangs', async () => {
    const other = pgliteThreadDb();
    const before = other.query<{ one: number }>('SELECT 1 AS one');
    const closing = other.close();
    // Its failure may come before the close is done: the expectation is attached at once, so it is never unhandled.
    const duringFails = expect(other.query('SELECT 1')).rejects.toThrow();
    await closing;
    expect((await before).rows).toEqual([{ one: 1 }]);
    await duringFails;
  }, 60_000);
});

it('a ledger left open does not keep the process alive, and a process waiting on the thread is not cut short', () => {
  const dir = mkdtempSync(join(tmpdir(), 'outbid-pglite-thread-'));
  try {
    const script = join(dir, 'left-open.mts');
    const index = resolve(import.meta.dirname, '../src/index.ts');
    writeFileSync(
      script,
      `import { createPgliteLedger } from ${JSON.stringify(index)};\n` +
        // Nothing else keeps the event loop alive while it waits for the thread's answers (migrations, the ping).
        `const ledger = await createPgliteLedger({ dataDir: ${JSON.stringify(join(dir, 'data'))}, thread: true });\n` +
        `await ledger.ping();\nconsole.log('left open');\n`,
    );
    const child = spawnSync(process.execPath, ['--import', 'tsx', '--conditions=@outbid/source', script], { encoding: 'utf8', timeout: 60_000 });
    expect({ status: child.status, signal: child.signal, stdout: child.stdout.trim() }, child.stderr).toEqual({ status: 0, signal: null, stdout: 'left open' });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}, 90_000);
