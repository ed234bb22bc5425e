import type { AuctionEvent } from '@outbid/core';
import { eventually } from '@outbid/core/testing';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { harness, type Harness } from './harness.js';
import { listen, openStream, type SseReader } from './socket.js';

/**
 * The reserve and every bidder's maximum are secret: a distinctive reserve and distinctive maximums must never
 * show in a response body, an SSE frame, an event or a log line. The only places a maximum may show are its
 * owner's own bid answer and the creator's audit trail (include=all) of the ended auction.
 */
const RESERVE = '987654';
const ALICE_MAX = '876543';
const BOB_MAX = '765432';
/**
 * The amount as a whole token: not inside a longer run of letters or digits. Ids (UUIDv7 hex) and epoch-ms times
 * can hold any six digits by chance — a bare substring check failed a CI run that way in a sibling test.
 */
const amountIn = (n: string) => new RegExp(`(?<![0-9A-Za-z])${n}(?![0-9A-Za-z])`);

const seen: Array<{ where: string; text: string }> = [];
const logs: string[] = [];
const logLine = (level: string) => (obj: object, msg: string) =>
  logs.push(JSON.stringify({ level, msg, ...obj }, (_k, v: unknown) => (v instanceof Error ? { message: v.message, stack: v.stack } : v)));
const logger = { warn: logLine('warn'), error: logLine('error') };

let h: Harness;
let server: { base: string; close(): Promise<void> };
let stream: SseReader;
const events: AuctionEvent[] = [];
beforeAll(async () => {
  h = harness({ logger, bidRateLimit: { ratePerSecond: 1e9, burst: 1e9 } }, { logger });
  h.outbid.subscribe((e) => events.push(e));
  server = await listen(h.app);
});
afterAll(async () => {
  stream?.close();
  await server.close();
  await h.close();
});

/** Calls the API and keeps the body; `own` marks the answers that may carry the caller's own maximum. */
async function call(method: string, path: string, init: Parameters<Harness['call']>[2] = {}, own = false) {
  const res = await h.call(method, path, init);
  const text = await res.text();
  seen.push({ where: `${method} ${path}${own ? ' (own answer)' : ''} → ${res.status}`, text });
  const json = (res.headers.get('content-type') ?? '').includes('json') && text !== '';
  return { status: res.status, body: json ? (JSON.parse(text) as Record<string, unknown>) : null };
}

it('never shows the reserve or a maximum in responses, frames, events or logs', async () => {
  const [seller, alice, bob, carol] = await Promise.all([h.token('seller', 'creator'), h.token('alice', 'bidder'), h.token('bob', 'bidder'), h.token('carol', 'bidder', 'viewer')]);
  const created = await call('POST', '/auctions', {
    token: seller,
    body: { postId: 'p-secret', startAt: new Date(Date.now() - 1_000).toISOString(), endAt: new Date(Date.now() + 600_000).toISOString(), startPrice: 1_000, minIncrement: 100, reservePrice: Number(RESERVE), buyNowPrice: 1_500_000 },
  });
  expect(created.status).toBe(201);
  const id = created.body!.auctionId as string;
  stream = await openStream(`${server.base}/auctions/${id}/stream`, { authorization: `Bearer ${carol}` });
  const bid = (token: string, body: object, key: string, own = false) => call('POST', `/auctions/${id}/bids`, { token, body, headers: { 'idempotency-key': key } }, own);

  // alice leaves a maximum; bob bids plain, then with a maximum, and is outbid by proxy both times; the reserve
  // (above every maximum) is never met. Every reader and every kind of answer is exercised.
  expect((await bid(alice, { maxAmount: Number(ALICE_MAX) }, 'a1', true)).body).toMatchObject({ status: 'accepted', maxAmount: Number(ALICE_MAX), reserveMet: false });
  expect((await bid(alice, { maxAmount: Number(ALICE_MAX) }, 'a1', true)).body).toMatchObject({ status: 'accepted' }); // replay
  expect((await bid(bob, { amount: 2_000 }, 'b1')).body).toMatchObject({ reason: 'OUTBID_BY_PROXY', currentPrice: 2_100 });
  expect((await bid(bob, { maxAmount: Number(BOB_MAX) }, 'b2', true)).body).toMatchObject({ reason: 'OUTBID_BY_PROXY', currentPrice: 765_532, maxAmount: Number(BOB_MAX) });
  expect((await bid(alice, { maxAmount: 876_600 }, 'a2', true)).body).toMatchObject({ status: 'accepted' }); // raise while leading
  expect((await bid(carol, { amount: 10 }, 'c1')).body).toMatchObject({ reason: 'BID_TOO_LOW' });
  expect((await call('POST', `/auctions/${id}/buy-now`, { token: carol, headers: { 'idempotency-key': 'c2' } })).body).toMatchObject({ reason: 'BUY_NOW_UNAVAILABLE' });
  for (const token of [alice, bob, carol, seller]) {
    await call('GET', `/auctions/${id}`, { token });
    await call('GET', `/auctions/${id}/bids`, { token });
    await call('GET', '/auctions?limit=100', { token });
  }
  await call('GET', `/auctions/${id}/bids?include=all`, { token: seller }); // while it runs: no maximums
  const ended = await call('POST', `/auctions/${id}/end`, { token: seller });
  expect(ended.body).toMatchObject({ status: 'ended', currentWinnerId: null, reserveMet: false });
  for (const token of [alice, carol, seller]) {
    await call('GET', `/auctions/${id}`, { token });
    await call('GET', `/auctions/${id}/bids`, { token });
  }
  await eventually(() => expect(stream.frames.some((f) => f.event === 'ended')).toBe(true));
  await call('GET', '/metrics');
  // The creator's audit trail of the ended auction is the one place maximums show (never the reserve).
  const audit = await h.call('GET', `/auctions/${id}/bids?include=all`, { token: seller });
  const auditText = await audit.text();
  expect(auditText).toMatch(amountIn(ALICE_MAX));
  expect(auditText).not.toMatch(amountIn(RESERVE));

  await h.outbid.idle();
  const outbox = events.filter((e) => e.auctionId === id);
  expect(outbox.map((e) => e.type)).toContain('AuctionEnded');
  const places = [
    ...seen,
    ...stream.frames.map((f) => ({ where: `SSE ${f.event} ${f.id}`, text: `${f.id} ${f.data}` })),
    ...outbox.map((e) => ({ where: `event ${e.type} v${e.version}`, text: JSON.stringify(e) })),
    ...logs.map((text) => ({ where: 'log', text })),
  ];
  expect(stream.frames.length).toBeGreaterThan(3);
  for (const { where, text } of places) {
    expect(text, where).not.toMatch(amountIn(RESERVE));
    if (where.endsWith('(own answer)') || where.includes('(own answer) →')) continue;
    expect(text, where).not.toMatch(amountIn(ALICE_MAX));
    expect(text, where).not.toMatch(amountIn(BOB_MAX));
    expect(text, where).not.toMatch(amountIn('876600'));
  }
  // Nothing in a response is named after the secrets either.
  for (const { where, text } of seen) expect(text, where).not.toMatch(/reservePrice|leaderMax/);
});
