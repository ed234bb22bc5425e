import { MIGRATIONS, createPgliteLedger } from '@outbid/postgres';
import { eventually } from '@outbid/core/testing';
import type { AuctionEvent, Ledger } from '@outbid/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { harness, type Harness } from './harness.js';
import { listen, openStream } from './socket.js';

/**
 * Proxy (maximum) bids, the hidden reserve and Buy It Now over HTTP, on the embedded default's memory engine.
 * The memory ledger always; the PGlite ledger (the embedded default's) once its schema has the columns these
 * need (migration 3), so the same spec then runs against it too.
 */
const LEDGERS: Array<[string, (() => Promise<Ledger>) | null]> = [
  ['memory ledger', null],
  ['PGlite ledger', () => createPgliteLedger()],
];
const pgliteReady = MIGRATIONS.some((m) => m.version >= 3);

type Json = Record<string, unknown>;

describe.each(LEDGERS)('proxy bids, reserve and Buy It Now over HTTP (%s)', (name, ledger) => {
  let h: Harness;
  let alice: string;
  let bob: string;
  let carol: string;
  let creator: string;
  const events: AuctionEvent[] = [];
  const skip = name === 'PGlite ledger' && !pgliteReady;

  beforeAll(async () => {
    if (skip) return;
    h = harness({ bidRateLimit: { ratePerSecond: 1e9, burst: 1e9 } }, ledger ? { ledger: await ledger() } : {});
    h.outbid.subscribe((e) => events.push(e));
    [alice, bob, carol, creator] = await Promise.all([h.token('alice', 'bidder'), h.token('bob', 'bidder'), h.token('carol', 'bidder'), h.token('seller', 'creator')]);
  });
  afterAll(() => (skip ? undefined : h.close()));

  let n = 0;
  const bid = (id: string, token: string, body: unknown, key = `k-${n++}`) => h.call('POST', `/auctions/${id}/bids`, { token, body, headers: { 'idempotency-key': key } });
  const buyNow = (id: string, token: string, key = `b-${n++}`, body?: unknown) => h.call('POST', `/auctions/${id}/buy-now`, { token, headers: { 'idempotency-key': key }, ...(body !== undefined ? { body } : {}) });
  const get = async (id: string) => (await (await h.call('GET', `/auctions/${id}`, { token: carol })).json()) as Json;
  const history = async (id: string, token = carol, query = '') => ((await (await h.call('GET', `/auctions/${id}/bids${query}`, { token })).json()) as { items: Json[] }).items;

  it.skipIf(skip)('a maximum bids for its owner: a rival is refused 409 OUTBID_BY_PROXY at the new price, and the leader still leads', async () => {
    const { auctionId } = await h.createAuction({ startPrice: 1_000, minIncrement: 100 });
    const first = await bid(auctionId, alice, { maxAmount: 5_000 });
    expect(first.status).toBe(201);
    // Her own answer tells her maximum back (only to her); the price is the least she needs to lead.
    expect(await first.json()).toMatchObject({ status: 'accepted', amount: 1_000, currentPrice: 1_000, currentWinnerId: 'alice', minNextBid: 1_100, version: 2, maxAmount: 5_000 });

    const rival = await bid(auctionId, bob, { amount: 2_000 });
    expect(rival.status).toBe(409);
    const refused = (await rival.json()) as Json;
    expect(refused).toMatchObject({ status: 'rejected', reason: 'OUTBID_BY_PROXY', amount: 2_000, currentPrice: 2_100, currentWinnerId: 'alice', minNextBid: 2_200, version: 3 });
    expect(refused).not.toHaveProperty('maxAmount');
    expect(await get(auctionId)).toMatchObject({ currentPrice: 2_100, currentWinnerId: 'alice', bidCount: 2, version: 3 });
    expect(await get(auctionId)).not.toHaveProperty('reserveMet');
    expect(await get(auctionId)).not.toHaveProperty('buyNowAvailable');

    // The history shows the bid the engine placed for her, marked automatic, and never her maximum.
    const items = await history(auctionId);
    expect(items).toEqual([
      { bidId: expect.any(String), version: 3, amount: 2_100, bidderId: 'alice', status: 'accepted', createdAt: expect.any(String), automatic: true },
      { bidId: expect.any(String), version: 2, amount: 1_000, bidderId: 'alice', status: 'accepted', createdAt: expect.any(String) },
    ]);
    expect(JSON.stringify(items)).not.toMatch(/(?<![0-9A-Za-z])5000(?![0-9A-Za-z])/); // whole tokens: ids may hold the digits
    // The creator's audit trail has bob's refusal, but not the maximum while the auction runs.
    const audit = await history(auctionId, creator, '?include=all');
    expect(audit.map((b) => b.reason ?? (b.automatic ? 'automatic' : b.status))).toEqual(['automatic', 'OUTBID_BY_PROXY', 'accepted']);
    expect(audit.every((b) => !('maxAmount' in b))).toBe(true);

    // A higher maximum takes the lead at one increment above hers; her maximum is still never shown.
    const over = await bid(auctionId, bob, { maxAmount: 6_000 });
    expect(over.status).toBe(201);
    expect(await over.json()).toMatchObject({ status: 'accepted', amount: 5_100, currentPrice: 5_100, currentWinnerId: 'bob', maxAmount: 6_000 });

    // After the end, the creator's audit trail (only) shows the maximums.
    await h.call('POST', `/auctions/${auctionId}/end`, { token: creator });
    const after = await history(auctionId, creator, '?include=all');
    expect(after.filter((b) => 'maxAmount' in b).map((b) => [b.bidderId, b.maxAmount])).toEqual([['bob', 6_000], ['alice', 5_000]]);
    expect((await history(auctionId)).every((b) => !('maxAmount' in b))).toBe(true);
    expect((await h.call('GET', `/auctions/${auctionId}/bids?include=all`, { token: alice })).status).toBe(403);
  });

  it.skipIf(skip)('reserve: reserveMet false until the best maximum reaches it, then the price jumps to it', async () => {
    const { auctionId, ...created } = await h.createAuction({ startPrice: 1_000, minIncrement: 100, reservePrice: 3_000 });
    expect(created).toMatchObject({ reserveMet: false });
    expect(JSON.stringify(created)).not.toMatch(/(?<![0-9A-Za-z])3000(?![0-9A-Za-z])/); // whole tokens: ids may hold the digits
    const plain = await bid(auctionId, alice, { amount: 1_000 });
    expect(await plain.json()).toMatchObject({ status: 'accepted', reserveMet: false });
    expect(await get(auctionId)).toMatchObject({ currentPrice: 1_000, reserveMet: false });
    const max = await bid(auctionId, bob, { maxAmount: 5_000 });
    expect(await max.json()).toMatchObject({ status: 'accepted', amount: 3_000, currentPrice: 3_000, currentWinnerId: 'bob', reserveMet: true });
    expect(await get(auctionId)).toMatchObject({ currentPrice: 3_000, reserveMet: true });
    await h.call('POST', `/auctions/${auctionId}/end`, { token: creator });
    expect(await get(auctionId)).toMatchObject({ status: 'ended', currentWinnerId: 'bob', currentPrice: 3_000, reserveMet: true });
  });

  it.skipIf(skip)('an auction that ends below its reserve has no winner: AuctionEnded says why, the ended frame and GET show none', async () => {
    const { auctionId } = await h.createAuction({ startPrice: 1_000, minIncrement: 100, reservePrice: 3_000 });
    const server = await listen(h.app);
    const stream = await openStream(`${server.base}/auctions/${auctionId}/stream`, { authorization: `Bearer ${carol}` });
    try {
      expect((await bid(auctionId, alice, { amount: 1_500 })).status).toBe(201);
      const ended = await h.call('POST', `/auctions/${auctionId}/end`, { token: creator });
      expect(await ended.json()).toMatchObject({ status: 'ended', currentPrice: 1_500, currentWinnerId: null, reserveMet: false });
      expect(await get(auctionId)).toMatchObject({ status: 'ended', currentPrice: 1_500, currentWinnerId: null, reserveMet: false });
      await eventually(() => expect(stream.frames.some((f) => f.event === 'ended')).toBe(true));
      const frames = stream.frames.map((f) => [f.event, JSON.parse(f.data) as Json] as const);
      expect(frames[0]).toEqual(['snapshot', expect.objectContaining({ status: 'active', reserveMet: false, winnerId: null })]);
      expect(frames.find(([e]) => e === 'bid')?.[1]).toMatchObject({ winnerId: 'alice', currentPrice: 1_500, reserveMet: false });
      expect(frames.at(-1)).toEqual(['ended', expect.objectContaining({ status: 'ended', winnerId: null, currentPrice: 1_500, reserveMet: false })]);
      const end = events.find((e) => e.auctionId === auctionId && e.type === 'AuctionEnded');
      expect(end).toMatchObject({ type: 'AuctionEnded', winnerId: null, finalPrice: null, noWinnerReason: 'RESERVE_NOT_MET' });
    } finally {
      stream.close();
      await server.close();
    }
  });

  it.skipIf(skip)('Buy It Now: 201 ends the auction at its price; then bids are late and a second purchase is refused; a retry is byte-identical', async () => {
    const { auctionId, ...created } = await h.createAuction({ startPrice: 1_000, minIncrement: 100, buyNowPrice: 5_000 });
    expect(created).toMatchObject({ buyNowPrice: 5_000, buyNowAvailable: true });
    const bought = await buyNow(auctionId, alice, 'bn-1');
    expect(bought.status).toBe(201);
    const text = await bought.text();
    expect(JSON.parse(text)).toMatchObject({ status: 'accepted', amount: 5_000, currentPrice: 5_000, currentWinnerId: 'alice', buyNowAvailable: false, extended: false });
    expect(await get(auctionId)).toMatchObject({ status: 'ended', currentPrice: 5_000, currentWinnerId: 'alice', buyNowPrice: 5_000, buyNowAvailable: false, bidCount: 1 });

    const late = await bid(auctionId, bob, { amount: 6_000 });
    expect(late.status).toBe(409);
    expect(await late.json()).toMatchObject({ status: 'late', reason: 'AUCTION_ENDED' });
    const again = await buyNow(auctionId, bob, 'bn-bob');
    expect(again.status).toBe(409);
    expect(await again.json()).toMatchObject({ reason: 'AUCTION_ENDED', currentWinnerId: 'alice' });

    const retry = await buyNow(auctionId, alice, 'bn-1');
    expect(retry.status).toBe(201);
    expect(retry.headers.get('idempotent-replayed')).toBe('true');
    expect(await retry.text()).toBe(text);
    // The same key on the bid route is another request: 422.
    expect((await bid(auctionId, alice, { amount: 6_000 }, 'bn-1')).status).toBe(422);

    expect(await history(auctionId)).toEqual([{ bidId: expect.any(String), version: 2, amount: 5_000, bidderId: 'alice', status: 'accepted', createdAt: expect.any(String), buyNow: true }]);
    const end = events.filter((e) => e.auctionId === auctionId && e.type === 'AuctionEnded');
    expect(end).toEqual([expect.objectContaining({ winnerId: 'alice', finalPrice: 5_000, noWinnerReason: null })]);
  });

  it.skipIf(skip)('frames carry buyNowPrice and buyNowAvailable; a purchase is one ended frame with the buyer', async () => {
    const { auctionId } = await h.createAuction({ startPrice: 1_000, minIncrement: 100, buyNowPrice: 5_000 });
    const server = await listen(h.app);
    const stream = await openStream(`${server.base}/auctions/${auctionId}/stream`, { authorization: `Bearer ${carol}` });
    try {
      await eventually(() => expect(stream.frames.length).toBe(1));
      expect((await buyNow(auctionId, bob)).status).toBe(201);
      await eventually(() => expect(stream.frames.at(-1)?.event).toBe('ended'));
      const frames = stream.frames.map((f) => [f.event, JSON.parse(f.data) as Json] as const);
      expect(frames).toEqual([
        ['snapshot', expect.objectContaining({ version: 1, status: 'active', buyNowPrice: 5_000, buyNowAvailable: true })],
        ['ended', expect.objectContaining({ version: 2, status: 'ended', winnerId: 'bob', currentPrice: 5_000, buyNowPrice: 5_000, buyNowAvailable: false, remainingMs: 0 })],
      ]);
      expect(frames.every(([, d]) => !('reserveMet' in d))).toBe(true);
    } finally {
      stream.close();
      await server.close();
    }
  });

  it.skipIf(skip)('Buy It Now goes away at the first bid (default policy): BUY_NOW_UNAVAILABLE', async () => {
    const { auctionId } = await h.createAuction({ startPrice: 1_000, minIncrement: 100, buyNowPrice: 5_000 });
    expect(await (await bid(auctionId, alice, { amount: 1_000 })).json()).toMatchObject({ status: 'accepted', buyNowAvailable: false });
    const refused = await buyNow(auctionId, bob, undefined, {});
    expect(refused.status).toBe(409);
    expect(await refused.json()).toMatchObject({ status: 'rejected', reason: 'BUY_NOW_UNAVAILABLE', currentPrice: 1_000, currentWinnerId: 'alice' });
    expect(await get(auctionId)).toMatchObject({ status: 'active', buyNowAvailable: false });
  });

  it.skipIf(skip)('policy reserve-met: Buy It Now stays until the reserve is met', async () => {
    const { auctionId } = await h.createAuction({ startPrice: 1_000, minIncrement: 100, reservePrice: 3_000, buyNowPrice: 5_000, buyNowPolicy: 'reserve-met' });
    expect(await (await bid(auctionId, alice, { amount: 1_000 })).json()).toMatchObject({ reserveMet: false, buyNowAvailable: true });
    const bought = await buyNow(auctionId, bob);
    expect(await bought.json()).toMatchObject({ status: 'accepted', currentWinnerId: 'bob', currentPrice: 5_000, reserveMet: true, buyNowAvailable: false });
  });

  it.skipIf(skip)('bad bodies are 400 problem+json and place nothing', async () => {
    const { auctionId } = await h.createAuction({ startPrice: 1_000, minIncrement: 100, buyNowPrice: 5_000 });
    const cases: Array<[string, Response]> = [
      ['bid without amount or maxAmount', await bid(auctionId, alice, {})],
      ['amount above maxAmount', await bid(auctionId, alice, { amount: 3_000, maxAmount: 2_000 })],
      ['maxAmount not a number', await bid(auctionId, alice, { maxAmount: '5000' })],
      ['a buyNow flag on the bid route', await bid(auctionId, alice, { amount: 1_000, buyNow: true })],
      ['buy-now with an amount', await buyNow(auctionId, alice, undefined, { amount: 5_000 })],
      ['buy-now with a JSON array', await buyNow(auctionId, alice, undefined, [])],
      ['buy-now with malformed JSON', await buyNow(auctionId, alice, undefined, '{"')],
    ];
    for (const [what, res] of cases) {
      expect(res.status, what).toBe(400);
      expect(res.headers.get('content-type'), what).toBe('application/problem+json');
    }
    expect(await cases[1]![1].json()).toMatchObject({ code: 'VALIDATION_FAILED', errors: [{ path: 'maxAmount', message: expect.any(String) }] });
    expect((await h.call('POST', `/auctions/${auctionId}/buy-now`, { token: alice })).status).toBe(400); // no Idempotency-Key
    expect((await h.call('POST', `/auctions/${auctionId}/buy-now`, { token: creator, headers: { 'idempotency-key': 'c' } })).status).toBe(403);
    expect((await h.call('POST', `/auctions/${auctionId}/buy-now`, { token: alice, headers: { 'idempotency-key': 'x', 'content-type': 'text/plain' }, body: 'buy' })).status).toBe(415);
    expect(await get(auctionId)).toMatchObject({ version: 1, bidCount: 0, buyNowAvailable: true });

    const create = (patch: Json) => h.call('POST', '/auctions', { token: creator, body: { postId: `p-${n++}`, startAt: '2030-01-01T00:00:00Z', endAt: '2030-01-02T00:00:00Z', startPrice: 1_000, minIncrement: 100, ...patch } });
    for (const patch of [{ reservePrice: 1_000 }, { buyNowPrice: 1_000 }, { reservePrice: 3_000, buyNowPrice: 3_000 }, { buyNowPolicy: 'reserve-met' }, { buyNowPolicy: 'never' }, { reservePrice: 2.5 }]) {
      const res = await create(patch);
      expect(res.status, JSON.stringify(patch)).toBe(400);
      expect(res.headers.get('content-type')).toBe('application/problem+json');
    }
  });

  it.skipIf(skip)('metrics count proxy counter-bids, buy-nows and the new refusals', async () => {
    const text = await (await h.call('GET', '/metrics')).text();
    const value = (series: string) => Number(new RegExp(`^${series.replace(/[{}]/g, '\\$&')} (\\d+)$`, 'm').exec(text)?.[1] ?? NaN);
    expect(value('outbid_automatic_bids_total{kind="proxy"}')).toBeGreaterThanOrEqual(1);
    expect(value('outbid_automatic_bids_total{kind="buy_now"}')).toBeGreaterThanOrEqual(2);
    expect(value('outbid_bid_decisions_total{status="rejected",reason="OUTBID_BY_PROXY"}')).toBeGreaterThanOrEqual(1);
    expect(value('outbid_bid_decisions_total{status="rejected",reason="BUY_NOW_UNAVAILABLE"}')).toBeGreaterThanOrEqual(1);
  });
});

describe('Buy It Now and the bid rate limit', () => {
  it('counts against the same per-bidder limit as bids: 429 with Retry-After', async () => {
    const limited = harness({ bidRateLimit: { ratePerSecond: 1, burst: 2 } });
    try {
      const { auctionId } = await limited.createAuction({ buyNowPrice: 5_000 });
      const t = await limited.token('eager', 'bidder');
      const codes: number[] = [];
      for (const [i, path] of ['bids', 'bids', 'buy-now'].entries()) {
        const res = await limited.call('POST', `/auctions/${auctionId}/${path}`, { token: t, ...(path === 'bids' ? { body: { amount: 1_000 + i * 100 } } : {}), headers: { 'idempotency-key': `r${i}` } });
        codes.push(res.status);
        if (res.status === 429) expect(Number(res.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
      }
      expect(codes).toEqual([201, 409, 429]);
    } finally {
      await limited.close();
    }
  });
});
