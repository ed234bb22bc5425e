import { spawn } from 'node:child_process';
import { resolve } from 'node:path';
import { startPostgres, startRedis, type PostgresServer, type RedisServer } from '@outbid/test-services';
import pgClient from 'pg';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { AuctionEvent } from '@outbid/core';
import { issueDevToken, startServer } from '@outbid/server';

let redis: RedisServer;
let pg: PostgresServer;
beforeAll(async () => {
  [redis, pg] = await Promise.all([startRedis(), startPostgres()]);
}, 60_000);
afterAll(async () => {
  await Promise.allSettled([redis?.stop(), pg?.stop()]);
});

it('with REDIS_URL and DATABASE_URL the server decides in Redis (Postgres failover) and records in Postgres', async () => {
  const secret = 'adapters-test-secret-of-32-characters!!';
  const server = await startServer({
    REDIS_URL: redis.url,
    DATABASE_URL: await pg.createDatabase('server_adapters'),
    PORT: '0',
    HOST: '127.0.0.1',
    OUTBID_JWT_SECRET: secret,
    OUTBID_LOG_LEVEL: 'silent',
    OUTBID_BID_BURST: '3',
    OUTBID_BID_RATE_PER_SECOND: '0.1',
  });
  try {
    const ready = await (await fetch(`${server.url}/readyz`)).json();
    expect(ready).toMatchObject({ status: 'ready', engine: 'failover(redis→postgres)', ledger: 'postgres' });
    const seller = await issueDevToken(secret, 'seller', ['creator']);
    const alice = await issueDevToken(secret, 'alice', ['bidder']);
    const created = (await (
      await fetch(`${server.url}/auctions`, {
        method: 'POST',
        headers: { authorization: `Bearer ${seller}`, 'content-type': 'application/json' },
        body: JSON.stringify({ postId: 'p', startAt: new Date().toISOString(), endAt: new Date(Date.now() + 60_000).toISOString(), startPrice: 100, minIncrement: 10 }),
      })
    ).json()) as { auctionId: string };
    const bid = await fetch(`${server.url}/auctions/${created.auctionId}/bids`, {
      method: 'POST',
      headers: { authorization: `Bearer ${alice}`, 'content-type': 'application/json', 'idempotency-key': 'one' },
      body: JSON.stringify({ amount: 100 }),
    });
    expect(bid.status).toBe(201);
    expect(await server.outbid.scheduler.name).toBe('redis');
    // The decision came from Redis (its hash holds the auction) and the ledger row is in Postgres.
    expect(await server.outbid.engine.getState(created.auctionId)).toMatchObject({ version: 2, currentWinnerId: 'alice' });
    expect(await server.outbid.ledger.getAuction(created.auctionId)).toMatchObject({ version: 2, currentWinnerId: 'alice' });
    // The bid rate limit lives in Redis: 3 per 30 s window for alice, whichever instance she reaches.
    const again = (key: string) =>
      fetch(`${server.url}/auctions/${created.auctionId}/bids`, {
        method: 'POST',
        headers: { authorization: `Bearer ${alice}`, 'content-type': 'application/json', 'idempotency-key': key },
        body: JSON.stringify({ amount: 100 }),
      });
    expect((await again('two')).status).toBe(409); // already leading, but counted
    expect((await again('three')).status).toBe(409);
    const limited = await again('four');
    expect(limited.status).toBe(429);
    expect(Number(limited.headers.get('retry-after'))).toBeGreaterThan(0);
  } finally {
    await server.close();
  }
}, 60_000);

