import { request as httpRequest } from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import { eventually } from '@outbid/core/testing';
import { harness, type Harness } from './harness.js';
import { listen, openStream, type SseReader } from './socket.js';
import type { RealtimeOptions } from '../src/index.js';

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const fn of cleanups.splice(0).reverse()) await fn();
});

async function setup(realtime: RealtimeOptions = { tickMs: 0, heartbeatMs: 0, flushMs: 0 }) {
  const h: Harness = harness({ realtime, bidRateLimit: { ratePerSecond: 1e9, burst: 1e9 } });
  const server = await listen(h.app);
  cleanups.push(() => h.close(), () => server.close());
  const viewer = await h.token('viewer', 'viewer');
  const { auctionId } = await h.createAuction({}, 'seller');
  const stream = async (headers: Record<string, string> = {}, query = '') => {
    const r = await openStream(`${server.base}/auctions/${auctionId}/stream${query}`, { authorization: `Bearer ${viewer}`, ...headers });
    cleanups.push(() => r.close());
    return r;
  };
  const bidders = await Promise.all([h.token('b0', 'bidder'), h.token('b1', 'bidder')]);
  let n = 0;
  const bid = async (amount: number) => {
    const i = n++;
    const res = await h.call('POST', `/auctions/${auctionId}/bids`, { token: bidders[i % 2]!, body: { amount }, headers: { 'idempotency-key': `k${i}` } });
    return res.status;
  };
  return { h, server, auctionId, stream, bid };
}

const versions = (r: SseReader) => r.frames.filter((f) => f.event !== 'tick').map((f) => Number(f.id));
const data = (r: SseReader, i: number) => JSON.parse(r.frames[i]!.data) as Record<string, unknown>;

