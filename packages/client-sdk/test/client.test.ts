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