it('without KAFKA_BROKERS the server writes no outbox and its listeners get each change at commit; OUTBID_OUTBOX=on writes and relays it', async () => {
  const secret = 'outbox-test-secret-of-32-characters!!!';
  for (const outbox of ['auto', 'on'] as const) {
    const database = await pg.createDatabase(`server_outbox_${outbox}`);
    const server = await startServer({
      REDIS_URL: redis.url,
      DATABASE_URL: database,
      PORT: '0',
      HOST: '127.0.0.1',
      OUTBID_JWT_SECRET: secret,
      OUTBID_LOG_LEVEL: 'silent',
      ...(outbox === 'on' ? { OUTBID_OUTBOX: 'on' } : {}),
    });
    const client = new pgClient.Client({ connectionString: database });
    await client.connect();
    try {
      const seller = await issueDevToken(secret, 'seller', ['creator']);
      const post = async (path: string, token: string, body: object, key?: string) =>
        fetch(`${server.url}${path}`, {
          method: 'POST',
          headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json', ...(key ? { 'idempotency-key': key } : {}) },
          body: JSON.stringify(body),
        });
      const created = (await (
        await post('/auctions', seller, { postId: 'p', startAt: new Date().toISOString(), endAt: new Date(Date.now() + 60_000).toISOString(), startPrice: 100, minIncrement: 10 })
      ).json()) as { auctionId: string };
      const seen: AuctionEvent[] = [];
      server.outbid.subscribe((e) => seen.push(e), { auctionId: created.auctionId });
      for (const [bidder, amount] of [['alice', 100], ['bob', 110]] as const) {
        const answer = await post(`/auctions/${created.auctionId}/bids`, await issueDevToken(secret, bidder, ['bidder']), { amount }, `${bidder}-1`);
        expect(answer.status, outbox).toBe(201);
        const { version } = (await answer.json()) as { version: number };
        expect(seen.at(-1)?.version, outbox).toBe(version); // delivered here at its commit, either way
      }
      await server.outbid.idle();
      const { rows } = await client.query<{ type: string; published: boolean }>(
        'SELECT type, published_at IS NOT NULL AS published FROM outbid_outbox WHERE aggregateid = $1 ORDER BY position',
        [created.auctionId],
      );
      if (outbox === 'auto') expect(rows).toEqual([]);
      else expect(rows).toEqual(['AuctionCreated', 'BidAccepted', 'BidAccepted'].map((type) => ({ type, published: true })));
      // The ledger has every change either way.
      expect(await server.outbid.ledger.getAuction(created.auctionId)).toMatchObject({ version: 3, currentWinnerId: 'bob', currentPrice: 110 });
    } finally {
      await client.end();
      await server.close();
    }
  }
}, 60_000);

it('a server starting on Redis logs no error: its scheduler waits for its connection before polling', async () => {
  // Without the wait, the first poll of every shard failed ("Stream isn't writeable"), 16 error lines per start.
  const child = spawn(process.execPath, ['--import', 'tsx', '--conditions=@outbid/source', resolve(import.meta.dirname, '../../../packages/server/src/main.ts')], {
    env: { ...process.env, REDIS_URL: redis.url, DATABASE_URL: await pg.createDatabase('server_start_log'), PORT: '0', HOST: '127.0.0.1', OUTBID_JWT_SECRET: 'start-log-secret-of-32-characters!!!', OUTBID_LOG_LEVEL: 'info' },
    cwd: resolve(import.meta.dirname, '../../..'),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (out += d.toString()));
  try {
    const listening = Date.now() + 30_000;
    while (!out.includes('Outbid server listening')) {
      if (child.exitCode !== null || Date.now() > listening) throw new Error(`server did not start: ${out.slice(-1_000)}`);
      await new Promise((r) => setTimeout(r, 50));
    }
    // The scheduler polls every 100 ms: a second is ten polls of every shard.
    await new Promise((r) => setTimeout(r, 1_000));
    const errors = out.split('\n').filter((line) => /"level":(50|60)/.test(line));
    expect(errors).toEqual([]);
  } finally {
    // A server that already exited (it failed to start) is not waited for: its exit event has passed.
    if (child.exitCode === null && child.signalCode === null) {
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      await exited;
    }
  }
}, 60_000);
