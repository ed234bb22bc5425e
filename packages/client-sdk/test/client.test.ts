import { gzipSync } from 'node:zlib';
import { build } from 'esbuild';
import { describe, expect, it } from 'vitest';
import { OutbidClientError, ServerClock, createOutbidClient } from '../src/index.js';
import { json, scriptedServer } from './scripted.js';

const accepted = { status: 'accepted', bidId: 'b1', amount: 1_000, currentPrice: 1_000, currentWinnerId: 'me', minNextBid: 1_100, version: 2, endAt: '2030-01-01T00:00:00.000Z', extended: false, serverTime: new Date().toISOString() };

describe('placeBid', () => {
  it('retries network failures, 5xx and in-progress answers with the same Idempotency-Key', async () => {
    let calls = 0;
    const server = scriptedServer(() => {
      calls++;
      if (calls === 1) throw new TypeError('fetch failed');
      if (calls === 2) return json(503, { code: 'ENGINE_UNAVAILABLE', detail: 'down' }, { 'retry-after': '0' });
      if (calls === 3) return json(409, { code: 'IDEMPOTENCY_IN_PROGRESS', detail: 'busy' }, { 'retry-after': '0' });
      return json(201, accepted, { 'idempotent-replayed': 'true' });
    });
    const client = createOutbidClient({ baseUrl: 'http://outbid.test', fetch: server.fetch });
    const result = await client.placeBid('a1', 1_000);
    expect(result).toMatchObject({ status: 'accepted', bidId: 'b1', replayed: true });
    const keys = server.requests.map((r) => r.headers['idempotency-key']);
    expect(keys).toHaveLength(4);
    expect(new Set(keys).size).toBe(1);
    expect(server.requests[0]!.body).toBe('{"amount":1000}');
  });

  it('returns rejections as results with the reason and minNextBid', async () => {
    const server = scriptedServer(() => json(409, { status: 'rejected', reason: 'BID_TOO_LOW', minNextBid: 1_200, currentPrice: 1_100, currentWinnerId: 'x', version: 3, endAt: '2030-01-01T00:00:00Z', serverTime: new Date().toISOString() }));
    const client = createOutbidClient({ baseUrl: 'http://outbid.test', fetch: server.fetch });
    expect(await client.placeBid('a1', 1_150)).toMatchObject({ status: 'rejected', reason: 'BID_TOO_LOW', minNextBid: 1_200, replayed: false });
    expect(server.requests).toHaveLength(1);
  });

  it.each([
    [401, 'auth', 'INVALID_TOKEN', undefined],
    [403, 'forbidden', 'ROLE_REQUIRED', undefined],
    [422, 'validation', 'INVALID_AMOUNT', undefined],
    [429, 'rate_limited', 'RATE_LIMITED', 3_000],
  ])('a %i is a typed error (%s) and is not retried', async (status, kind, code, retryAfter) => {
    const server = scriptedServer(() => json(status, { code, detail: 'no' }, { 'retry-after': '3' }));
    const client = createOutbidClient({ baseUrl: 'http://outbid.test', fetch: server.fetch });
    const error = await client.placeBid('a1', 5).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(OutbidClientError);
    expect(error).toMatchObject({ kind, code, status });
    if (retryAfter) expect((error as OutbidClientError).retryAfterMs).toBe(retryAfter);
    expect(server.requests).toHaveLength(1);
  });

  it('gives up after the bounded number of retries', async () => {
    const server = scriptedServer(() => json(503, { code: 'LEDGER_UNAVAILABLE', detail: 'down' }, { 'retry-after': '0' }));
    const client = createOutbidClient({ baseUrl: 'http://outbid.test', fetch: server.fetch, bidRetries: 2 });
    await expect(client.placeBid('a1', 5)).rejects.toMatchObject({ kind: 'server', code: 'LEDGER_UNAVAILABLE' });
    expect(server.requests).toHaveLength(3);
  });
});

