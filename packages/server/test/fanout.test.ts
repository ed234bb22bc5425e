import { request } from 'node:http';
import { expect, it } from 'vitest';
import { eventually } from '@outbid/core/testing';
import { harness } from './harness.js';
import { listen } from './socket.js';

/**
 * One SSE viewer read with node:http (no parser needed: we only look for the final frame). Like a browser's
 * EventSource it reconnects when its connection fails before the end (with 2,000 connects at once on a busy
 * machine, a few are refused or reset by the listen backlog; what is under test is that every viewer gets the end).
 */
function connect(base: string, path: string, token: string, localAddress: string) {
  const state = { frames: 0, ended: false, finalVersion: 0, reconnects: 0, lastError: '', close: () => {} };
  let closed = false;
  let current: ReturnType<typeof request> | null = null;
  const open = () => {
    const req = request(`${base}${path}`, { headers: { authorization: `Bearer ${token}` }, agent: false, localAddress });
    current = req;
    const retry = (error?: Error) => {
      if (error) state.lastError = error.message;
      if (closed || state.ended || current !== req) return;
      current = null;
      state.reconnects++;
      setTimeout(open, 100 + Math.random() * 200);
    };
    req.on('response', (res) => {
      let buffer = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        buffer += chunk;
        let cut: number;
        while ((cut = buffer.indexOf('\n\n')) >= 0) {
          const frame = buffer.slice(0, cut);
          buffer = buffer.slice(cut + 2);
          if (!frame.includes('event: ')) continue;
          state.frames++;
          if (frame.includes('event: ended')) {
            state.ended = true;
            state.finalVersion = Number(/^id: (\d+)/m.exec(frame)?.[1]);
          }
        }
      });
      res.on('close', () => retry());
      res.on('error', retry);
    });
    req.on('error', retry);
    req.end();
  };
  open();
  state.close = () => {
    closed = true;
    current?.destroy();
  };
  return state;
}

it('2,000 SSE connections to one auction all receive the final state, through one channel', async () => {
  // A 5 s coalescing window: the 30 bids below cannot all go out as frames of their own unless they took over
  // 150 s, longer than the test may run, so "fewer frames than changes" holds on any machine.
  const h = harness({ realtime: { tickMs: 0, heartbeatMs: 0, flushMs: 5_000 }, bidRateLimit: { ratePerSecond: 1e9, burst: 1e9 } });
  const server = await listen(h.app);
  const viewers: Array<ReturnType<typeof connect>> = [];
  try {
    const { auctionId } = await h.createAuction();
    const token = await h.token('viewer', 'viewer');
    // Spread over several loopback source addresses: more ephemeral ports, as a real fanout test needs.
    for (let i = 0; i < 2_000; i++) viewers.push(connect(server.base, `/auctions/${auctionId}/stream`, token, `127.0.0.${1 + (i % 8)}`));
    const deadline = Date.now() + 60_000;
    while (viewers.some((v) => v.frames === 0) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    const waiting = viewers.filter((v) => v.frames === 0);
    expect(waiting.length, `${waiting.length} viewers without a frame; last errors: ${[...new Set(waiting.map((v) => v.lastError))].join(', ')}`).toBe(0);
    // A connection the client gave up on may take the server a moment to notice.
    await eventually(() => expect(h.app.gateway.stats()).toMatchObject({ openStreams: 2_000, directStreams: 2_000, channels: 1 }), 10_000);

    const bidders = await Promise.all([h.token('b0', 'bidder'), h.token('b1', 'bidder')]);
    for (let i = 0; i < 30; i++) {
      await h.call('POST', `/auctions/${auctionId}/bids`, { token: bidders[i % 2]!, body: { amount: 1_000 + i * 100 }, headers: { 'idempotency-key': `f${i}` } });
    }
    await h.call('POST', `/auctions/${auctionId}/end`, { token: await h.token('seller', 'creator') });
    const final = (await h.outbid.getAuction(auctionId)).version;
    while (viewers.some((v) => !v.ended) && Date.now() < deadline + 30_000) await new Promise((r) => setTimeout(r, 50));
    expect(viewers.filter((v) => v.ended && v.finalVersion === final)).toHaveLength(2_000);
    // Coalescing: far fewer frames than viewers × changes.
    const framesPerViewer = viewers.reduce((n, v) => n + v.frames, 0) / viewers.length;
    expect(framesPerViewer).toBeLessThan(final);
  } finally {
    for (const v of viewers) v.close();
    await h.close();
    await server.close();
  }
}, 180_000);
