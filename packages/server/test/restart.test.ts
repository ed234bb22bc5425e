import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { eventually } from '@outbid/core/testing';
import { expect, it } from 'vitest';
import { startServer } from '../src/index.js';

const SECRET = 'restart-test-secret-at-least-32-characters';

it.each([
  ['in a worker thread (the default)', 'true'],
  ['on the event loop', 'false'],
])('the embedded default keeps auctions and bid history across a restart, and ends auctions after it: PGlite %s', async (_, thread) => {
  const dataDir = mkdtempSync(join(tmpdir(), 'outbid-restart-'));
  const env = {
    OUTBID_DATA_DIR: dataDir,
    OUTBID_PGLITE_THREAD: thread,
    PORT: '0',
    HOST: '127.0.0.1',
    OUTBID_JWT_SECRET: SECRET,
    OUTBID_LOG_LEVEL: 'silent',
    OUTBID_GUARD_INTERVAL_MS: '500',
  };
  const { issueDevToken } = await import('../src/index.js');
  const seller = await issueDevToken(SECRET, 'seller', ['creator']);
  const alice = await issueDevToken(SECRET, 'alice', ['bidder']);
  const bob = await issueDevToken(SECRET, 'bob', ['bidder']);
  const json = { 'content-type': 'application/json' };
  try {
    let server = await startServer(env);
    expect(server.outbid.ledger.name).toBe('pglite');
    const post = (path: string, token: string, body: unknown, headers: Record<string, string> = {}) =>
      fetch(`${server.url}${path}`, { method: 'POST', headers: { ...json, authorization: `Bearer ${token}`, ...headers }, body: JSON.stringify(body) });
    // The auction must still be open after the restart: 15 s leaves room for a slow, loaded machine (4 s did not:
    // a CI run beside a test loop took longer to get there, and found the auction ended).
    const endAt = Date.now() + 15_000;
    const created = (await (await post('/auctions', seller, { postId: 'restart', startAt: new Date().toISOString(), endAt: new Date(endAt).toISOString(), startPrice: 100, minIncrement: 10 })).json()) as { auctionId: string };
    const id = created.auctionId;
    const first = await post(`/auctions/${id}/bids`, alice, { amount: 100 }, { 'idempotency-key': 'a1' });
    const firstBody = await first.text();
    expect(first.status).toBe(201);
    expect((await post(`/auctions/${id}/bids`, bob, { amount: 120 }, { 'idempotency-key': 'b1' })).status).toBe(201);
    await server.close();

    server = await startServer(env);
    const get = (path: string) => fetch(`${server.url}${path}`, { headers: { authorization: `Bearer ${alice}` } });
    expect(await (await get(`/auctions/${id}`)).json()).toMatchObject({ version: 3, currentPrice: 120, currentWinnerId: 'bob', bidCount: 2, status: 'active' });
    const history = (await (await get(`/auctions/${id}/bids`)).json()) as { items: Array<{ bidderId: string; amount: number; version: number }> };
    expect(history.items.map((b) => [b.version, b.bidderId, b.amount])).toEqual([[3, 'bob', 120], [2, 'alice', 100]]);
    // A retry after the restart still gets the first answer, byte for byte, and places nothing.
    const retry = await post(`/auctions/${id}/bids`, alice, { amount: 100 }, { 'idempotency-key': 'a1' });
    expect([retry.status, retry.headers.get('idempotent-replayed'), await retry.text()]).toEqual([201, 'true', firstBody]);
    expect((await post(`/auctions/${id}/bids`, alice, { amount: 130 }, { 'idempotency-key': 'a2' })).status).toBe(201);
    // The end timer was re-armed from the ledger: the auction ends without traffic, within 5 s of its end.
    await eventually(
      async () => expect(await (await get(`/auctions/${id}`)).json()).toMatchObject({ status: 'ended', currentWinnerId: 'alice', currentPrice: 130, version: 5 }),
      Math.max(0, endAt + 5_000 - Date.now()),
      250,
    );
    await server.close();
  } finally {
    rmSync(dataDir, { recursive: true, force: true });
  }
}, 60_000);

it('after a restart, a retry gets its first answer byte for byte even when another bid loaded the auction first (accepted and rejected)', async () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'outbid-restart-'));
  const env = { OUTBID_DATA_DIR: dataDir, PORT: '0', HOST: '127.0.0.1', OUTBID_JWT_SECRET: SECRET, OUTBID_LOG_LEVEL: 'silent' };
  const { issueDevToken } = await import('../src/index.js');
  const [seller, x, y, z] = await Promise.all([
    issueDevToken(SECRET, 'seller', ['creator']),
    issueDevToken(SECRET, 'x', ['bidder']),
    issueDevToken(SECRET, 'y', ['bidder']),
    issueDevToken(SECRET, 'z', ['bidder']),
  ]);
  let server = await startServer(env);
  const post = (path: string, token: string, body: unknown, headers: Record<string, string> = {}) =>
    fetch(`${server.url}${path}`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${token}`, ...headers }, body: JSON.stringify(body) });
  try {
    const { auctionId: id } = (await (await post('/auctions', seller, { postId: 'retry-after-restart', startAt: new Date().toISOString(), endAt: new Date(Date.now() + 600_000).toISOString(), startPrice: 100, minIncrement: 10 })).json()) as { auctionId: string };
    const accepted = await post(`/auctions/${id}/bids`, x, { amount: 100 }, { 'idempotency-key': 'k' });
    const acceptedBody = await accepted.text();
    expect(accepted.status).toBe(201);
    const rejected = await post(`/auctions/${id}/bids`, z, { amount: 105 }, { 'idempotency-key': 'low' });
    const rejectedBody = await rejected.text();
    expect(rejected.status).toBe(409);
    await server.close();

    server = await startServer(env);
    // Another bidder loads the auction into the fresh engine first.
    expect((await post(`/auctions/${id}/bids`, y, { amount: 50 }, { 'idempotency-key': 'y1' })).status).toBe(409);
    const retryAccepted = await post(`/auctions/${id}/bids`, x, { amount: 100 }, { 'idempotency-key': 'k' });
    expect([retryAccepted.status, retryAccepted.headers.get('idempotent-replayed'), await retryAccepted.text()]).toEqual([201, 'true', acceptedBody]);
    const retryRejected = await post(`/auctions/${id}/bids`, z, { amount: 105 }, { 'idempotency-key': 'low' });
    expect([retryRejected.status, retryRejected.headers.get('idempotent-replayed'), await retryRejected.text()]).toEqual([409, 'true', rejectedBody]);
    const history = (await (await fetch(`${server.url}/auctions/${id}/bids`, { headers: { authorization: `Bearer ${x}` } })).json()) as { items: unknown[] };
    expect(history.items).toHaveLength(1);
  } finally {
    await server.close();
    rmSync(dataDir, { recursive: true, force: true });
  }
}, 60_000);
