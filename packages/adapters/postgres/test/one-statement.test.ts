import { PGlite } from '@electric-sql/pglite';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AuctionState, BidRecord, Ledger } from '@outbid/core';
import { acceptedChange, auctionFixture } from '@outbid/core/testing';
import { pgDb, pgliteDb, type Db } from '../src/db.js';
import { BATCH_AS_EXPECTED, createSqlLedger, RECORD_AUDIT } from '../src/ledger.js';
import { callOf } from '../src/plan-cache.js';
import { migrate } from '../src/migrations.js';
import { usePostgresServer } from './postgres-server.js';

const server = usePostgresServer();
const NOW = Date.UTC(2030, 0, 1);

interface Statement {
  sql: string;
  params: unknown[];
}

/**
 * A Db that counts what goes to the database: single statements, and transactions (BEGIN … COMMIT); it keeps the
 * last single statement, and every statement sent in the last transaction.
 */
function counted(db: Db) {
  const counts = { statements: 0, transactions: 0 };
  let last: Statement | null = null;
  let lastTransaction: Statement[] = [];
  const wrapped: Db = {
    ...db,
    query: (sql, params) => {
      counts.statements++;
      last = { sql, params: params ?? [] };
      return db.query(sql, params);
    },
    exec: (sql) => db.exec(sql),
    transaction: (fn) => {
      counts.transactions++;
      lastTransaction = [];
      return db.transaction((tx) =>
        fn({
          query: (sql, params) => {
            lastTransaction.push({ sql, params: params ?? [] });
            return tx.query(sql, params);
          },
          exec: (sql) => tx.exec(sql),
        }),
      );
    },
    close: () => db.close(),
  };
  const take = () => {
    const taken = { ...counts };
    counts.statements = 0;
    counts.transactions = 0;
    return taken;
  };
  return { db: wrapped, take, lastStatement: () => last, lastTransaction: () => lastTransaction };
}

interface Store {
  /** Two ledgers on one database, as two instances of the server would have; `a` counts its round trips. */
  a: Ledger;
  b: Ledger;
  take(): { statements: number; transactions: number };
  /** The last single statement `a` sent. */
  lastStatement(): Statement | null;
  /** The statements of the last transaction `a` ran. */
  lastTransaction(): Statement[];
  raw(sql: string, params: unknown[]): Promise<unknown>;
  close(): Promise<void>;
}

const stores: Record<string, () => Promise<Store>> = {
  postgres: async () => {
    const url = await server.createDatabase('one_statement');
    const pools = [new pg.Pool({ connectionString: url, max: 4 }), new pg.Pool({ connectionString: url, max: 4 })];
    await migrate(pgDb(pools[0]!, false));
    const a = counted(pgDb(pools[0]!, false));
    return {
      a: createSqlLedger(a.db, 'postgres'),
      b: createSqlLedger(pgDb(pools[1]!, false), 'postgres'),
      take: a.take,
      lastStatement: a.lastStatement,
      lastTransaction: a.lastTransaction,
      raw: (sql, params) => pools[1]!.query(sql, params),
      close: async () => {
        await Promise.all(pools.map((p) => p.end()));
      },
    };
  },
  pglite: async () => {
    const instance = new PGlite();
    await migrate(pgliteDb(instance, false));
    const a = counted(pgliteDb(instance, false));
    return {
      a: createSqlLedger(a.db, 'pglite'),
      b: createSqlLedger(pgliteDb(instance, false), 'pglite'),
      take: a.take,
      lastStatement: a.lastStatement,
      lastTransaction: a.lastTransaction,
      raw: (sql, params) => instance.query(sql, params),
      close: () => instance.close(),
    };
  },
};

