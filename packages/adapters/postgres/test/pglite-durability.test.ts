import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import { expect, it } from 'vitest';

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