describe('bid with a maximum, and buyNow', () => {
  it.each([
    [{ amount: 1_000 }, '{"amount":1000}'],
    [{ maxAmount: 3_000 }, '{"maxAmount":3000}'],
    [{ amount: 1_000, maxAmount: 3_000 }, '{"amount":1000,"maxAmount":3000}'],
  ] as const)('bid(%j) sends exactly %s to POST /auctions/:id/bids', async (input, body) => {
    const server = scriptedServer(() => json(201, { ...accepted, ...('maxAmount' in input ? { maxAmount: input.maxAmount } : {}) }));
    const client = createOutbidClient({ baseUrl: 'http://outbid.test', fetch: server.fetch });
    const result = await client.bid('a 1', input);
    expect(result).toMatchObject({ status: 'accepted', replayed: false });
    if ('maxAmount' in input) expect(result.maxAmount).toBe(input.maxAmount);
    else expect(result).not.toHaveProperty('maxAmount');
    expect(server.requests).toHaveLength(1);
    expect(server.requests[0]).toMatchObject({ method: 'POST', path: '/auctions/a%201/bids', body });
    expect(server.requests[0]!.headers['content-type']).toBe('application/json');
    expect(server.requests[0]!.headers['idempotency-key']).toMatch(/.{16,}/);
  });

  it('a bid with a maximum is retried with the same Idempotency-Key and the same body', async () => {
    let calls = 0;
    const server = scriptedServer(() => {
      calls++;
      if (calls === 1) throw new TypeError('fetch failed');
      if (calls === 2) return json(503, { code: 'ENGINE_UNAVAILABLE', detail: 'down' }, { 'retry-after': '0' });
      return json(201, { ...accepted, maxAmount: 3_000 }, { 'idempotent-replayed': 'true' });
    });
    const client = createOutbidClient({ baseUrl: 'http://outbid.test', fetch: server.fetch });
    expect(await client.bid('a1', { maxAmount: 3_000 })).toMatchObject({ status: 'accepted', maxAmount: 3_000, replayed: true });
    expect(server.requests).toHaveLength(3);
    expect(new Set(server.requests.map((r) => r.headers['idempotency-key'])).size).toBe(1);
    expect(new Set(server.requests.map((r) => r.body))).toEqual(new Set(['{"maxAmount":3000}']));
  });

  it('surfaces OUTBID_BY_PROXY as a rejected bid carrying the new price, leader, version and minNextBid', async () => {
    const outbid = { status: 'rejected', reason: 'OUTBID_BY_PROXY', bidId: 'b9', amount: 2_100, currentPrice: 2_200, currentWinnerId: 'alice', minNextBid: 2_300, version: 4, endAt: '2030-01-01T00:00:00.000Z', reserveMet: false, serverTime: new Date().toISOString() };
    const server = scriptedServer(() => json(409, outbid));
    const client = createOutbidClient({ baseUrl: 'http://outbid.test', fetch: server.fetch });
    const result = await client.placeBid('a1', 2_100);
    expect(result).toEqual({ ...outbid, replayed: false });
    if (result.status === 'accepted') throw new Error('expected a rejection');
    expect(result.reason).toBe('OUTBID_BY_PROXY');
    expect(server.requests).toHaveLength(1); // a decision, not a failure: never retried
  });

  it('a 400 for an amount above the maximum is a validation error, not retried', async () => {
    const server = scriptedServer(() => json(400, { code: 'VALIDATION_FAILED', detail: 'amount must not exceed maxAmount' }));
    const client = createOutbidClient({ baseUrl: 'http://outbid.test', fetch: server.fetch });
    await expect(client.bid('a1', { amount: 5_000, maxAmount: 3_000 })).rejects.toMatchObject({ kind: 'validation', status: 400 });
    expect(server.requests).toHaveLength(1);
  });

  it('buyNow posts to /buy-now with one Idempotency-Key reused on its retries', async () => {
    let calls = 0;
    const bought = { ...accepted, amount: 10_000, currentPrice: 10_000, buyNowAvailable: false };
    const server = scriptedServer(() => {
      calls++;
      if (calls === 1) throw new TypeError('fetch failed');
      if (calls === 2) return json(409, { code: 'IDEMPOTENCY_IN_PROGRESS', detail: 'busy' }, { 'retry-after': '0' });
      return json(201, bought, { 'idempotent-replayed': 'true' });
    });
    const client = createOutbidClient({ baseUrl: 'http://outbid.test', fetch: server.fetch });
    expect(await client.buyNow('a1')).toEqual({ ...bought, replayed: true });
    expect(server.requests).toHaveLength(3);
    expect(server.requests.every((r) => r.method === 'POST' && r.path === '/auctions/a1/buy-now' && r.body === '{}')).toBe(true);
    expect(new Set(server.requests.map((r) => r.headers['idempotency-key'])).size).toBe(1);
  });

  it('each buyNow call makes its own key unless one is given', async () => {
    const server = scriptedServer(() => json(201, accepted));
    const client = createOutbidClient({ baseUrl: 'http://outbid.test', fetch: server.fetch });
    await client.buyNow('a1');
    await client.buyNow('a1');
    await client.buyNow('a1', { idempotencyKey: 'mine' });
    const keys = server.requests.map((r) => r.headers['idempotency-key']);
    expect(keys[0]).not.toBe(keys[1]);
    expect(keys[2]).toBe('mine');
  });

  it('returns BUY_NOW_UNAVAILABLE as a rejection', async () => {
    const server = scriptedServer(() => json(409, { status: 'rejected', reason: 'BUY_NOW_UNAVAILABLE', bidId: 'b2', amount: 0, minNextBid: 2_100, currentPrice: 2_000, currentWinnerId: 'bob', version: 2, endAt: '2030-01-01T00:00:00Z', buyNowAvailable: false, serverTime: new Date().toISOString() }));
    const client = createOutbidClient({ baseUrl: 'http://outbid.test', fetch: server.fetch });
    expect(await client.buyNow('a1')).toMatchObject({ status: 'rejected', reason: 'BUY_NOW_UNAVAILABLE', buyNowAvailable: false, currentPrice: 2_000, replayed: false });
    expect(server.requests).toHaveLength(1);
  });
});

