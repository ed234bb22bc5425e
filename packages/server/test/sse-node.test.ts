import { Writable } from 'node:stream';
import { Hono } from 'hono';
import { afterEach, describe, expect, it } from 'vitest';
import { eventually } from '@outbid/core/testing';
import { harness, type Harness } from './harness.js';
import { listen, openStream } from './socket.js';
import { createRealtimeGateway, type OutbidApp, type RealtimeOptions } from '../src/index.js';
import { pendingHandoffs, SSE_HANDOFF_HEADER, sseHandoff, takeHandoff } from '../src/realtime/handoff.js';

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const fn of cleanups.splice(0).reverse()) await fn();
});

const quiet: RealtimeOptions = { tickMs: 0, heartbeatMs: 0, flushMs: 0 };

async function setup(options: Parameters<typeof harness>[0] = {}) {
  const h: Harness = harness({ bidRateLimit: { ratePerSecond: 1e9, burst: 1e9 }, ...options });
  cleanups.push(() => h.close());
  const { auctionId } = await h.createAuction({}, 'seller');
  const bidders = await Promise.all([h.token('b0', 'bidder'), h.token('b1', 'bidder')]);
  let n = 0;
  const bid = async (amount: number) => {
    const i = n++;
    const res = await h.call('POST', `/auctions/${auctionId}/bids`, { token: bidders[i % 2]!, body: { amount }, headers: { 'idempotency-key': `k${i}` } });
    expect(res.status).toBe(201);
  };
  return { h, auctionId, bid };
}

async function serveApp(app: { fetch: unknown }) {
  const server = await listen(app as unknown as OutbidApp); // listen() only needs its fetch
  cleanups.push(() => server.close());
  return server;
}

/**
 * A stand-in for Node's ServerResponse: records what was written; `hold` keeps writes buffered (a reader that stopped
 * reading) until `release`.
 */
class RecordingResponse extends Writable {
  text = '';
  private held: Array<() => void> = [];
  constructor(
    private hold = false,
    highWaterMark = 16 * 1024,
  ) {
    super({ highWaterMark });
  }
  override _write(chunk: Buffer, _encoding: string, done: () => void) {
    this.text += chunk.toString();
    if (this.hold) this.held.push(done);
    else done();
  }
  release() {
    this.hold = false;
    while (this.held.length > 0) this.held.shift()!();
  }
  frames() {
    return this.text
      .split('\n\n')
      .filter((f) => f.includes('event: '))
      .map((f) => ({ id: Number(/^id: (\d+)/m.exec(f)?.[1]), event: /^event: (\w+)/m.exec(f)?.[1] }));
  }
}

/** A viewer on the Node path without a socket: the gateway's Response, then the hand-off the middleware would do. */
async function directViewer(h: Harness, auctionId: string, out: RecordingResponse) {
  const res = await h.app.gateway.stream({ auctionId, lastEventId: null, outgoing: out });
  expect(res.body).toBeNull();
  takeHandoff(res.headers.get(SSE_HANDOFF_HEADER)!)!.start();
  return out;
}

const rising = (ids: number[]) => ids.every((id, i) => i === 0 || id > ids[i - 1]!);

