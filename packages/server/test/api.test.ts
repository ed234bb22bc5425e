import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { harness, type Harness } from './harness.js';

let h: Harness;
let bidder: string;
let other: string;
let creator: string;
beforeAll(async () => {
  h = harness();
  bidder = await h.token('alice', 'bidder');
  other = await h.token('bob', 'bidder');
  creator = await h.token('seller', 'creator');
});
afterAll(() => h.close());

const bid = (id: string, amount: unknown, key: string | null, token = bidder) =>
  h.call('POST', `/auctions/${id}/bids`, { token, body: { amount }, headers: key === null ? {} : { 'idempotency-key': key } });

describe('POST /auctions', () => {
  it('creates an auction: 201, Location, ISO times, the auction fields', async () => {
    const res = await h.call('POST', '/auctions', {
      token: creator,
      body: { postId: 'p-create', startAt: '2030-01-01T00:00:00Z', endAt: '2030-01-02T00:00:00Z', startPrice: 500, incrementTable: [{ from: 0, increment: 5 }, { from: 1_000, increment: 25 }], currency: 'EUR', softClose: { windowMs: 60_000, extendMs: 60_000, mode: 'additive', maxExtensions: 3, hardEndAt: '2030-01-02T01:00:00Z' } },
    });
    expect(res.status).toBe(201);
    const body = (await res.json()) as Record<string, unknown>;
    expect(res.headers.get('location')).toBe(`/auctions/${body.auctionId}`);
    expect(body).toMatchObject({
      id: body.auctionId, postId: 'p-create', creatorId: 'seller', status: 'scheduled', currency: 'EUR', startAt: '2030-01-01T00:00:00.000Z',
      endAt: '2030-01-02T00:00:00.000Z', startPrice: 500, currentPrice: 500, currentWinnerId: null, minIncrement: 5, minNextBid: 500, version: 1, bidCount: 0,
      softClose: { windowMs: 60_000, extendMs: 60_000, mode: 'additive', maxExtensions: 3, hardEndAt: '2030-01-02T01:00:00.000Z' },
    });
  });

  it.each([
    ['endAt before startAt', { startAt: '2030-01-02T00:00:00Z', endAt: '2030-01-01T00:00:00Z' }, 'VALIDATION_FAILED'],
    ['endAt in the past', { startAt: '2000-01-01T00:00:00Z', endAt: '2000-01-02T00:00:00Z' }, 'VALIDATION_FAILED'],
    ['a fractional price', { startPrice: 10.5 }, 'VALIDATION_FAILED'],
    ['a negative price', { startPrice: -1 }, 'VALIDATION_FAILED'],
    ['a price above 10^15', { startPrice: 1e15 + 1 }, 'VALIDATION_FAILED'],
    ['both increment forms', { incrementTable: [{ from: 0, increment: 5 }] }, 'VALIDATION_FAILED'],
    ['an unknown field (mass assignment)', { status: 'ended' }, 'VALIDATION_FAILED'],
    ['a time without offset', { endAt: '2030-01-02T00:00:00' }, 'VALIDATION_FAILED'],
  ])('refuses %s with a 400 problem', async (_name, patch, code) => {
    const res = await h.call('POST', '/auctions', {
      token: creator,
      body: { postId: 'p-bad', startAt: '2030-01-01T00:00:00Z', endAt: '2030-01-02T00:00:00Z', startPrice: 500, minIncrement: 10, ...patch },
    });
    expect(res.status).toBe(400);
    expect(res.headers.get('content-type')).toBe('application/problem+json');
    expect(await res.json()).toMatchObject({ status: 400, code, title: 'Bad Request', type: expect.stringContaining('validation-failed') });
  });

  it('a second open auction on the same post is 409 POST_HAS_ACTIVE_AUCTION', async () => {
    await h.createAuction({ postId: 'p-twice' });
    const res = await h.call('POST', '/auctions', { token: creator, body: { postId: 'p-twice', startAt: new Date().toISOString(), endAt: '2031-01-01T00:00:00Z', startPrice: 1, minIncrement: 1 } });
    expect(res.status).toBe(409);
    expect((await res.json()).code).toBe('POST_HAS_ACTIVE_AUCTION');
  });

  it('malformed JSON is 400, another media type 415, a body over 16 KiB 413', async () => {
    expect((await h.call('POST', '/auctions', { token: creator, body: '{"postId":' })).status).toBe(400);
    expect((await h.call('POST', '/auctions', { token: creator, body: 'x', headers: { 'content-type': 'text/plain' } })).status).toBe(415);
    const big = await h.call('POST', '/auctions', { token: creator, body: { postId: 'x'.repeat(20_000) } });
    expect(big.status).toBe(413);
    expect((await big.json()).code).toBe('BODY_TOO_LARGE');
  });
});