describe('server clock', () => {
  it.each([3_600_000, -3_600_000])('a device clock off by %i ms still counts down by the server', async (skew) => {
    // The server's clock is the truth; this device's is off by an hour.
    const serverNow = () => Date.now() - skew;
    const server = scriptedServer(() => json(200, { id: 'a1', endAt: new Date(serverNow() + 60_000).toISOString(), serverTime: new Date(serverNow()).toISOString() }));
    const client = createOutbidClient({ baseUrl: 'http://outbid.test', fetch: server.fetch });
    const auction = await client.getAuction('a1');
    expect(Math.abs(client.remainingMs(auction.endAt) - 60_000)).toBeLessThan(1_000);
    expect(Math.abs(client.serverNow() - serverNow())).toBeLessThan(1_000);
  });

  it('keeps the lowest round-trip samples', () => {
    let local = 1_000_000;
    const clock = new ServerClock(() => local);
    clock.observe(5_000_500, 1_000_000, 1_001_000); // rtt 1 s: offset ≈ 3,999,000 ± 500
    clock.observe(5_000_020, 1_000_000, 1_000_040); // rtt 40 ms: the precise one
    expect(clock.offset()).toBe(5_000_020 - 1_000_020);
    local += 10;
    expect(clock.now()).toBe(1_000_010 + 4_000_000);
  });
});

it('the SDK entry stays within 6 KB minified and gzipped', async () => {
  const out = await build({ entryPoints: [new URL('../src/index.ts', import.meta.url).pathname], bundle: true, minify: true, format: 'esm', write: false, platform: 'browser' });
  const gzipped = gzipSync(out.outputFiles[0]!.contents).length;
  console.log(`@outbid/client: ${gzipped} bytes min+gzip`);
  expect(gzipped).toBeLessThanOrEqual(6 * 1024);
});
