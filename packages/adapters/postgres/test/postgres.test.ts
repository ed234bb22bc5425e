import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createOutbid, type Outbid } from '@outbid/core';
import { allAcceptedBids } from '@outbid/core/testing';
import { createPostgresLedger, migrate, MIGRATIONS } from '../src/index.js';
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
});