describe('SSE on the Node path (@hono/node-server)', () => {
  it('streams straight to the ServerResponse with the security and CORS headers every answer has', async () => {
    const { h, auctionId } = await setup({ realtime: quiet, corsOrigins: ['https://shop.example'] });
    const server = await serveApp(h.app);
    const controller = new AbortController();
    cleanups.push(() => controller.abort());
    const res = await fetch(`${server.base}/auctions/${auctionId}/stream`, {
      headers: { authorization: `Bearer ${await h.token('v', 'viewer')}`, origin: 'https://shop.example' },
      signal: controller.signal,
    });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('text/event-stream; charset=utf-8');
    expect(res.headers.get('access-control-allow-origin')).toBe('https://shop.example');
    expect(res.headers.get('x-content-type-options')).toBe('nosniff');
    expect(res.headers.get('content-security-policy')).toContain("frame-ancestors 'none'");
    expect(res.headers.get(SSE_HANDOFF_HEADER)).toBeNull();
    expect(res.headers.get('x-hono-already-sent')).toBeNull();
    const reader = res.body!.getReader();
    let text = '';
    while (!text.includes('event: snapshot')) text += new TextDecoder().decode((await reader.read()).value);
    expect(text).toMatch(/^retry: \d+\n\nid: 1\nevent: snapshot\n/);
    // No web stream for this viewer: it is counted as written straight to Node's response.
    expect(h.app.gateway.stats()).toMatchObject({ openStreams: 1, directStreams: 1 });
    expect(pendingHandoffs()).toBe(0);
    await reader.cancel();
    await eventually(() => expect(h.app.gateway.stats()).toMatchObject({ openStreams: 0, directStreams: 0, channels: 0 }));
  });

  it('a client that disconnects releases its viewer and its place under the per-user stream limit', async () => {
    const { h, auctionId } = await setup({ realtime: quiet, maxStreamsPerUser: 1 });
    const server = await serveApp(h.app);
    const url = `${server.base}/auctions/${auctionId}/stream`;
    const headers = { authorization: `Bearer ${await h.token('one-tab', 'viewer')}` };
    const first = await openStream(url, headers);
    cleanups.push(() => first.close());
    await eventually(() => expect(first.frames.length).toBe(1));
    expect((await fetch(url, { headers })).status).toBe(429);
    first.close();
    await eventually(() => expect(h.app.gateway.stats()).toMatchObject({ openStreams: 0, directStreams: 0, channels: 0 }));
    const again = await openStream(url, headers);
    cleanups.push(() => again.close());
    expect(again.status).toBe(200);
    await eventually(() => expect(again.frames.map((f) => f.event)).toEqual(['snapshot']));
  });

  it('a HEAD gets the head alone, and its viewer and stream slot go at once', async () => {
    const { h, auctionId } = await setup({ realtime: quiet, maxStreamsPerUser: 1 });
    const server = await serveApp(h.app);
    const headers = { authorization: `Bearer ${await h.token('peek', 'viewer')}` };
    const head = await fetch(`${server.base}/auctions/${auctionId}/stream`, { method: 'HEAD', headers });
    expect(head.status).toBe(200);
    expect(head.headers.get(SSE_HANDOFF_HEADER)).toBeNull();
    expect(h.app.gateway.stats()).toMatchObject({ openStreams: 0, channels: 0 });
    expect(pendingHandoffs()).toBe(0);
    const get = await openStream(`${server.base}/auctions/${auctionId}/stream`, headers);
    cleanups.push(() => get.close());
    expect(get.status).toBe(200);
  });

  it('a request that fails after the stream route leaves no viewer and no waiting hand-off behind', async () => {
    const { h, auctionId } = await setup();
    const gateway = createRealtimeGateway(h.outbid, quiet);
    cleanups.push(() => gateway.close());
    let released = 0;
    const app = new Hono<{ Bindings: { outgoing: Writable & { writeHead: unknown } } }>();
    app.onError((_error, c) => c.text('failed', 500));
    app.use(sseHandoff());
    app.use(async (_c, next) => {
      await next();
      throw new Error('a middleware failing after the route');
    });
    app.get('/stream', (c) => gateway.stream({ auctionId, lastEventId: null, outgoing: c.env.outgoing as never, onClose: () => released++ }));
    const server = await serveApp(app);
    const res = await fetch(`${server.base}/stream`);
    expect(res.status).toBe(500);
    expect(res.headers.get(SSE_HANDOFF_HEADER)).toBeNull();
    expect(await res.text()).not.toContain('event:');
    await eventually(() => {
      expect(gateway.stats()).toMatchObject({ openStreams: 0, channels: 0 });
      expect(released).toBe(1);
      expect(pendingHandoffs()).toBe(0);
    });
  });

  it('a reader that stops reading keeps only the latest frame, and gets it when it drains', async () => {
    const { h, auctionId, bid } = await setup({ realtime: { ...quiet, highWaterMarkBytes: 1_024, slowConsumerMs: 60_000 } });
    const out = await directViewer(h, auctionId, new RecordingResponse(true, 1_024));
    for (let i = 0; i < 12; i++) await bid(1_000 + i * 100);
    const final = (await h.outbid.getAuction(auctionId)).version;
    out.release();
    await eventually(() => expect(out.frames().at(-1)?.id).toBe(final));
    const ids = out.frames().map((f) => f.id);
    expect(rising(ids)).toBe(true);
    expect(ids.length).toBeLessThan(final); // the frames in between were replaced while it was blocked
    await bid(5_000);
    await eventually(() => expect(out.frames().at(-1)?.id).toBe(final + 1)); // and it keeps streaming
  });

  it('a reader that stays blocked is shed: its response is destroyed and the viewer released', async () => {
    const { h, auctionId, bid } = await setup({ realtime: { tickMs: 50, heartbeatMs: 0, flushMs: 0, highWaterMarkBytes: 1_024, slowConsumerMs: 200 } });
    const out = await directViewer(h, auctionId, new RecordingResponse(true, 1_024));
    cleanups.push(() => out.release());
    for (let i = 0; i < 12; i++) await bid(1_000 + i * 100);
    await eventually(() => expect(h.app.gateway.stats()).toMatchObject({ shedConnections: 1, openStreams: 0, directStreams: 0 }), 5_000);
    expect(out.destroyed).toBe(true);
  });
});

