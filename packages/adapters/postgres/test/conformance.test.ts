import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe } from 'vitest';
import { describeEngineConformance, describeLedgerConformance } from '@outbid/core/testing';
import { createPgliteLedger, createPostgresEngine, createPostgresLedger } from '../src/index.js';
import { usePostgresServer } from './postgres-server.js';

const server = usePostgresServer();

describeLedgerConformance('postgres', {
  create: () => createPostgresLedger({ connectionString: server.url }),
  offers: { applyChanges: true, applyChangesAndAudit: true, locks: true, relayOutbox: true, pruneOutbox: true },
});

describeEngineConformance('postgres', {
  create: async () => createPostgresEngine({ connectionString: await server.createDatabase('engine') }),
});

describeLedgerConformance('pglite', { create: () => createPgliteLedger(), offers: { applyChanges: true, applyChangesAndAudit: true, pruneOutbox: true } });
describe('in a worker thread', () => {
  describeLedgerConformance('pglite', { create: () => createPgliteLedger({ thread: true }), offers: { applyChanges: true, applyChangesAndAudit: true, pruneOutbox: true } });
});

const dir = mkdtempSync(join(tmpdir(), 'outbid-pglite-'));
describeLedgerConformance('pglite', {
  create: () => createPgliteLedger({ dataDir: join(dir, 'conformance') }),
  offers: { applyChanges: true, applyChangesAndAudit: true, pruneOutbox: true },
});
describe('in a worker thread, on disk', () => {
  describeLedgerConformance('pglite', {
    create: () => createPgliteLedger({ dataDir: join(dir, 'conformance-thread'), thread: true }),
    teardown: async () => rmSync(dir, { recursive: true, force: true }),
    offers: { applyChanges: true, applyChangesAndAudit: true, pruneOutbox: true },
  });
});
