import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createMemoryEngine, createOutbid, type Ledger, type Outbid } from '@outbid/core';
import { allAcceptedBids, eventually } from '@outbid/core/testing';
import { createPostgresEngine, createPostgresLedger, migrate, MIGRATIONS } from '../src/index.js';
import { pgDb } from '../src/db.js';
import { usePostgresServer } from './postgres-server.js';

const server = usePostgresServer();

describe('Postgres migrations', () => {
  it('applying twice is a no-op and concurrent migrators do not fail', async () => {
    const url = await server.createDatabase('migrations');
    const pools = Array.from({ length: 8 }, () => new pg.Pool({ connectionString: url, max: 2 }));
    try {
      const results = await Promise.all(pools.map((pool) => migrate(pgDb(pool, false))));
      expect(results.flat().sort()).toEqual(MIGRATIONS.map((m) => m.version));
      expect(await migrate(pgDb(pools[0]!, false))).toEqual([]);
    } finally {
      await Promise.all(pools.map((p) => p.end()));
    }
  });
});

/** A fresh database, its ledger (migrated) and a plain client on it for what the ledger does not show; both closed after `test`. */
async function withLedgerAndClient(name: string, test: (ledger: Ledger, raw: pg.Client) => Promise<void>): Promise<void> {
  const url = await server.createDatabase(name);
  const ledger = await createPostgresLedger({ connectionString: url });
  const raw = new pg.Client({ connectionString: url });
  await raw.connect();
  try {
    await test(ledger, raw);
  } finally {
    await raw.end();
    await ledger.close();
  }
}

describe('the outbox on Postgres', () => {
  it('an entry marked published keeps its page, so the mark is logged without its payload again', async () => {
    await withLedgerAndClient('outbox_pages', async (ledger, raw) => {
      // 60 entries of about 1 KB, as a bid's event is: seven to a full page, three or four to a half-filled one.
      const payloads = Array.from({ length: 60 }, (_, i) => JSON.stringify({ eventId: `e-${i}`, padding: 'x'.repeat(1_000) }));
      await raw.query(
        `INSERT INTO outbid_outbox (id, aggregateid, type, payload, created_at)
           SELECT 'e-' || n, 'a-1', 'BidAccepted', p, 0 FROM unnest($1::text[]) WITH ORDINALITY AS t(p, n)`,
        [payloads],
      );
      const pages = async () =>
        new Map((await raw.query<{ id: string; page: string }>(`SELECT id, (ctid::text::point)[0]::text AS page FROM outbid_outbox`)).rows.map((r) => [r.id, r.page]));
      const before = await pages();
      const entries = await ledger.readOutbox(1_000);
      expect(entries.length).toBeGreaterThanOrEqual(60);
      await ledger.markPublished(entries.map((e) => e.position));
      expect(await ledger.readOutbox(1_000)).toEqual([]);
      const after = await pages();
      for (const [id, page] of before) expect([id, after.get(id)]).toEqual([id, page]);
    });
  });
});