describe('GET /auctions/:id and lists', () => {
  it('returns the auction with an ETag; If-None-Match gives 304 until the version changes', async () => {
    const { auctionId } = await h.createAuction();
    const first = await h.call('GET', `/auctions/${auctionId}`, { token: bidder });
    expect(first.status).toBe(200);
    expect(first.headers.get('etag')).toBe('W/"1"');
    expect(first.headers.get('cache-control')).toBe('private, max-age=1'); // authenticated reads are never shared (anonymous reads: hardening.test.ts)
    expect(first.headers.get('vary')).toMatch(/authorization/i);
    expect(await first.json()).toMatchObject({ id: auctionId, version: 1, minNextBid: 1_000, serverTime: expect.any(String), bidCount: 0 });
    const cached = await h.call('GET', `/auctions/${auctionId}`, { token: bidder, headers: { 'if-none-match': 'W/"1"' } });
    expect(cached.status).toBe(304);
    await bid(auctionId, 1_000, 'etag-1');
    const changed = await h.call('GET', `/auctions/${auctionId}`, { token: bidder, headers: { 'if-none-match': 'W/"1"' } });
    expect(changed.status).toBe(200);
    expect(changed.headers.get('etag')).toBe('W/"2"');
  });

  it('unknown ids are 404 problems', async () => {
    for (const [method, path, token] of [
      ['GET', '/auctions/nope', bidder],
      ['POST', '/auctions/nope/end', creator],
      ['GET', '/auctions/nope/bids', bidder],
      ['GET', '/auctions/nope/stream', bidder],
    ] as const) {
      const res = await h.call(method, path, { token });
      expect(res.status, `${method} ${path}`).toBe(404);
      expect((await res.json()).code).toBe('AUCTION_NOT_FOUND');
    }
    expect((await bid('nope', 100, 'k')).status).toBe(404);
  });

  it('lists auctions by status and creator with cursors; a bad cursor is 400', async () => {
    const maker = await h.token('lister', 'creator');
    for (let i = 0; i < 3; i++) await h.createAuction({}, 'lister');
    const page1 = await h.call('GET', '/auctions?creatorId=lister&status=active&limit=2', { token: maker });
    const body1 = (await page1.json()) as { items: Array<{ creatorId: string }>; nextCursor: string };
    expect(body1.items).toHaveLength(2);
    const page2 = (await (await h.call('GET', `/auctions?creatorId=lister&limit=2&cursor=${body1.nextCursor}`, { token: maker })).json()) as { items: unknown[]; nextCursor: null };
    expect(page2.items).toHaveLength(1);
    expect(page2.nextCursor).toBeNull();
    const bad = await h.call('GET', '/auctions?cursor=garbage', { token: maker });
    expect(bad.status).toBe(400);
    expect((await bad.json()).code).toBe('INVALID_CURSOR');
    expect((await h.call('GET', '/auctions?limit=1000', { token: maker })).status).toBe(400);
  });
});

