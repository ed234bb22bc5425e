import { PGlite } from '@electric-sql/pglite';
import pg from 'pg';
import { describe, expect, it } from 'vitest';
import { bidRecordFromDecision, type AuctionState, type BidEngine, type BidRecord, type Ledger } from '@outbid/core';
import { auctionFixture, maxBidCommand } from '@outbid/core/testing';
import { createPgliteLedger, createPostgresEngine, createPostgresLedger, migrate, MIGRATIONS } from '../src/index.js';
import { pgDb, pgliteDb, type Db } from '../src/db.js';
import { createSqlEngine } from '../src/engine.js';
import { usePostgresServer } from './postgres-server.js';

const server = usePostgresServer();

/** An auction, its bids and the Postgres engine's hot copy as a release before #16 wrote them (schema version 2). */
async function writeAtMigration2(db: Db) {
  expect(await migrate(db, 2)).toEqual([1, 2]);
  const now = Date.now();
  // The state as it was: none of the reserve, Buy It Now or leader maximum fields.
  const { reservePrice: _r, buyNowPrice: _b, buyNowPolicy: _p, leaderMax: _l, ...old } = auctionFixture(now, {
    endAt: now + 600_000,
    currentPrice: 1_000,
    currentWinnerId: 'b1',
    version: 2,
    bidCount: 1,
  });
  await db.query(
    `INSERT INTO outbid_auctions (id, post_id, creator_id, currency, start_at, end_at, effective_end_at, start_price, increment_rule, soft_close,
       status, current_price, current_winner_id, version, bid_count, extension_count, created_at, closed_at)
     VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13,$14,$15,$16,$17,$18)`,
    [old.id, old.postId, old.creatorId, old.currency, old.startAt, old.endAt, old.effectiveEndAt, old.startPrice, JSON.stringify(old.increment), null,
      old.status, old.currentPrice, old.currentWinnerId, old.version, old.bidCount, old.extensionCount, old.createdAt, old.closedAt],
  );
  // Decisions as stored then: without maxAmount, reserveMet, buyNowAvailable. A replay must stay byte-identical.
  const decision = (bidderId: string, status: string, reason: string | null, amount: number, version: number, at: number) =>
    JSON.stringify({
      status, reason, bidId: `${bidderId}-bid`, auctionId: old.id, bidderId, amount, minNextBid: 1_100, auctionStatus: 'active', currentPrice: 1_000,
      currentWinnerId: 'b1', version, endAt: old.effectiveEndAt, extended: false, decidedAt: at,
    });
  const accepted = decision('b1', 'accepted', null, 1_000, 2, now);
  const rejected = decision('b2', 'rejected', 'BID_TOO_LOW', 900, 2, now + 1);
  await db.query(
    `INSERT INTO outbid_bids (bid_id, auction_id, bidder_id, amount, status, reason, version, idempotency_key, fingerprint, created_at, decision)
     VALUES ($1, $2, 'b1', 1000, 'accepted', NULL, 2, 'k1', '{"amount":1000}', $3, $4), ($5, $2, 'b2', 900, 'rejected', 'BID_TOO_LOW', NULL, 'k2', '{"amount":900}', $6, $7)`,
    ['b1-bid', old.id, now, accepted, 'b2-bid', now + 1, rejected],
  );
  await db.query('INSERT INTO outbid_engine_state (auction_id, version, state) VALUES ($1, $2, $3)', [old.id, old.version, JSON.stringify(old)]);
  return { old, now, decisions: { accepted, rejected } };
}

