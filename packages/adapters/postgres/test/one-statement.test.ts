import { PGlite } from '@electric-sql/pglite';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AuctionState, BidRecord, Ledger } from '@outbid/core';
import { acceptedChange, auctionFixture } from '@outbid/core/testing';
import { pgDb, pgliteDb, type Db } from '../src/db.js';
import { createSqlLedger } from '../src/ledger.js';
import { migrate } from '../src/migrations.js';
import { usePostgresServer } from './postgres-server.js';

const server = usePostgresServer();
const NOW = Date.UTC(2030, 0, 1);

/** A Db that counts what goes to the database: single statements, and transactions (BEGIN … COMMIT); it keeps the last statement. */
function counted(db: Db) {
  const counts = { statements: 0, transactions: 0 };
  let last: { sql: string; params: unknown[] } | null = null;
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
      return db.transaction(fn);
    },
    close: () => db.close(),
  };
  const take = () => {
    const taken = { ...counts };
    counts.statements = 0;
    counts.transactions = 0;
    return taken;
  };
  return { db: wrapped, take, lastStatement: () => last };
}

interface Store {
  /** Two ledgers on one database, as two instances of the server would have; `a` counts its round trips. */
  a: Ledger;
  b: Ledger;
  take(): { statements: number; transactions: number };
  /** The last single statement `a` sent. */
  lastStatement(): { sql: string; params: unknown[] } | null;
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

  it('finds each auction of a batch by its key, never by reading the whole table', async () => {
    // Enough auctions that a scan of the table costs more than a few lookups by key, even to the planner.
    const states = [];
    for (let i = 0; i < 300; i++) states.push(await created(store.a));
    await store.raw('ANALYZE outbid_auctions', []);
    const changes = states.slice(0, 10).map((state, i) => acceptedChange(state, `b${i}`, 1_000, NOW));
    expect(await store.a.applyChanges!(changes)).toEqual(changes.map(() => ({ ok: true })));
    const statement = store.lastStatement()!;
    expect(statement.sql).toContain('FOR UPDATE');
    // The same statement, planned again on the same data (in a transaction rolled back: EXPLAIN plans, never runs it).
    await store.raw('BEGIN', []);
    try {
      const plan = (await store.raw(`EXPLAIN ${statement.sql}`, statement.params)) as { rows: Array<Record<string, string>> };
      const text = plan.rows.map((row) => row['QUERY PLAN']).join('\n');
      expect(text).toContain('Index Scan using outbid_auctions_pkey');
      expect(text).not.toContain('Seq Scan on outbid_auctions');
    } finally {
      await store.raw('ROLLBACK', []);
    }
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