describe('POST /auctions/:id/bids', () => {
  it('accepted → 201 with the contract fields; rejected → 409 with reason and minNextBid', async () => {
    const { auctionId } = await h.createAuction();
    const ok = await bid(auctionId, 1_000, 'b-1');
    expect(ok.status).toBe(201);
    expect(await ok.json()).toEqual({
      status: 'accepted', bidId: expect.any(String), amount: 1_000, currentPrice: 1_000, currentWinnerId: 'alice', minNextBid: 1_100, version: 2,
      endAt: expect.any(String), extended: false, serverTime: expect.any(String),
    });
    const low = await bid(auctionId, 1_050, 'b-2', other);
    expect(low.status).toBe(409);
    expect(await low.json()).toMatchObject({ status: 'rejected', reason: 'BID_TOO_LOW', minNextBid: 1_100, currentPrice: 1_000, currentWinnerId: 'alice', version: 2 });
  });

  it('a retry with the same key returns the same status and body byte for byte, with Idempotent-Replayed', async () => {
    const { auctionId } = await h.createAuction();
    const first = await bid(auctionId, 1_000, 'same');
    const firstText = await first.text();
    const again = await bid(auctionId, 1_000, 'same');
    expect(again.status).toBe(201);
    expect(again.headers.get('idempotent-replayed')).toBe('true');
    expect(await again.text()).toBe(firstText);
    const rejectedFirst = await bid(auctionId, 1, 'low', other);
    const rejectedText = await rejectedFirst.text();
    const rejectedAgain = await bid(auctionId, 1, 'low', other);
    expect([rejectedAgain.status, await rejectedAgain.text()]).toEqual([409, rejectedText]);
    const list = (await (await h.call('GET', `/auctions/${auctionId}/bids`, { token: bidder })).json()) as { items: unknown[] };
    expect(list.items).toHaveLength(1);
  });

  it('the same key with another body is 422; another bidder’s identical key is independent', async () => {
    const { auctionId } = await h.createAuction();
    await bid(auctionId, 1_000, 'shared');
    const reused = await bid(auctionId, 1_200, 'shared');
    expect(reused.status).toBe(422);
    expect((await reused.json()).code).toBe('IDEMPOTENCY_KEY_REUSED');
    expect((await bid(auctionId, 1_100, 'shared', other)).status).toBe(201);
  });

  it('a missing, empty or over-long key is 400 and places nothing', async () => {
    const { auctionId } = await h.createAuction();
    for (const key of [null, '', 'k'.repeat(256)]) {
      const res = await bid(auctionId, 1_000, key);
      expect(res.status, String(key?.length)).toBe(400);
      expect((await res.json()).code).toMatch(/^IDEMPOTENCY_KEY_/);
    }
    expect((await bid(auctionId, 1_000, 'k'.repeat(255))).status).toBe(201);
  });

  it('invalid amounts: not a number → 400; fractional, zero or too large → 422 INVALID_AMOUNT; nothing stored', async () => {
    const { auctionId } = await h.createAuction();
    expect((await bid(auctionId, '1000', 'a1')).status).toBe(400);
    for (const amount of [10.5, 0, -5, 1e16]) {
      const res = await bid(auctionId, amount, `bad-${amount}`);
      expect(res.status).toBe(422);
      expect((await res.json()).code).toBe('INVALID_AMOUNT');
    }
    // Invalid answers are not stored: the same key with a corrected amount is processed.
    expect((await bid(auctionId, 1_000, 'bad-10.5')).status).toBe(201);
    expect((await bid(auctionId, 1_100, 'x', await h.token('carol', 'bidder'))).status).toBe(201);
    expect(((await (await h.call('GET', `/auctions/${auctionId}`, { token: bidder })).json()) as { version: number }).version).toBe(3);
  });

  it('rate limits each bidder: 429 with Retry-After', async () => {
    const limited = harness({ bidRateLimit: { ratePerSecond: 1, burst: 2 } });
    try {
      const { auctionId } = await limited.createAuction();
      const t = await limited.token('eager', 'bidder');
      const codes: number[] = [];
      for (let i = 0; i < 4; i++) {
        const res = await limited.call('POST', `/auctions/${auctionId}/bids`, { token: t, body: { amount: 1_000 + i * 100 }, headers: { 'idempotency-key': `r${i}` } });
        codes.push(res.status);
        if (res.status === 429) expect(Number(res.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
      }
      expect(codes.slice(2)).toEqual([429, 429]);
    } finally {
      await limited.close();
    }
  });
});

describe('lifecycle and history', () => {
  it('the creator starts, ends and cancels; others get 403; bids after the end are late (409)', async () => {
    const { auctionId } = await h.createAuction({ startAt: new Date(Date.now() + 60_000).toISOString() });
    expect((await h.call('POST', `/auctions/${auctionId}/start`, { token: await h.token('intruder', 'creator') })).status).toBe(403);
    const started = await h.call('POST', `/auctions/${auctionId}/start`, { token: creator });
    expect(started.status).toBe(200);
    expect(await started.json()).toMatchObject({ status: 'active', version: 2 });
    await bid(auctionId, 1_000, 'l-1');
    expect(await (await h.call('POST', `/auctions/${auctionId}/end`, { token: creator })).json()).toMatchObject({ status: 'ended', currentWinnerId: 'alice' });
    const late = await bid(auctionId, 5_000, 'l-2', other);
    expect(late.status).toBe(409);
    expect(await late.json()).toMatchObject({ status: 'late', reason: 'AUCTION_ENDED' });
    const cancel = await h.call('POST', `/auctions/${auctionId}/cancel`, { token: creator });
    expect(cancel.status).toBe(409);
    expect((await cancel.json()).code).toBe('INVALID_TRANSITION');
  });

  it('history: accepted bids newest first, paged; include=all is the creator’s audit trail', async () => {
    const { auctionId } = await h.createAuction();
    await bid(auctionId, 1_000, 'h1');
    await bid(auctionId, 10, 'h2', other);
    await bid(auctionId, 1_100, 'h3', other);
    const page = (await (await h.call('GET', `/auctions/${auctionId}/bids?limit=1`, { token: bidder })).json()) as { items: Array<Record<string, unknown>>; nextCursor: string };
    expect(page.items).toEqual([{ bidId: expect.any(String), version: 3, amount: 1_100, bidderId: 'bob', status: 'accepted', createdAt: expect.any(String) }]);
    const rest = (await (await h.call('GET', `/auctions/${auctionId}/bids?limit=5&cursor=${page.nextCursor}`, { token: bidder })).json()) as { items: Array<{ version: number }> };
    expect(rest.items.map((b) => b.version)).toEqual([2]);
    const audit = (await (await h.call('GET', `/auctions/${auctionId}/bids?include=all`, { token: creator })).json()) as { items: Array<{ status: string; reason?: string }> };
    expect(audit.items.map((b) => b.reason ?? b.status)).toEqual(['accepted', 'BID_TOO_LOW', 'accepted']);
    expect((await h.call('GET', `/auctions/${auctionId}/bids?include=all`, { token: bidder })).status).toBe(403);
  });
});

describe('operations', () => {
  it('readyz says what start-up still waits for (503) and turns ready once it is done', async () => {
    let waiting = ['bus subscription outbid-fanout (kafka)'];
    const starting = harness({ startup: () => waiting });
    try {
      const res = await starting.call('GET', '/readyz');
      expect(res.status).toBe(503);
      expect(await res.json()).toEqual({ status: 'starting', waitingFor: ['bus subscription outbid-fanout (kafka)'] });
      waiting = [];
      const ready = await starting.call('GET', '/readyz');
      expect(ready.status).toBe(200);
      expect(await ready.json()).toMatchObject({ status: 'ready' });
    } finally {
      await starting.close();
    }
  });

  it('healthz, readyz, metrics, openapi and docs answer', async () => {
    expect(await (await h.call('GET', '/healthz')).json()).toEqual({ status: 'ok' });
    expect(await (await h.call('GET', '/readyz')).json()).toMatchObject({ status: 'ready', engine: 'memory', ledger: 'memory' });
    const metrics = await (await h.call('GET', '/metrics')).text();
    expect(metrics).toContain('outbid_bid_duration_seconds_bucket');
    expect(metrics).toMatch(/outbid_bid_decisions_total\{status="accepted",reason="none"\} \d+/);
    expect(metrics).toContain('outbid_sse_open_streams');
    const doc = (await (await h.call('GET', '/openapi.json')).json()) as { paths: Record<string, unknown> };
    expect(Object.keys(doc.paths)).toEqual(expect.arrayContaining(['/auctions', '/auctions/{id}', '/auctions/{id}/bids', '/auctions/{id}/stream']));
    expect(await (await h.call('GET', '/docs')).text()).toContain('/openapi.json');
    const unknown = await h.call('GET', '/nowhere');
    expect([unknown.status, (await unknown.json()).code]).toEqual([404, 'ROUTE_NOT_FOUND']);
  });
});

describe('Server-Timing on bid answers (serverTiming)', () => {
  const FIELD = /^engine;dur=\d+\.\d\d, ledger;dur=\d+\.\d\d, bid;dur=\d+\.\d\d$/;

  it('is off by default', async () => {
    const { auctionId } = await h.createAuction();
    const res = await bid(auctionId, 1_000, 'st-off');
    expect(res.status).toBe(201);
    expect(res.headers.get('server-timing')).toBeNull();
  });

  it('when on, accepted, refused and replayed answers say how long the engine, the ledger and the whole call took', async () => {
    const timed = harness({ serverTiming: true });
    try {
      const token = await timed.token('alice', 'bidder');
      const { auctionId } = await timed.createAuction();
      const post = (amount: number, key: string) =>
        timed.call('POST', `/auctions/${auctionId}/bids`, { token, body: { amount }, headers: { 'idempotency-key': key } });
      const answers = [await post(1_000, 'st-1'), await post(1, 'st-2'), await post(1_000, 'st-1')];
      expect(answers.map((r) => r.status)).toEqual([201, 409, 201]);
      for (const res of answers) {
        const field = res.headers.get('server-timing') ?? '';
        expect(field).toMatch(FIELD);
        const [engine, ledger, total] = [...field.matchAll(/dur=([\d.]+)/g)].map((m) => Number(m[1]));
        // Each is rounded to 0.01 ms on its own.
        expect(total! + 0.015).toBeGreaterThanOrEqual(engine! + ledger!);
      }
    } finally {
      await timed.close();
    }
  });
});