/** Opens the ledger and engine of this release on the database written at migration 2 (the ledger migrates it), and checks the upgrade. */
async function checkUpgrade(raw: Db, open: () => Promise<{ ledger: Ledger; engine: BidEngine }>) {
  const { old, now, decisions } = await writeAtMigration2(raw);
  const { ledger, engine } = await open();
  try {
    const { rows } = await raw.query<{ version: number }>('SELECT version FROM outbid_migrations ORDER BY version');
    expect(rows.map((r) => Number(r.version))).toEqual(MIGRATIONS.map((m) => m.version));
    expect(MIGRATIONS.map((m) => m.version)).toContain(3);

    const upgraded: AuctionState = { ...old, reservePrice: null, buyNowPrice: null, buyNowPolicy: null, leaderMax: null };
    expect(await ledger.getAuction(old.id)).toEqual(upgraded);
    const common = { auctionId: old.id, version: null, maxAmount: null, kind: 'bid' } as const;
    const b1: BidRecord = {
      ...common, bidId: 'b1-bid', bidderId: 'b1', amount: 1_000, status: 'accepted', reason: null, version: 2, idempotencyKey: 'k1',
      fingerprint: '{"amount":1000}', createdAt: now, decision: JSON.parse(decisions.accepted),
    };
    const b2: BidRecord = {
      ...common, bidId: 'b2-bid', bidderId: 'b2', amount: 900, status: 'rejected', reason: 'BID_TOO_LOW', idempotencyKey: 'k2',
      fingerprint: '{"amount":900}', createdAt: now + 1, decision: JSON.parse(decisions.rejected),
    };
    expect((await ledger.listBids(old.id, { include: 'all', limit: 10 })).items).toEqual([b2, b1]);
    expect((await ledger.listBids(old.id, { include: 'accepted', limit: 10 })).items).toEqual([b1]);
    const replay = await ledger.findBidByIdempotencyKey(old.id, 'b2', 'k2');
    expect(JSON.stringify(replay?.decision)).toBe(decisions.rejected);

    // The engine's hot copy from before reads back with the new fields null, and what it decides on it passes the ledger's fence.
    expect(await engine.getState(old.id)).toEqual(upgraded);
    const cmd = maxBidCommand(old.id, 'b3', 5_000, null, 'k3');
    const result = await engine.placeBid(cmd);
    expect(result.kind).toBe('decided');
    if (result.kind !== 'decided' || result.state === null) throw new Error('expected a decided change');
    expect(result.state).toMatchObject({ currentPrice: 1_100, currentWinnerId: 'b3', leaderMax: 5_000, reservePrice: null, version: 3 });
    const bid = bidRecordFromDecision(result.decision, cmd.idempotencyKey, cmd.fingerprint, result.bidKind ?? 'bid');
    expect(await ledger.applyChange({ state: result.state, bid, events: [] })).toEqual({ ok: true });
    expect(await ledger.getAuction(old.id)).toEqual(result.state);
    expect((await ledger.listBids(old.id, { include: 'accepted', limit: 10 })).items).toEqual([bid, b1]);

    // The new columns keep to their values.
    await expect(raw.query(`UPDATE outbid_auctions SET buy_now_policy = 'sometimes' WHERE id = $1`, [old.id])).rejects.toThrow();
    await expect(raw.query(`UPDATE outbid_bids SET kind = 'gift' WHERE bid_id = $1`, ['b1-bid'])).rejects.toThrow();
  } finally {
    await engine.close();
    await ledger.close();
  }
}

describe('migration 3 (proxy bids, hidden reserve, Buy It Now) on a database written at migration 2', () => {
  it('PGlite: old rows read back as plain bids with no reserve, no Buy It Now, no leader maximum', async () => {
    const pglite = new PGlite();
    try {
      const raw = pgliteDb(pglite, false);
      await checkUpgrade(raw, async () => ({ ledger: await createPgliteLedger({ pglite }), engine: createSqlEngine(pgliteDb(pglite, false)) }));
    } finally {
      await pglite.close();
    }
  }, 60_000);

  it('Postgres: the same, through pg', async () => {
    const url = await server.createDatabase('upgrade');
    const pool = new pg.Pool({ connectionString: url, max: 2 });
    try {
      await checkUpgrade(pgDb(pool, false), async () => ({
        ledger: await createPostgresLedger({ connectionString: url }),
        engine: await createPostgresEngine({ connectionString: url, migrate: false }),
      }));
    } finally {
      await pool.end();
    }
  }, 60_000);
});
