import { startPostgres, startRedis, type PostgresServer, type RedisServer } from '@outbid/test-services';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createFailoverEngine, createOutbid, type Outbid } from '@outbid/core';
import { createPostgresEngine, createPostgresLedger } from '@outbid/postgres';
import { createRedisEngine } from '@outbid/redis';
import { expectConsistent, stampede } from './bidders.js';

let redisServer: RedisServer;
let pg: PostgresServer;
beforeAll(async () => {
  [redisServer, pg] = await Promise.all([startRedis(), startPostgres()]);
}, 60_000);
afterAll(async () => {
  await Promise.allSettled([redisServer?.stop(), pg?.stop()]);
});

async function stack(database: string) {
  const url = await pg.createDatabase(database);
  const switches: string[] = [];
  const redis = new Redis(redisServer.url, { maxRetriesPerRequest: 1, enableOfflineQueue: false, commandTimeout: 1_000, retryStrategy: () => 50 });
  redis.on('error', () => {});
  const engine = createFailoverEngine({
    primary: await createRedisEngine({ redis, quitOnClose: true }),
    fallback: await createPostgresEngine({ connectionString: url }),
    probeIntervalMs: 100,
    onSwitch: (to) => switches.push(to),
  });
  const outbid: Outbid = createOutbid({ engine, ledger: await createPostgresLedger({ connectionString: url }), guardIntervalMs: 0, persistTimeoutMs: 1_000 });
  const auction = await outbid.createAuction('seller', { postId: database, startAt: Date.now(), endAt: Date.now() + 600_000, startPrice: 1_000, increment: { type: 'fixed', amount: 10 } });
  return { outbid, engine, auction, switches };
}

describe('faults under a stampede (200 concurrent bidders on one auction)', () => {
  it('Redis killed with SIGKILL and restarted empty mid-run: no accepted bid lost, none accepted against stale state', async () => {
    const { outbid, auction, switches } = await stack('redis_fault');
    try {
      const run = stampede(outbid, auction.id, { bidders: 200, bidsEach: 6, startPrice: 1_000, pauseMs: 100 });
      await new Promise((r) => setTimeout(r, 250));
      await redisServer.kill('SIGKILL');
      await new Promise((r) => setTimeout(r, 600));
      await redisServer.restart(); // empty: no persistence
      const seen = await run;
      expect(switches[0]).toBe('fallback'); // the outage really happened mid-run
      expect(seen.accepted.length).toBeGreaterThan(10);
      await expectConsistent(outbid, auction.id, seen, 10, expect);
      // After the run the engine's copy (rebuilt from the ledger on demand) equals the ledger.
      await outbid.placeBid({ auctionId: auction.id, bidderId: 'closer', amount: 10 ** 9 });
      expect(await outbid.engine.getState(auction.id)).toEqual(await outbid.ledger.getAuction(auction.id));
    } finally {
      await outbid.close();
    }
  }, 120_000);

  it('Postgres restarted mid-run: bids during the outage fail cleanly and are retried; the ledger stays the truth', async () => {
    const { outbid, auction } = await stack('pg_fault');
    try {
      const run = stampede(outbid, auction.id, { bidders: 200, bidsEach: 6, startPrice: 1_000, pauseMs: 100 });
      await new Promise((r) => setTimeout(r, 250));
      await pg.restart('immediate');
      const seen = await run;
      expect([...seen.errors.keys()].every((code) => !code.startsWith('raw:'))).toBe(true);
      expect(seen.accepted.length).toBeGreaterThan(10);
      await expectConsistent(outbid, auction.id, seen, 10, expect);
      await outbid.placeBid({ auctionId: auction.id, bidderId: 'closer', amount: 10 ** 9 });
      expect(await outbid.engine.getState(auction.id)).toEqual(await outbid.ledger.getAuction(auction.id));
    } finally {
      await outbid.close();
    }
  }, 120_000);
});
