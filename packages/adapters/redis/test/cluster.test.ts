import { startRedisCluster, type RedisCluster } from '@outbid/test-services';
import { Cluster } from 'ioredis';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { BidEngine } from '@outbid/core';
import { auctionFixture, bidCommand } from '@outbid/core/testing';
import { createRedisEngine } from '../src/index.js';

let cluster: RedisCluster;
let client: Cluster;
let engine: BidEngine;
beforeAll(async () => {
  cluster = await startRedisCluster(3);
  client = new Cluster(cluster.nodes);
  engine = await createRedisEngine({ redis: client });
}, 60_000);
afterAll(async () => {
  client?.disconnect();
  await cluster?.stop();
});

it('runs on a real 3-node Redis Cluster: auctions spread over every node take bids, replays and transitions', async () => {
  const now = await engine.now();
  const auctions = Array.from({ length: 60 }, (_, i) => auctionFixture(now, { id: `cluster-${i}` }));
  for (const a of auctions) expect(await engine.hydrate(a)).toEqual({ applied: true });
  // The auctions' hash tags land on all three masters.
  const counts = await Promise.all(client.nodes('master').map((n) => n.dbsize()));
  expect(counts.filter((c) => c > 0)).toHaveLength(3);

  const results = await Promise.all(
    auctions.flatMap((a) => [
      engine.placeBid(bidCommand(a.id, 'b1', 1_000, `k-${a.id}`)),
      engine.placeBid(bidCommand(a.id, 'b2', 1_000)),
    ]),
  );
  const accepted = results.filter((r) => r.kind === 'decided' && r.decision.status === 'accepted');
  expect(accepted).toHaveLength(60); // one per auction
  for (const a of auctions) {
    const replay = await engine.placeBid(bidCommand(a.id, 'b1', 1_000, `k-${a.id}`));
    expect(replay).toMatchObject({ kind: 'decided', replayed: true });
    expect(await engine.end(a.id, 'now')).toMatchObject({ kind: 'applied', state: { status: 'ended', version: 3 } });
  }
}, 60_000);