describe('pruning the outbox on Postgres', () => {
  const rows = async (raw: pg.Client) =>
    (await raw.query<{ id: string }>('SELECT id FROM outbid_outbox ORDER BY position')).rows.map((r) => r.id);
  const insert = (raw: pg.Client, id: string, publishedAt: number | null) =>
    raw.query(`INSERT INTO outbid_outbox (id, aggregateid, type, payload, created_at, published_at) VALUES ($1, 'a-1', 'BidAccepted', '{}', 0, $2)`, [id, publishedAt]);

  it('deletes entries published before the cutoff among the oldest `limit`; never one not published', async () => {
    await withLedgerAndClient('outbox_prune', async (ledger, raw) => {
      const now = Date.now();
      await insert(raw, 'old-1', now - 7_200_000);
      await insert(raw, 'never-published', null);
      await insert(raw, 'old-2', now - 7_200_000);
      await insert(raw, 'recent', now);
      await insert(raw, 'old-3', now - 7_200_000);
      // Only the oldest 3 are looked at: old-3 waits for the next call.
      expect(await ledger.pruneOutbox!(now - 3_600_000, 3)).toBe(2);
      expect(await rows(raw)).toEqual(['never-published', 'recent', 'old-3']);
      expect(await ledger.pruneOutbox!(now - 3_600_000, 3)).toBe(1);
      expect(await rows(raw)).toEqual(['never-published', 'recent']);
      expect(await ledger.pruneOutbox!(now + 1, 3)).toBe(1);
      expect(await rows(raw)).toEqual(['never-published']);
    });
  });

  it('the service prunes what its relay published once the retention has passed', async () => {
    const url = await server.createDatabase('outbox_prune_service');
    const outbid = createOutbid({ ledger: await createPostgresLedger({ connectionString: url }), guardIntervalMs: 0, outboxRetentionMs: 1 });
    const raw = new pg.Client({ connectionString: url });
    await raw.connect();
    try {
      const auction = await outbid.createAuction('seller', { postId: 'prune', startAt: Date.now(), endAt: Date.now() + 60_000, startPrice: 100, increment: { type: 'fixed', amount: 10 } });
      await outbid.placeBid({ auctionId: auction.id, bidderId: 'b', amount: 100 });
      await outbid.idle();
      // Published (the relay ran), then deleted by the once-a-second prune.
      await eventually(async () => expect(await rows(raw)).toEqual([]), 10_000);
      expect(await outbid.getAuction(auction.id)).toMatchObject({ version: 2 });
    } finally {
      await raw.end();
      await outbid.close();
    }
  });
});

describe('the Postgres engine beside its ledger', () => {
  it('a copy behind the ledger is rebuilt before it decides: no refusal from a stale copy (refusals are not fenced)', async () => {
    const url = await server.createDatabase('engine_beside_ledger');
    const outbid = createOutbid({ ledger: await createPostgresLedger({ connectionString: url }), engine: await createPostgresEngine({ connectionString: url }), guardIntervalMs: 0 });
    // Another instance deciding on its own engine (as Redis would), on the same ledger.
    const other = createOutbid({ ledger: await createPostgresLedger({ connectionString: url }), engine: createMemoryEngine(), guardIntervalMs: 0 });
    try {
      const auction = await outbid.createAuction('seller', { postId: 'stale-copy', startAt: Date.now(), endAt: Date.now() + 60_000, startPrice: 100, increment: { type: 'fixed', amount: 10 } });
      expect((await outbid.placeBid({ auctionId: auction.id, bidderId: 'b', amount: 100 })).decision).toMatchObject({ status: 'accepted', version: 2 });
      expect((await other.placeBid({ auctionId: auction.id, bidderId: 'a', amount: 110 })).decision).toMatchObject({ status: 'accepted', version: 3 });
      // The Postgres engine's copy still has 'b' leading at version 2; decided on it, this bid would be refused as
      // ALREADY_LEADING, and the refusal replayed to every retry of its key.
      const bid = await outbid.placeBid({ auctionId: auction.id, bidderId: 'b', amount: 120, idempotencyKey: 'stale-copy-1' });
      expect(bid.decision).toMatchObject({ status: 'accepted', version: 4, currentWinnerId: 'b' });
      expect((await outbid.getAuction(auction.id)).version).toBe(4);
    } finally {
      await other.close();
      await outbid.close();
    }
  });
});

