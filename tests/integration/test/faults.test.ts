import { startPostgres, startRedis, type PostgresServer, type RedisServer } from '@outbid/test-services';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createFailoverEngine, createOutbid, type BidRecord, type Ledger, type LedgerChange, type Outbid } from '@outbid/core';
import { eventually } from '@outbid/core/testing';
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

async function stack(database: string, wrapLedger: (ledger: Ledger) => Ledger = (l) => l) {
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
  const outbid: Outbid = createOutbid({ engine, ledger: wrapLedger(await createPostgresLedger({ connectionString: url })), guardIntervalMs: 0, persistTimeoutMs: 1_000 });
  const auction = await outbid.createAuction('seller', { postId: database, startAt: Date.now(), endAt: Date.now() + 600_000, startPrice: 1_000, increment: { type: 'fixed', amount: 10 } });
  return { outbid, engine, auction, switches };
}

/** 200 bidders × 6 bids on one auction with `fault` injected 250 ms in; then the contract is checked. */
async function stampedeThrough(database: string, fault: () => Promise<void>, wrapLedger?: (ledger: Ledger) => Ledger) {
  const { outbid, engine, auction, switches } = await stack(database, wrapLedger);
  try {
    const run = stampede(outbid, auction.id, { bidders: 200, bidsEach: 6, startPrice: 1_000, pauseMs: 100 });
    await new Promise((r) => setTimeout(r, 250));
    await fault();
    const seen = await run;
    expect([...seen.errors.keys()].every((code) => !code.startsWith('raw:'))).toBe(true); // only typed errors
    expect(seen.accepted.length).toBeGreaterThan(10);
    await expectConsistent(outbid, auction.id, seen, 10, expect);
    // After the run the engine's copy (rebuilt from the ledger on demand) equals the ledger. Checked on Redis once
    // the failover is back on it: a bid decided on the fallback just before the probe switches back leaves Redis
    // without a copy until the next bid (a likely cause of the null read twice here, once in a CI run). A switch
    // between the bid and the read shows in the comparison.
    await eventually(() => expect(engine.active()).toBe('primary'), 10_000);
    const switchesBefore = switches.length;
    await outbid.placeBid({ auctionId: auction.id, bidderId: 'closer', amount: 10 ** 9 });
    const copy = await outbid.engine.getState(auction.id);
    expect({ switched: switches.slice(switchesBefore), copy }).toEqual({ switched: [], copy: await outbid.ledger.getAuction(auction.id) });
    return { switches };
  } finally {
    await outbid.close();
  }
}

describe('faults under a stampede (200 concurrent bidders on one auction)', () => {
  it('Redis killed with SIGKILL and restarted empty mid-run: no accepted bid lost, none accepted against stale state', async () => {
    const { switches } = await stampedeThrough('redis_fault', async () => {
      await redisServer.kill('SIGKILL');
      await new Promise((r) => setTimeout(r, 600));
      await redisServer.restart(); // empty: no persistence
    });
    expect(switches[0]).toBe('fallback'); // the outage really happened mid-run
  }, 120_000);

  it('Postgres restarted mid-run: bids during the outage fail cleanly and are retried; the ledger stays the truth', async () => {
    await stampedeThrough('pg_fault', () => pg.restart('immediate'));
  }, 120_000);

  it('Postgres killed while a group-commit batch is in flight: no bidder of the batch hears accepted unless its bid is in the ledger', async () => {
    // The kill is fired by the ledger itself the moment a batch of several bids has been sent and not yet answered,
    // up to three times in the run; whether that transaction committed is up to the race, and both must be safe.
    const killedBatches: string[][] = [];
    let killing: Promise<void> | null = null;
    const killMidBatch = (ledger: Ledger): Ledger => {
      // Both writes that carry a batch of bids: alone, or with the refusals decided beside them.
      const writes = {
        applyChanges: (changes: LedgerChange[]) => ledger.applyChanges!(changes),
        applyChangesAndAudit: (changes: LedgerChange[], audit: BidRecord[]) => ledger.applyChangesAndAudit!(changes, audit),
      };
      return new Proxy(ledger, {
        get(target, prop, receiver) {
          if (prop !== 'applyChanges' && prop !== 'applyChangesAndAudit') return Reflect.get(target, prop, receiver);
          const write = writes[prop] as (changes: LedgerChange[], audit: BidRecord[]) => Promise<unknown>;
          return async (changes: LedgerChange[], audit: BidRecord[]) => {
            // Until a batch of several has been killed, a single-bid write waits a moment before it leaves, so the
            // accepts decided meanwhile gather into the next batch: the test makes the batch instead of hoping the
            // scheduler interleaves one (it once did not, in 1 of 48 runs).
            if (changes.length < 2 && killedBatches.length === 0) await new Promise((r) => setTimeout(r, 20));
            const sent = write(changes, audit);
            if (changes.length >= 2 && killing === null && killedBatches.length < 3) {
              killedBatches.push(changes.flatMap((c) => (c.bid ? [c.bid.bidId] : [])));
              // Immediate shutdown (no checkpoint, clients cut off) right after the batch left; armed again later.
              killing = pg.restart('immediate')
                .then(() => new Promise<void>((r) => setTimeout(r, 300)))
                .finally(() => {
                  killing = null;
                });
            }
            return sent;
          };
        },
      });
    };
    const { outbid, auction } = await stack('pg_batch_fault', killMidBatch);
    try {
      const seen = await stampede(outbid, auction.id, { bidders: 200, bidsEach: 6, startPrice: 1_000, pauseMs: 100 });
      await (killing as Promise<void> | null); // a restart still under way
      expect(killedBatches.length, 'no batch of several bids was ever in flight to kill').toBeGreaterThan(0);
      expect([...seen.errors.keys()].every((code) => !code.startsWith('raw:'))).toBe(true);
      const history = await expectConsistent(outbid, auction.id, seen, 10, expect);
      const recorded = new Set(history.map((b) => b.bidId));
      const acceptedIds = new Set(seen.accepted.map((d) => d.bidId));
      for (const batch of killedBatches) {
        for (const bidId of batch) if (acceptedIds.has(bidId)) expect(recorded.has(bidId), `bid ${bidId} of a killed batch answered accepted`).toBe(true);
      }
      const told = killedBatches.flat().filter((id) => acceptedIds.has(id)).length;
      console.log(`killed ${killedBatches.length} batches in flight (${killedBatches.map((b) => b.length).join(', ')} bids); ${told} of their bids answered accepted, all in the ledger`);
    } finally {
      await outbid.close();
    }
  }, 180_000);
});
