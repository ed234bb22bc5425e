/**
 * Live delivery across instances (issue 15): with the coalescing window at 0, each of 20 spaced bids through A
 * reaches a viewer on B as its own frame. Kafka consumers that long-poll for seconds (kafkajs' default 5 s wait)
 * deliver a burst as one coalesced frame; this catches a regression back to that. No latency is asserted: each
 * bid waits until the previous one's frame arrived, so the test does not depend on the machine's speed.
 */
import { startKafkaMock, startPostgres, startRedis, type KafkaMock, type PostgresServer, type RedisServer } from '@outbid/test-services';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually } from '@outbid/core/testing';
import { createAuction, placeBid, serverProcess, sseViewer, token, type ServerProc } from '../bench/harness.js';

let redis: RedisServer;
let pg: PostgresServer;
let kafka: KafkaMock;
const servers: ServerProc[] = [];

beforeAll(async () => {
  [redis, pg, kafka] = await Promise.all([startRedis(), startPostgres(), startKafkaMock({ topics: [{ name: 'outbid.auction-events', partitions: 3 }] })]);
}, 120_000);
afterAll(async () => {
  await Promise.allSettled(servers.map((s) => s.stop()));
  await Promise.allSettled([redis?.stop(), pg?.stop(), kafka?.stop()]);
});

describe('live delivery with Kafka', () => {
  it('a viewer on another instance sees each of 20 spaced bids as its own frame, in order', async () => {
    const env = { REDIS_URL: redis.url, DATABASE_URL: await pg.createDatabase('live_delivery'), KAFKA_BROKERS: kafka.brokers.join(','), OUTBID_FLUSH_MS: '0' };
    const a = await serverProcess(env); // resolves once /readyz answers 200 (its bus subscriptions joined)
    servers.push(a);
    const b = await serverProcess(env);
    servers.push(b);
    const auctionId = await createAuction(a.url);
    const onB: Array<{ version: number; event: string }> = [];
    const onA: Array<{ version: number; event: string }> = [];
    const viewerAuth = await token('viewer', ['viewer']);
    const stops = [
      await sseViewer(b.url, auctionId, viewerAuth, (version, event) => onB.push({ version, event })),
      await sseViewer(a.url, auctionId, viewerAuth, (version, event) => onA.push({ version, event })),
    ];
    try {
      await eventually(() => expect(onB.map((f) => f.event)).toEqual(['snapshot']), 10_000);
      const bidders = [await token('ann', ['bidder']), await token('ben', ['bidder'])];
      for (let i = 0; i < 20; i++) {
        const answer = await placeBid(a.url, auctionId, 100 + i * 10, bidders[i % 2]!);
        expect(answer.status).toBe(201);
        expect(answer.version).toBe(2 + i);
        // Spaced: the next bid only once this one's frame reached B (whatever the time that takes).
        await eventually(() => expect(onB.at(-1)?.version).toBeGreaterThanOrEqual(answer.version), 20_000);
      }
      // One frame per bid, none coalesced, none out of order, no duplicates — on B and on A (local delivery).
      const expected = Array.from({ length: 20 }, (_, i) => 2 + i);
      expect(onB.slice(1).map((f) => f.version)).toEqual(expected);
      await eventually(() => expect(onA.at(-1)?.version).toBe(21), 10_000);
      const seenOnA = onA.slice(1).map((f) => f.version);
      for (let i = 1; i < seenOnA.length; i++) expect(seenOnA[i]!).toBeGreaterThan(seenOnA[i - 1]!);
      expect(onB.slice(1).every((f) => f.event === 'bid' || f.event === 'extended')).toBe(true);
    } finally {
      for (const stop of stops) stop();
    }
  }, 120_000);
});
