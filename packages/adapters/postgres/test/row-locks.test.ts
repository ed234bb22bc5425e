import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AuctionState, BidRecord, Ledger } from '@outbid/core';
import { acceptedChange, auctionFixture } from '@outbid/core/testing';
import { pgDb } from '../src/db.js';
import { createSqlLedger } from '../src/ledger.js';
import { migrate } from '../src/migrations.js';
import { usePostgresServer } from './postgres-server.js';

const server = usePostgresServer();
const NOW = Date.UTC(2030, 0, 1);
/** The advisory lock the test holds to keep a bid write waiting inside its transaction. */
const STALL_LOCK = 4711;
const STALLED_BIDDER = 'stalled-bidder';

/**
 * A bid write of an auction waits for its commit, row lock held; meanwhile refusals of the same auction are
 * recorded (recordAudit). The write is held inside its transaction by a trigger that waits for an advisory lock the
 * test holds, only for accepted bids of STALLED_BIDDER, so every other insert goes through.
 */
describe('the Postgres ledger: a bid write in flight does not hold up the audit trail', () => {
  let pools: pg.Pool[] = [];
  let control: pg.Client;
  /** `a` created the auctions and writes them in one statement; `b` never saw them, so it goes the locked way. */
  const ledgers: Record<'a' | 'b', Ledger> = {} as never;

  beforeAll(async () => {
    const url = await server.createDatabase('row_locks');
    pools = [new pg.Pool({ connectionString: url, max: 4 }), new pg.Pool({ connectionString: url, max: 4 })];
    await migrate(pgDb(pools[0]!, false));
    ledgers.a = createSqlLedger(pgDb(pools[0]!, false), 'postgres');
    ledgers.b = createSqlLedger(pgDb(pools[1]!, false), 'postgres');
    control = new pg.Client({ connectionString: url });
    await control.connect();
    await control.query(`
      CREATE FUNCTION outbid_test_stall() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        IF NEW.status = 'accepted' AND NEW.bidder_id = '${STALLED_BIDDER}' THEN PERFORM pg_advisory_xact_lock_shared(${STALL_LOCK}); END IF;
        RETURN NEW;
      END $$;
      CREATE TRIGGER outbid_test_stall BEFORE INSERT ON outbid_bids FOR EACH ROW EXECUTE FUNCTION outbid_test_stall();`);
  }, 60_000);
  afterAll(async () => {
    await control?.end();
    await Promise.all(pools.map((p) => p.end()));
  });

  const created = async () => {
    const state = auctionFixture(NOW);
    await ledgers.a.createAuction(state, []);
    return state;
  };
  const refusal = (state: AuctionState, bidderId: string, key: string): BidRecord => ({
    ...acceptedChange(state, bidderId, 900, NOW + 1, key).bid,
    status: 'rejected',
    reason: 'BID_TOO_LOW',
    version: null,
  });

  /** Starts `write` with the stall lock held, and resolves once the write waits for that lock. */
  const stalled = async <T>(write: () => Promise<T>): Promise<{ done: Promise<T>; release(): Promise<void> }> => {
    await control.query('SELECT pg_advisory_lock($1)', [STALL_LOCK]);
    const done = write();
    done.catch(() => {}); // awaited by the test; never an unhandled rejection meanwhile
    for (let i = 0; ; i++) {
      const { rows } = await control.query(
        `SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock' AND wait_event = 'advisory'`,
      );
      if (rows[0].n > 0) break;
      if (i >= 200) throw new Error('the bid write never reached the stall');
      await new Promise((r) => setTimeout(r, 25));
    }
    return { done, release: async () => void (await control.query('SELECT pg_advisory_unlock($1)', [STALL_LOCK])) };
  };
  /** `recording`, or a failure if it is still waiting after `ms` (with the old FOR UPDATE it waits for the release). */
  const withoutWaitingForTheBid = <T>(recording: Promise<T>, ms = 15_000) =>
    Promise.race([
      recording,
      new Promise<never>((_, reject) => setTimeout(() => reject(new Error('the audit record waited for the bid write in flight')), ms).unref()),
    ]);

  it.each(['a', 'b'] as const)('a refusal of the auction is recorded while its bid write waits to commit (ledger %s)', async (writer) => {
    const state = await created();
    const { done, release } = await stalled(() => ledgers[writer].applyChange(acceptedChange(state, STALLED_BIDDER, 1_000, NOW)));
    const refused = refusal(state, 'bidder-2', 'k-refused');
    try {
      expect((await withoutWaitingForTheBid(ledgers.a.recordAudit([refused]))) ?? []).toEqual([]);
    } finally {
      await release();
    }
    expect(await done).toEqual({ ok: true });
    const bids = (await ledgers.a.listBids(state.id, { include: 'all', limit: 10 })).items;
    expect(bids.map((b) => [b.bidderId, b.status])).toEqual(
      expect.arrayContaining([
        [STALLED_BIDDER, 'accepted'],
        ['bidder-2', 'rejected'],
      ]),
    );
    expect((await ledgers.a.getAuction(state.id))?.version).toBe(2);
  }, 30_000);

  it('a key a refusal takes while the locked way writes is found on the next attempt: the bid is a duplicate and nothing of it is written', async () => {
    const state = await created();
    const bid = acceptedChange(state, STALLED_BIDDER, 1_000, NOW, 'k-shared');
    // `b` reads the keys (none held yet), then waits at its insert while the refusal takes the key and commits.
    const { done, release } = await stalled(() => ledgers.b.applyChange(bid));
    const refused = refusal(state, STALLED_BIDDER, 'k-shared');
    try {
      expect((await withoutWaitingForTheBid(ledgers.a.recordAudit([refused]))) ?? []).toEqual([]);
    } finally {
      await release();
    }
    expect(await done).toEqual({ ok: false, reason: 'duplicate_key', existing: refused });
    expect(await ledgers.a.getAuction(state.id)).toEqual(state);
    expect((await ledgers.a.listBids(state.id, { include: 'all', limit: 10 })).items).toEqual([refused]);
  }, 30_000);
});