describe('the service on the Postgres ledger', () => {
  let outbid: Outbid;
  beforeAll(async () => {
    const url = await server.createDatabase('service');
    outbid = createOutbid({ ledger: await createPostgresLedger({ connectionString: url }), guardIntervalMs: 0 });
  });
  afterAll(async () => {
    await outbid?.close();
  });

  it('200 concurrent bidders on one auction: gapless versions, prices rising by the increment, one leader', async () => {
    const auction = await outbid.createAuction('seller', {
      postId: 'hot', startAt: Date.now(), endAt: Date.now() + 120_000, startPrice: 1_000, increment: { type: 'fixed', amount: 100 },
    });
    const results = await Promise.all(
      Array.from({ length: 200 }, (_, i) =>
        outbid.placeBid({ auctionId: auction.id, bidderId: `b${i}`, amount: 1_000 + (i % 50) * 100, idempotencyKey: `k${i}` }),
      ),
    );
    const accepted = results.filter((r) => r.decision.status === 'accepted').map((r) => r.decision);
    const history = await allAcceptedBids(outbid, auction.id);
    expect(history.map((b) => b.version)).toEqual(history.map((_, i) => i + 2));
    for (let i = 1; i < history.length; i++) expect(history[i]!.amount).toBeGreaterThanOrEqual(history[i - 1]!.amount + 100);
    expect(new Set(history.map((b) => b.bidId))).toEqual(new Set(accepted.map((d) => d.bidId)));
    const final = await outbid.getAuction(auction.id);
    expect(final).toMatchObject({ version: history.length + 1, currentWinnerId: history.at(-1)!.bidderId, currentPrice: history.at(-1)!.amount });
  }, 60_000);

  it('100 concurrent proxy bidders over a hidden reserve: every automatic answer and its trigger recorded, the top maximum wins about one step over the second', async () => {
    const auction = await outbid.createAuction('seller', {
      postId: 'proxy-hot', startAt: Date.now(), endAt: Date.now() + 120_000, startPrice: 1_000, increment: { type: 'fixed', amount: 100 },
      reservePrice: 5_000,
    });
    // The top maximum (20,000) first: it leads at the reserve. Then distinct maximums 100 apart (1,000 … 10,800), all
    // at once in a shuffled order: every one the price has not passed yet is answered by the standing maximum, so
    // at least the first of them is (whatever order they arrive in), and the rest are too low.
    const first = await outbid.placeBid({ auctionId: auction.id, bidderId: 'p20000', maxAmount: 20_000, idempotencyKey: 'k20000' });
    expect(first.decision).toMatchObject({ status: 'accepted', currentPrice: 5_000, reserveMet: true });
    const maximums = Array.from({ length: 99 }, (_, i) => 1_000 + i * 100).sort(() => Math.random() - 0.5);
    const results = [
      first,
      ...(await Promise.all(
        maximums.map((maxAmount) => outbid.placeBid({ auctionId: auction.id, bidderId: `p${maxAmount}`, maxAmount, idempotencyKey: `k${maxAmount}` })),
      )),
    ];
    const final = await outbid.getAuction(auction.id);
    expect(final).toMatchObject({ currentWinnerId: 'p20000', leaderMax: 20_000 });
    // One step over 10,800, unless 10,800 came when the price already stood there (then it was too low to count).
    expect([10_800, 10_900]).toContain(final.currentPrice);
    const history = await allAcceptedBids(outbid, auction.id);
    expect(history.map((b) => b.version)).toEqual(history.map((_, i) => i + 2));
    for (let i = 1; i < history.length; i++) expect(history[i]!.amount).toBeGreaterThan(history[i - 1]!.amount);
    expect(history.at(-1)).toMatchObject({ version: final.version, amount: final.currentPrice });
    // The hidden reserve: whenever the leader's maximum reaches it, the price stands at it or above.
    for (const b of history) if (Number(b.bidderId.slice(1)) >= 5_000) expect(b.amount).toBeGreaterThanOrEqual(5_000);
    const proxied = results.filter((r) => r.decision.reason === 'OUTBID_BY_PROXY');
    expect(proxied.length).toBeGreaterThan(0);
    expect(history.filter((b) => b.kind === 'proxy')).toHaveLength(proxied.length);
    for (const { decision } of results) {
      const stored = await outbid.ledger.findBidByIdempotencyKey(auction.id, decision.bidderId, `k${decision.bidderId.slice(1)}`);
      if (decision.status === 'accepted' || decision.reason === 'OUTBID_BY_PROXY') expect(stored?.decision).toEqual(decision);
    }
  }, 60_000);
});