describe.each(Object.keys(stores))('the one-statement batch write on %s', (kind) => {
  let store: Store;
  beforeAll(async () => {
    store = await stores[kind]!();
  }, 60_000);
  afterAll(async () => {
    await store?.close();
  });

  const created = async (ledger: Ledger) => {
    const state = auctionFixture(NOW);
    await ledger.createAuction(state, []);
    store.take();
    return state;
  };

  it('a change on top of the state this ledger knows is one statement, no transaction of its own', async () => {
    const state = await created(store.a);
    const v2 = acceptedChange(state, 'b1', 1_000, NOW);
    const v3 = acceptedChange(v2.state, 'b2', 1_100, NOW + 1);
    const v4 = acceptedChange(v3.state, 'b1', 1_200, NOW + 2);
    expect(await store.a.applyChange(v2)).toEqual({ ok: true });
    expect(store.take()).toEqual({ statements: 1, transactions: 0 });
    expect(await store.a.applyChanges!([v3, v4])).toEqual([{ ok: true }, { ok: true }]);
    expect(store.take()).toEqual({ statements: 1, transactions: 0 });
    expect(await store.a.getAuction(state.id)).toEqual(v4.state);
    expect((await store.a.listBids(state.id, { include: 'accepted', limit: 10 })).items).toEqual([v4.bid, v3.bid, v2.bid]);
  });

  it('an auction another instance moved on is judged the locked way: a rival of its write is a conflict, and nothing of it is written', async () => {
    const state = await created(store.a);
    const v2 = acceptedChange(state, 'b1', 1_000, NOW);
    expect(await store.a.applyChange(v2)).toEqual({ ok: true });
    const theirs = acceptedChange(v2.state, 'b2', 1_100, NOW + 1);
    expect(await store.b.applyChange(theirs)).toEqual({ ok: true });
    store.take();
    const mine = acceptedChange(v2.state, 'b3', 1_200, NOW + 2);
    expect(await store.a.applyChange(mine)).toEqual({ ok: false, reason: 'conflict', ledgerVersion: 3 });
    expect(store.take()).toEqual({ statements: 1, transactions: 1 });
    expect(await store.a.getAuction(state.id)).toEqual(theirs.state);
    store.take();
    // The locked read taught it the recorded state: the next write on top of it is one statement again.
    const next = acceptedChange(theirs.state, 'b3', 1_300, NOW + 3);
    expect(await store.a.applyChange(next)).toEqual({ ok: true });
    expect(store.take()).toEqual({ statements: 1, transactions: 0 });
  });

  it('a row changed behind its back without a new version (ended by hand) is not written over', async () => {
    const state = await created(store.a);
    await store.raw(`UPDATE outbid_auctions SET status = 'ended', closed_at = $2 WHERE id = $1`, [state.id, NOW]);
    const bid = acceptedChange(state, 'b1', 1_000, NOW);
    expect(await store.a.applyChange(bid)).toEqual({ ok: false, reason: 'conflict', ledgerVersion: 1 });
    expect(await store.a.getAuction(state.id)).toEqual({ ...state, status: 'ended', closedAt: NOW });
    expect((await store.a.listBids(state.id, { include: 'all', limit: 10 })).items).toEqual([]);
  });

  it('a batch over several auctions writes those still as known and judges the rest the locked way', async () => {
    const [kept, moved] = [await created(store.a), await created(store.a)];
    const theirs = acceptedChange(moved, 'b9', 1_500, NOW);
    expect(await store.b.applyChange(theirs)).toEqual({ ok: true });
    const keptV2 = acceptedChange(kept, 'b1', 1_000, NOW);
    const keptV3 = acceptedChange(keptV2.state, 'b2', 1_100, NOW + 1);
    const movedV2 = acceptedChange(moved, 'b1', 1_000, NOW);
    store.take();
    expect(await store.a.applyChanges!([keptV2, movedV2, keptV3])).toEqual([
      { ok: true },
      { ok: false, reason: 'conflict', ledgerVersion: 2 },
      { ok: true },
    ]);
    expect(store.take()).toEqual({ statements: 1, transactions: 1 });
    expect(await store.a.getAuction(kept.id)).toEqual(keptV3.state);
    expect(await store.a.getAuction(moved.id)).toEqual(theirs.state);
    expect((await store.a.listBids(moved.id, { include: 'all', limit: 10 })).items).toEqual([theirs.bid]);
    const events = (await store.a.readOutbox(10_000)).filter((e) => e.event.auctionId === kept.id || e.event.auctionId === moved.id);
    expect(events.map((e) => e.event)).toEqual([...theirs.events, ...keptV2.events, ...keptV3.events]);
  });

  it('a key another bid already holds writes nothing, and the locked way names the holder', async () => {
    const state = await created(store.a);
    const v2 = acceptedChange(state, 'b1', 1_000, NOW);
    expect(await store.a.applyChange(v2)).toEqual({ ok: true });
    const audited: BidRecord = { ...acceptedChange(v2.state, 'b2', 900, NOW + 1, 'k-held').bid, status: 'rejected', reason: 'BID_TOO_LOW', version: null };
    await store.a.recordAudit([audited]);
    store.take();
    const retry = acceptedChange(v2.state, 'b2', 1_100, NOW + 2, 'k-held');
    expect(await store.a.applyChange(retry)).toEqual({ ok: false, reason: 'duplicate_key', existing: audited });
    expect(store.take()).toEqual({ statements: 1, transactions: 1 });
    expect(await store.a.getAuction(state.id)).toEqual(v2.state);
  });

  /** The statement itself, for the call of its function that PGlite is sent instead (see createStatementRunner). */
  const unwrapped = (sql: string) => [BATCH_AS_EXPECTED, RECORD_AUDIT].find((s) => callOf(s) === sql)?.sql ?? sql;
  /** The plan of a statement `a` sent, made again on the same data (EXPLAIN plans it, never runs it). */
  const planOf = async (statement: Statement) => {
    const plan = (await store.raw(`EXPLAIN ${unwrapped(statement.sql)}`, statement.params)) as { rows: Array<Record<string, string>> };
    return plan.rows.map((row) => row['QUERY PLAN']).join('\n');
  };
  // Enough auctions, and bids, that a scan of a table costs more than a few lookups by key, even to the planner.
  const manyAuctions = async () => {
    const states = [];
    for (let i = 0; i < 300; i++) states.push(await created(store.a));
    await store.raw('ANALYZE outbid_auctions', []);
    return states;
  };

  it('finds each auction of a batch by its key, never by reading the whole table', async () => {
    const states = await manyAuctions();
    const changes = states.slice(0, 10).map((state, i) => acceptedChange(state, `b${i}`, 1_000, NOW));
    expect(await store.a.applyChanges!(changes)).toEqual(changes.map(() => ({ ok: true })));
    const statement = store.lastStatement()!;
    expect(unwrapped(statement.sql)).toContain('FOR UPDATE');
    const plan = await planOf(statement);
    expect(plan).toContain('Index Scan using outbid_auctions_pkey');
    expect(plan).not.toContain('Seq Scan on outbid_auctions');
  });

  it('the locked way too finds each auction and each held key by its key, never by reading a whole table', async () => {
    const states = (await manyAuctions()).slice(0, 10);
    // Bids on every auction, so that reading outbid_bids whole costs more than a few lookups by key.
    const refused = (await manyAuctions()).flatMap((state) =>
      Array.from({ length: 10 }, (_, i): BidRecord => ({ ...acceptedChange(state, `r${i}`, 900, NOW).bid, status: 'rejected', reason: 'BID_TOO_LOW', version: null })),
    );
    await store.a.recordAudit(refused);
    await store.raw('ANALYZE outbid_bids', []);
    // Another instance moves the ten auctions on: `a` no longer knows their rows and must lock and read them.
    const moved = [];
    for (const [i, state] of states.entries()) {
      const theirs = acceptedChange(state, `t${i}`, 1_000, NOW);
      expect(await store.b.applyChange(theirs)).toEqual({ ok: true });
      moved.push(theirs.state);
    }
    const changes = moved.map((state, i) => acceptedChange(state, `b${i}`, 1_100, NOW + 1));
    store.take();
    expect(await store.a.applyChanges!(changes)).toEqual(changes.map(() => ({ ok: true })));
    expect(store.take()).toEqual({ statements: 0, transactions: 1 });
    const statements = store.lastTransaction().filter((s) => s.params.length > 0);
    // The rows locked and read, the held keys looked up, the batch written.
    expect(statements).toHaveLength(3);
    for (const statement of statements) {
      const plan = await planOf(statement);
      expect(plan, statement.sql).not.toMatch(/Seq Scan on outbid_(auctions|bids)/);
    }
    // A retry of two refused bids: their keys are held, and the lookup of who holds them goes by key too.
    const byId = (a: BidRecord, b: BidRecord) => (a.bidId < b.bidId ? -1 : 1);
    const holders = await store.a.recordAudit(refused.slice(0, 2).map((r) => ({ ...r, bidId: `${r.bidId}-again` })));
    expect(holders?.sort(byId)).toEqual(refused.slice(0, 2).sort(byId));
    expect(await planOf(store.lastStatement()!)).not.toMatch(/Seq Scan on outbid_bids/);
  });

  it('the one-statement write and the audit insert keep their plans: PGlite is sent calls of session functions', async () => {
    const state = await created(store.a);
    const v2 = acceptedChange(state, 'b1', 1_000, NOW);
    expect(await store.a.applyChange(v2)).toEqual({ ok: true });
    const written = store.lastStatement()!.sql;
    const refused: BidRecord = { ...acceptedChange(v2.state, 'b2', 900, NOW + 1).bid, status: 'rejected', reason: 'BID_TOO_LOW', version: null };
    expect(await store.a.recordAudit([refused])).toEqual([]);
    const audited = store.lastStatement()!.sql;
    if (kind === 'pglite') expect([written, audited]).toEqual([callOf(BATCH_AS_EXPECTED), callOf(RECORD_AUDIT)]);
    else expect([written, audited]).toEqual([BATCH_AS_EXPECTED.sql, RECORD_AUDIT.sql]); // named prepared statements
    expect((await store.a.listBids(state.id, { include: 'all', limit: 10 })).items).toEqual([refused, v2.bid]);
  });

  it('two changes of one batch with the same key never both go in one statement', async () => {
    const state: AuctionState = await created(store.a);
    const v2 = acceptedChange(state, 'b1', 1_000, NOW, 'k-twice');
    const v3 = acceptedChange(v2.state, 'b1', 1_100, NOW + 1, 'k-twice');
    expect(await store.a.applyChanges!([v2, v3])).toEqual([{ ok: true }, { ok: false, reason: 'duplicate_key', existing: v2.bid }]);
    expect(store.take()).toEqual({ statements: 0, transactions: 1 });
    expect(await store.a.getAuction(state.id)).toEqual(v2.state);
  });
});