describe('sliced fan-out', () => {
  it('with more viewers than a slice, every viewer ends on the final version and never sees one go down', async () => {
    const { h, auctionId, bid } = await setup({ realtime: { ...quiet, fanOutSlice: 4 } });
    const direct = await Promise.all(Array.from({ length: 30 }, () => directViewer(h, auctionId, new RecordingResponse())));
    // A few on the web-stream path too, in the same channel.
    const webTexts = await Promise.all(
      Array.from({ length: 5 }, async () => {
        const res = await h.app.gateway.stream({ auctionId, lastEventId: null });
        const chunks: string[] = [];
        const reader = res.body!.getReader();
        cleanups.push(() => reader.cancel());
        void (async () => {
          for (;;) {
            const { value, done } = await reader.read();
            if (done) return;
            chunks.push(new TextDecoder().decode(value));
          }
        })().catch(() => undefined);
        return chunks;
      }),
    );
    expect(h.app.gateway.stats()).toMatchObject({ openStreams: 35, directStreams: 30, channels: 1 });
    // Bids one after the other, each frame's pass taking 9 slices over as many event-loop turns.
    for (let i = 0; i < 20; i++) await bid(1_000 + i * 100);
    await h.outbid.endAuction(auctionId, 'seller');
    const final = (await h.outbid.getAuction(auctionId)).version;
    const webIds = (chunks: string[]) => [...chunks.join('').matchAll(/^id: (\d+)$/gm)].map((m) => Number(m[1]));
    await eventually(() => {
      for (const out of direct) expect(out.frames().at(-1)).toEqual({ id: final, event: 'ended' });
      for (const chunks of webTexts) expect(webIds(chunks).at(-1)).toBe(final);
    });
    for (const out of direct) expect(rising(out.frames().map((f) => f.id))).toBe(true);
    for (const chunks of webTexts) expect(rising(webIds(chunks))).toBe(true);
  });

  it('ticks, heartbeats and shedding also go through a channel bigger than a slice', async () => {
    const { h, auctionId, bid } = await setup({ realtime: { tickMs: 50, heartbeatMs: 100, flushMs: 0, fanOutSlice: 4, highWaterMarkBytes: 1_024, slowConsumerMs: 200 } });
    const viewers = await Promise.all(Array.from({ length: 13 }, () => directViewer(h, auctionId, new RecordingResponse())));
    const stalled = await directViewer(h, auctionId, new RecordingResponse(true, 1_024));
    cleanups.push(() => stalled.release());
    for (let i = 0; i < 12; i++) await bid(1_000 + i * 100);
    await eventually(() => {
      for (const out of viewers) {
        expect(out.frames().some((f) => f.event === 'tick')).toBe(true);
        expect(out.text).toContain(': heartbeat\n\n');
      }
      expect(h.app.gateway.stats()).toMatchObject({ shedConnections: 1, openStreams: 13 });
    }, 5_000);
    expect(stalled.destroyed).toBe(true);
  });
});

describe('viewers joining at once', () => {
  it('share one snapshot read, and each still starts from the latest state', async () => {
    const { h, auctionId, bid } = await setup({ realtime: quiet });
    await bid(1_000);
    let reads = 0;
    const read = h.outbid.getAuction.bind(h.outbid);
    h.outbid.getAuction = (id) => {
      reads++;
      return read(id);
    };
    const viewers = await Promise.all(Array.from({ length: 20 }, () => directViewer(h, auctionId, new RecordingResponse())));
    expect(reads).toBe(1);
    for (const out of viewers) expect(out.frames()).toEqual([{ id: 2, event: 'snapshot' }]);
    // That read is over: a viewer joining later reads again, and sees a bid made meanwhile.
    await bid(2_000);
    const late = await directViewer(h, auctionId, new RecordingResponse());
    expect(reads).toBe(2);
    expect(late.frames()).toEqual([{ id: 3, event: 'snapshot' }]);
    await eventually(() => {
      for (const out of viewers) expect(out.frames().at(-1)).toEqual({ id: 3, event: 'bid' });
    });
  });
});