describe('GET /auctions/:id/stream over a real socket', () => {
  it('answers 200 text/event-stream with the SSE headers, a retry hint and a snapshot first', async () => {
    const { server, auctionId, h } = await setup();
    const res = await fetch(`${server.base}/auctions/${auctionId}/stream`, { headers: { authorization: `Bearer ${await h.token('v', 'viewer')}` } });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('text/event-stream; charset=utf-8');
    expect(res.headers.get('cache-control')).toContain('no-cache');
    expect(res.headers.get('x-accel-buffering')).toBe('no');
    expect(res.headers.get('content-encoding')).toBeNull();
    const reader = res.body!.getReader();
    let text = '';
    while (!text.includes('\n\n', text.indexOf('event:'))) text += new TextDecoder().decode((await reader.read()).value);
    expect(text).toMatch(/^retry: \d+\n\nid: 1\nevent: snapshot\ndata: \{/);
    const payload = JSON.parse(text.split('data: ')[1]!.split('\n')[0]!);
    expect(payload).toEqual({
      type: 'snapshot', auctionId, status: 'active', currentPrice: 1_000, winnerId: null, version: 1,
      endAt: expect.stringMatching(/Z$/), serverTime: expect.stringMatching(/Z$/), remainingMs: expect.any(Number),
    });
    await reader.cancel();
  });

  it('delivers each accepted bid in order, one frame at a time as it happens', async () => {
    const { stream, bid } = await setup();
    const r = await stream();
    await eventually(() => expect(r.frames.length).toBe(1));
    for (let i = 0; i < 5; i++) {
      expect(await bid(1_000 + i * 100)).toBe(201);
      await eventually(() => expect(r.frames.length).toBe(2 + i)); // each frame arrives before the next bid
    }
    expect(versions(r)).toEqual([1, 2, 3, 4, 5, 6]);
    expect(r.frames.slice(1).map((f) => f.event)).toEqual(['bid', 'bid', 'bid', 'bid', 'bid']);
    expect(data(r, 5)).toMatchObject({ currentPrice: 1_400, winnerId: 'b0', version: 6 });
  });

  it('Last-Event-ID equal to the current version: nothing until the next change; older or garbage: a snapshot', async () => {
    const { stream, bid } = await setup();
    await bid(1_000);
    const upToDate = await stream({ 'last-event-id': '2' });
    const older = await stream({ 'last-event-id': '1' });
    const garbage = await stream({ 'last-event-id': 'banana' });
    const viaQuery = await stream({}, '?lastEventId=2');
    await eventually(() => expect(older.frames.length + garbage.frames.length).toBe(2));
    expect(older.frames[0]).toMatchObject({ event: 'snapshot', id: '2' });
    expect(garbage.frames[0]).toMatchObject({ event: 'snapshot', id: '2' });
    await new Promise((r) => setTimeout(r, 100));
    expect(upToDate.frames).toEqual([]);
    expect(viaQuery.frames).toEqual([]);
    await bid(1_100);
    await eventually(() => expect(upToDate.frames.map((f) => f.id)).toEqual(['3']));
    await eventually(() => expect(viaQuery.frames.map((f) => f.id)).toEqual(['3']));
  });

  it('under a burst of bids versions only rise, and coalescing sends fewer frames than changes', async () => {
    // A 1 s window and 200 bids placed one after another, each accepted: at most one frame per second can leave,
    // so fewer frames than changes is certain for any burst shorter than 199 s (the test's timeout is 30 s).
    const { stream, bid } = await setup({ tickMs: 0, heartbeatMs: 0, flushMs: 1_000 });
    const r = await stream();
    await eventually(() => expect(r.frames.length).toBe(1));
    const statuses: number[] = [];
    for (let i = 0; i < 200; i++) statuses.push(await bid(1_000 + i * 100));
    const accepted = statuses.filter((s) => s === 201).length;
    expect(accepted).toBe(200);
    const finalVersion = 1 + accepted;
    await eventually(() => expect(versions(r).at(-1)).toBe(finalVersion));
    const seen = versions(r);
    for (let i = 1; i < seen.length; i++) expect(seen[i]!).toBeGreaterThan(seen[i - 1]!);
    expect(seen.length).toBeLessThan(accepted + 1);
  });

  it('the end is always delivered, and a finished stream answers 204 to a client that has it', async () => {
    const { stream, bid, h, auctionId } = await setup({ tickMs: 0, heartbeatMs: 0, flushMs: 500 });
    const r = await stream();
    await bid(1_000);
    await h.call('POST', `/auctions/${auctionId}/end`, { token: await h.token('seller', 'creator') });
    await eventually(() => expect(r.frames.at(-1)?.event).toBe('ended'), 2_000);
    expect(data(r, r.frames.length - 1)).toMatchObject({ status: 'ended', winnerId: 'b0', remainingMs: 0, version: 3 });
    const finished = await stream({ 'last-event-id': '3' });
    expect(finished.status).toBe(204);
    const behind = await stream({ 'last-event-id': '2' });
    await eventually(() => expect(behind.frames[0]).toMatchObject({ event: 'snapshot', id: '3' }));
  });

  it('sends comment heartbeats and tick frames with server time and remaining time', async () => {
    const { stream } = await setup({ tickMs: 100, heartbeatMs: 150, flushMs: 0 });
    const r = await stream();
    await eventually(() => {
      expect(r.comments).toContain('heartbeat');
      expect(r.frames.filter((f) => f.event === 'tick').length).toBeGreaterThanOrEqual(2);
    }, 3_000);
    const tick = JSON.parse(r.frames.find((f) => f.event === 'tick')!.data) as { remainingMs: number; serverTime: string };
    expect(tick.remainingMs).toBeGreaterThan(500_000);
    expect(Math.abs(Date.parse(tick.serverTime) - Date.now())).toBeLessThan(5_000);
  });

  it('one channel per auction however many viewers; the channel goes when the last viewer leaves', async () => {
    const { stream, h } = await setup();
    const viewers = await Promise.all(Array.from({ length: 20 }, () => stream()));
    await eventually(() => expect(viewers.every((v) => v.frames.length === 1)).toBe(true));
    expect(h.app.gateway.stats()).toMatchObject({ openStreams: 20, directStreams: 20, channels: 1 }); // written straight to Node's response
    for (const v of viewers) v.close();
    await eventually(() => expect(h.app.gateway.stats()).toMatchObject({ openStreams: 0, directStreams: 0, channels: 0 }));
  });

  it('a reader that stops reading is shed without holding up the others', async () => {
    // At the gateway's own stream: a body nobody reads fills its queue (node-server stops reading a stream while
    // the socket is not draining, so a stalled TCP client looks exactly like this).
    const { h, auctionId, stream, bid } = await setup({ tickMs: 50, heartbeatMs: 0, flushMs: 0, slowConsumerMs: 300, highWaterMarkBytes: 1_024 });
    const abort = new AbortController();
    cleanups.push(() => abort.abort());
    const stalled = await h.app.gateway.stream({ auctionId, lastEventId: null, signal: abort.signal });
    const fast = await stream();
    expect(h.app.gateway.stats().directStreams).toBe(1); // the socket viewer is on the Node path, the stalled one on the web stream
    for (let i = 0; i < 40; i++) await bid(1_000 + i * 100);
    await eventually(() => expect(h.app.gateway.stats().shedConnections).toBe(1), 5_000);
    const target = (await h.outbid.getAuction(auctionId)).version;
    await eventually(() => expect(versions(fast).at(-1)).toBe(target));
    // The shed stream ends with an error: its client reconnects with Last-Event-ID and gets a snapshot.
    const reader = stalled.body!.getReader();
    const drainUntilEnd = async () => {
      for (;;) if ((await reader.read()).done) return 'closed normally';
    };
    await expect(drainUntilEnd()).rejects.toThrow('slow consumer');
  }, 30_000);
});

describe('request bodies', () => {
  it('an oversized chunked body is refused with 413 over a real socket', async () => {
    const { server, h, auctionId } = await setup();
    const token = await h.token('b', 'bidder');
    const status = await new Promise<number>((resolve, reject) => {
      const req = httpRequest(`${server.base}/auctions/${auctionId}/bids`, {
        method: 'POST',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json', 'idempotency-key': 'chunky', 'transfer-encoding': 'chunked' },
      });
      req.on('response', (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      });
      req.on('error', reject);
      req.write('{"amount": 1000, "pad": "');
      for (let i = 0; i < 20; i++) req.write('y'.repeat(1_024));
      req.end('"}');
    });
    expect(status).toBe(413);
    expect((await h.outbid.getAuction(auctionId)).version).toBe(1);
  });
});
