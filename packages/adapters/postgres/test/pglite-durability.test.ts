import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import type { AuctionState } from '@outbid/core';
import { expect, it } from 'vitest';
import { createPgliteLedger } from '../src/index.js';

// README guarantee 2 says the embedded ledger survives a process crash but not a power loss, because PGlite runs
// Postgres with fsync off and offers no way to turn it on. If a PGlite release changes that, this fails and the
// promise (README, server start-up log) should become the stronger one.
it('PGlite runs with fsync off, fixed on its command line (the embedded durability promise depends on it)', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'outbid-pglite-fsync-'));
  const db = new PGlite(dir);
  try {
    expect((await db.query<{ setting: string; source: string }>("SELECT setting, source FROM pg_settings WHERE name = 'fsync'")).rows).toEqual([{ setting: 'off', source: 'command line' }]);
    expect((await db.query<{ synchronous_commit: string }>('SHOW synchronous_commit')).rows).toEqual([{ synchronous_commit: 'on' }]);
  } finally {
    await db.close();
    rmSync(dir, { recursive: true, force: true });
  }
}, 60_000);

// The promise itself: a change the ledger has confirmed is on disk when the process is killed right after, with
// PGlite on the calling thread and in its worker thread.
it.each([
  ['on the calling thread', false],
  ['in a worker thread', true],
])('a confirmed change survives SIGKILL of the process right after, PGlite %s', async (_, thread) => {
  const dir = mkdtempSync(join(tmpdir(), 'outbid-pglite-kill-'));
  try {
    const dataDir = join(dir, 'data');
    const script = resolve(import.meta.dirname, 'fixtures/write-then-wait.ts');
    const child = spawn(process.execPath, ['--import', 'tsx', '--conditions=@outbid/source', script, dataDir, thread ? 'thread' : 'inline'], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const line = await new Promise<string>((resolveLine, reject) => {
      let out = '';
      child.stdout.on('data', (d: Buffer) => {
        out += d.toString();
        if (out.includes('\n')) resolveLine(out.split('\n')[0]!);
      });
      child.once('exit', (code) => reject(new Error(`the writer exited (${code}) before confirming: ${stderr}`)));
    });
    const exited = new Promise((r) => child.once('exit', r));
    child.kill('SIGKILL'); // this process only, by its pid
    await exited;
    const confirmed = JSON.parse(line) as { result: { ok: boolean }; state: AuctionState };
    expect(confirmed.result).toEqual({ ok: true });
    const reopened = await createPgliteLedger({ dataDir });
    try {
      expect(await reopened.getAuction(confirmed.state.id)).toEqual(confirmed.state);
    } finally {
      await reopened.close();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}, 120_000);
