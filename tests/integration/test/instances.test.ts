import { spawn, type ChildProcess } from 'node:child_process';
import { join, resolve } from 'node:path';
import { startKafkaMock, startPostgres, startRedis, type KafkaMock, type PostgresServer, type RedisServer } from '@outbid/test-services';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createOutbidClient, type WatchSnapshot } from '@outbid/client';
import type { AuctionEvent } from '@outbid/core';
import { eventually } from '@outbid/core/testing';
import { createKafkaBus, type KafkaBus } from '@outbid/kafka';
import { issueDevToken } from '@outbid/server';

const SECRET = 'two-instances-secret-of-32-characters!';
const MAIN = resolve(import.meta.dirname, '../../../packages/server/src/main.ts');
let redis: RedisServer;
let pg: PostgresServer;
let kafka: KafkaMock;
let database: string;
const children: ChildProcess[] = [];

beforeAll(async () => {
  [redis, pg, kafka] = await Promise.all([startRedis(), startPostgres(), startKafkaMock({ topics: [{ name: 'outbid.auction-events', partitions: 4 }] })]);
  database = await pg.createDatabase('instances');
}, 120_000);
afterAll(async () => {
  for (const child of children) if (child.exitCode === null) child.kill('SIGKILL');
  await Promise.allSettled([redis?.stop(), pg?.stop(), kafka?.stop()]);
});

/** A server in its own process on Redis + Postgres + Kafka; resolves with its URL once it is ready. */
function serverProcess(): Promise<{ url: string; child: ChildProcess }> {
  const child = spawn(process.execPath, ['--import', 'tsx', '--conditions=@outbid/source', MAIN], {
    env: {
      ...process.env,
      REDIS_URL: redis.url,
      DATABASE_URL: database,
      KAFKA_BROKERS: kafka.brokers.join(','),
      PORT: '0',
      HOST: '127.0.0.1',
      OUTBID_JWT_SECRET: SECRET,
      OUTBID_FLUSH_MS: '0',
      OUTBID_BID_RATE_PER_SECOND: '1000',
      OUTBID_BID_BURST: '1000',
    },
    cwd: join(import.meta.dirname, '../../..'),
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  children.push(child);
  return new Promise((resolveUrl, reject) => {
    let out = '';
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      const line = out.split('\n').find((l) => l.includes('Outbid server listening'));
      if (line) {
        out = '';
        const url = (JSON.parse(line) as { url: string }).url;
        // It listens before its bus subscriptions joined; /readyz says 200 once they have.
        void (async () => {
          while ((await fetch(`${url}/readyz`).catch(() => null))?.status !== 200) await new Promise((r) => setTimeout(r, 50));
          resolveUrl({ url, child });
        })();
      }
    });
    child.once('exit', (code) => reject(new Error(`server exited (${code}): ${out.slice(-500)}`)));
  });
}

const token = (id: string, roles: Array<'creator' | 'bidder' | 'viewer'>) => issueDevToken(SECRET, id, roles);

describe('two server instances on Redis + Postgres + Kafka', () => {
  it('a bid through A reaches a viewer on B in order; an instance killed mid-stream loses no event', async () => {
    const [a, b] = await Promise.all([serverProcess(), serverProcess()]);
    const audit: AuctionEvent[] = [];
    const bus: KafkaBus = await createKafkaBus({ brokers: kafka.brokers });
    await bus.subscribe((e) => void audit.push(e), { group: 'audit' });
    try {
      const seller = createOutbidClient({ baseUrl: a.url, getToken: () => token('seller', ['creator']) });
      const bidders = ['ann', 'ben'].map((name) => ({
        viaA: createOutbidClient({ baseUrl: a.url, getToken: () => token(name, ['bidder']) }),
        viaB: createOutbidClient({ baseUrl: b.url, getToken: () => token(name, ['bidder']) }),
      }));
      const auction = await seller.createAuction({ postId: 'two', startAt: new Date().toISOString(), endAt: new Date(Date.now() + 300_000).toISOString(), startPrice: 100, minIncrement: 10 });

      // A viewer on B.
      const viewer = createOutbidClient({ baseUrl: b.url, getToken: () => token('viewer', ['viewer']) });
      const seen: WatchSnapshot[] = [];
      const stop = viewer.watchAuction(auction.auctionId, (s) => seen.push(s), { baseDelayMs: 50, maxDelayMs: 500 });
      await eventually(() => expect(seen.at(-1)?.auction?.version).toBe(1), 10_000);

      // Bids through A reach B's viewer, in order.
      let amount = 100;
      for (let i = 0; i < 10; i++) {
        const result = await bidders[i % 2]!.viaA.placeBid(auction.auctionId, amount);
        expect(result.status).toBe('accepted');
        amount = result.minNextBid;
      }
      await eventually(() => expect(seen.at(-1)?.auction?.version).toBe(11), 15_000);

      // A viewer of B that comes back with an old Last-Event-ID gets a snapshot of the latest state.
      const res = await fetch(`${b.url}/auctions/${auction.auctionId}/stream`, { headers: { authorization: `Bearer ${await token('v2', ['viewer'])}`, 'last-event-id': '3' } });
      const reader = res.body!.getReader();
      let text = '';
      while (!/event: \w+\ndata: .*\n\n/.test(text)) text += new TextDecoder().decode((await reader.read()).value);
      expect(text).toMatch(/id: 11\nevent: snapshot\n/);
      await reader.cancel();

      // Kill A (its relay included) in the middle of a run of bids; carry on through B.
      const killAfter = 5;
      for (let i = 0; i < 14; i++) {
        if (i === killAfter) a.child.kill('SIGKILL');
        const via = i < killAfter ? bidders[i % 2]!.viaA : bidders[i % 2]!.viaB;
        const result = await via.placeBid(auction.auctionId, amount);
        expect(result.status).toBe('accepted');
        amount = result.minNextBid;
      }
      const finalVersion = 11 + 14;
      await eventually(() => expect(seen.at(-1)?.auction?.version).toBe(finalVersion), 20_000);
      // Every accepted version reached the bus (at least once), and the viewer never went backwards.
      await eventually(() => expect(new Set(audit.filter((e) => e.auctionId === auction.auctionId).map((e) => e.version)).size).toBe(finalVersion), 30_000);
      const versions = seen.map((s) => s.auction?.version ?? 0);
      for (let i = 1; i < versions.length; i++) expect(versions[i]!).toBeGreaterThanOrEqual(versions[i - 1]!);
      stop();
    } finally {
      await bus.close();
      for (const child of [a.child, b.child]) child.kill('SIGTERM');
    }
  }, 180_000);
});
