import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { startServer, type RunningServer } from '@outbid/server';
import { createOutbidClient, type WatchSnapshot } from '../src/index.js';
import { until } from './scripted.js';

let dataDir: string;
let server: RunningServer;
const env = () => ({ OUTBID_DATA_DIR: dataDir, PORT: String(port), HOST: '127.0.0.1', OUTBID_LOG_LEVEL: 'silent', OUTBID_JWT_SECRET: 'sdk-contract-test-secret-32-characters!', OUTBID_HEARTBEAT_MS: '500' });
let port = 0;
beforeAll(async () => {
  dataDir = mkdtempSync(join(tmpdir(), 'outbid-sdk-'));
  server = await startServer(env());
  port = server.port;
});
afterAll(async () => {
  await server?.close();
  rmSync(dataDir, { recursive: true, force: true });
});

it('talks to the real server: create, watch, bid, be outbid, survive a server restart, see the end', async () => {
  const { issueDevToken } = await import('@outbid/server');
  const secret = env().OUTBID_JWT_SECRET;
  const baseUrl = `http://127.0.0.1:${port}`;
  const seller = createOutbidClient({ baseUrl, getToken: () => issueDevToken(secret, 'seller', ['creator']) });
  const alice = createOutbidClient({ baseUrl, getToken: () => issueDevToken(secret, 'alice', ['bidder', 'viewer']) });
  const bob = createOutbidClient({ baseUrl, getToken: () => issueDevToken(secret, 'bob', ['bidder', 'viewer']) });
  const created = await seller.createAuction({ postId: 'sdk', startAt: new Date().toISOString(), endAt: new Date(Date.now() + 60_000).toISOString(), startPrice: 500, minIncrement: 50 });
  const seen: WatchSnapshot[] = [];
  const stop = alice.watchAuction(created.auctionId, (s) => seen.push(s), { heartbeatMs: 500, baseDelayMs: 50, maxDelayMs: 200 });
  await until(() => seen.at(-1)?.auction?.version === 1, 5_000);

  expect(await alice.placeBid(created.auctionId, 500)).toMatchObject({ status: 'accepted', currentWinnerId: 'alice', minNextBid: 550 });
  const outbid = await bob.placeBid(created.auctionId, 500);
  expect(outbid).toMatchObject({ status: 'rejected', reason: 'BID_TOO_LOW', minNextBid: 550 });
  expect(await bob.placeBid(created.auctionId, 550)).toMatchObject({ status: 'accepted' });
  await until(() => seen.at(-1)?.auction?.winnerId === 'bob', 5_000); // alice sees she was outbid
  expect(alice.remainingMs(created.endAt)).toBeGreaterThan(50_000);

  await server.close(); // the server goes away mid-watch...
  await until(() => seen.some((s) => s.connection === 'reconnecting'), 5_000);
  server = await startServer(env()); // ...and comes back on the same port and data
  expect(await alice.placeBid(created.auctionId, 650)).toMatchObject({ status: 'accepted', version: 4 });
  await until(() => seen.at(-1)?.auction?.version === 4 && seen.at(-1)?.connection === 'live', 10_000);

  await seller.endAuction(created.auctionId);
  await until(() => seen.at(-1)?.connection === 'closed', 5_000);
  expect(seen.at(-1)).toMatchObject({ auction: { status: 'ended', winnerId: 'alice', currentPrice: 650 }, error: null });
  const versions = seen.map((s) => s.auction?.version ?? 0);
  for (let i = 1; i < versions.length; i++) expect(versions[i]!).toBeGreaterThanOrEqual(versions[i - 1]!);
  stop();
}, 60_000);
