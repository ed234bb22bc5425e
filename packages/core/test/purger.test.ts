import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHttpPurger, createOutbid } from '@outbid/core';
import { eventually } from '@outbid/core/testing';

/** A stand-in edge cache on loopback that records the purge requests it receives. */
let server: Server;
let base = '';
const received: Array<{ method: string; url: string; body: string; at: number }> = [];
beforeAll(async () => {
  server = createServer((req: IncomingMessage, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => {
      received.push({ method: req.method ?? '', url: req.url ?? '', body, at: Date.now() });
      res.statusCode = req.url?.includes('fail') ? 500 : 200;
      res.end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

describe('HTTP cache purger', () => {
  it('purges an auction’s URLs within a second of a change, once per window however many changes', async () => {
    received.length = 0;
    const purger = createHttpPurger({ urlsFor: (id) => [`${base}/auctions/${id}`], batchWindowMs: 100 });
    const outbid = createOutbid({ purger, guardIntervalMs: 0 });
    const auction = await outbid.createAuction('seller', {
      postId: 'p', startAt: Date.now(), endAt: Date.now() + 60_000, startPrice: 100, increment: { type: 'fixed', amount: 10 },
    });
    const changedAt = Date.now();
    for (let i = 0; i < 5; i++) await outbid.placeBid({ auctionId: auction.id, bidderId: `b${i}`, amount: 100 + i * 10 });
    await eventually(() => expect(received.some((r) => r.url === `/auctions/${auction.id}`)).toBe(true), 2_000);
    const mine = received.filter((r) => r.url === `/auctions/${auction.id}`);
    expect(mine[0]!.method).toBe('PURGE');
    expect(mine[0]!.at - changedAt).toBeLessThan(1_000);
    expect(mine.length).toBeLessThan(6); // batched, not one purge per event
    await outbid.close();
  });

  it('a batch endpoint gets one POST with every URL of the window', async () => {
    received.length = 0;
    const purger = createHttpPurger({ batchEndpoint: `${base}/purge`, urlsFor: (id) => [`https://edge/auctions/${id}`], batchWindowMs: 50 });
    for (const id of ['a', 'b', 'a', 'c']) purger.purge(id);
    await purger.flush();
    expect(received).toHaveLength(1);
    expect(JSON.parse(received[0]!.body)).toEqual({ files: ['https://edge/auctions/a', 'https://edge/auctions/b', 'https://edge/auctions/c'] });
    await purger.close();
  });

  it('keeps to the rate limit and sends the rest in later windows', async () => {
    received.length = 0;
    const purger = createHttpPurger({ urlsFor: (id) => [`${base}/auctions/${id}`], batchWindowMs: 20, maxRequestsPerSecond: 3 });
    for (let i = 0; i < 5; i++) purger.purge(`r${i}`);
    await purger.flush();
    expect(received).toHaveLength(3);
    await eventually(() => expect(received).toHaveLength(5), 3_000);
    expect(received[4]!.at - received[0]!.at).toBeGreaterThanOrEqual(900);
    await purger.close();
  });

  it('a failing edge is reported, never thrown', async () => {
    const errors: string[] = [];
    const purger = createHttpPurger({ urlsFor: () => [`${base}/fail`, 'http://127.0.0.1:1/refused'], onError: (_e, url) => errors.push(url), batchWindowMs: 10 });
    purger.purge('x');
    await purger.flush();
    expect(errors.sort()).toEqual([`${base}/fail`, 'http://127.0.0.1:1/refused'].sort());
    await purger.close();
  });
});
