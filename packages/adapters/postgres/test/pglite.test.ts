import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import { describe, expect, it } from 'vitest';
import { auctionFixture } from '@outbid/core/testing';
import { createPgliteLedger, MIGRATIONS } from '../src/index.js';

describe('PGlite on disk', () => {
  it('keeps auctions and migrations across close and reopen of the same directory', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'outbid-pglite-reopen-'));
    try {
      const first = await createPgliteLedger({ dataDir });
      const state = auctionFixture(Date.UTC(2030, 0, 1));
      await first.createAuction(state, []);
      await first.close();
      const again = await createPgliteLedger({ dataDir });
      expect(await again.getAuction(state.id)).toEqual(state);
      await again.close();
      const raw = new PGlite(dataDir);
      const { rows } = await raw.query<{ version: number }>('SELECT version FROM outbid_migrations ORDER BY version');
      expect(rows.map((r) => r.version)).toEqual(MIGRATIONS.map((m) => m.version));
      await raw.close();
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  }, 60_000);
});
