import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { launchChromium } from './chromium.js';
import { createOutbidClient } from '@outbid/client';
import { issueDevToken, startServer, type RunningServer } from '@outbid/server';

/**
 * The demo page in real headless Chromium (Debian's /usr/bin/chromium, driven by playwright-core): two bidders in
 * two browser contexts, a server restart mid-auction, the end. Screenshots go to .test-artifacts/.
 */
const root = resolve(import.meta.dirname, '..');
const artifacts = resolve(root, '../../.test-artifacts/e2e');
let server: RunningServer;
let browser: Browser;
let dataDir: string;
let port = 0;
const env = () => ({ OUTBID_AUTH: 'dev', OUTBID_DATA_DIR: dataDir, PORT: String(port), HOST: '127.0.0.1', OUTBID_LOG_LEVEL: 'silent', OUTBID_HEARTBEAT_MS: '1000', OUTBID_DEMO_DIR: join(root, 'dist') });

beforeAll(async () => {
  execFileSync('npx', ['vite', 'build', '--logLevel', 'warn'], { cwd: root, stdio: 'inherit' });
  mkdirSync(artifacts, { recursive: true });
  dataDir = mkdtempSync(join(tmpdir(), 'outbid-e2e-'));
  server = await startServer(env());
  port = server.port;
  browser = await launchChromium();
}, 120_000);
afterAll(async () => {
  await browser?.close();
  await server?.close();
  if (dataDir) rmSync(dataDir, { recursive: true, force: true });
});

async function bidderPage(name: string, auctionId: string): Promise<Page> {
  const context = await browser.newContext();
  const page = await context.newPage();
  await page.goto(`${server.url}/`);
  await page.getByTestId('name').fill(name);
  await page.getByTestId('signin-bidder').click();
  await page.getByTestId('me').filter({ hasText: name }).waitFor();
  await page.goto(`${server.url}/#/auction/${auctionId}`);
  await page.getByTestId('connection').filter({ hasText: 'live' }).waitFor();
  return page;
}

it('two bidders: a bid shows on the other page within a second with an outbid notice; both survive a server restart and see the winner', async () => {
  // In dev mode the server signs tokens with a secret it generated; the page gets them from /dev/token.
  const tokenFor = async (userId: string, roles: string[]) =>
    ((await (await fetch(`${server.url}/dev/token`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ userId, roles }) })).json()) as { token: string }).token;
  void issueDevToken;
  const sellerToken = await tokenFor('seller', ['creator']);
  const seller = createOutbidClient({ baseUrl: server.url, getToken: () => sellerToken });
  const auction = await seller.createAuction({ postId: 'e2e-camera', startAt: new Date().toISOString(), endAt: new Date(Date.now() + 120_000).toISOString(), startPrice: 2_000, minIncrement: 100 });

  const alice = await bidderPage('alice', auction.auctionId);
  const bob = await bidderPage('bob', auction.auctionId);
  await expect(alice.getByTestId('price').textContent()).resolves.toBe('$20.00');

  await alice.getByTestId('bid').click();
  const bidAt = Date.now();
  await bob.getByTestId('price').filter({ hasText: '$20.00' }).waitFor();
  await bob.getByTestId('leader').filter({ hasText: 'alice' }).waitFor({ timeout: 1_000 });
  expect(Date.now() - bidAt).toBeLessThan(1_000 + 500); // the click's own round trip included

  await bob.getByTestId('bid').filter({ hasText: '$21.00' }).click();
  await alice.getByTestId('outbid').waitFor({ state: 'visible', timeout: 1_000 });
  await alice.getByTestId('price').filter({ hasText: '$21.00' }).waitFor();
  await alice.screenshot({ path: join(artifacts, '1-alice-outbid.png') });
  await bob.screenshot({ path: join(artifacts, '1-bob-leading.png') });

  // The server goes away and comes back (same port, same data): the pages recover without a reload.
  await server.close();
  await alice.getByTestId('connection').filter({ hasText: 'reconnecting' }).waitFor({ timeout: 10_000 });
  server = await startServer(env());
  await alice.getByTestId('connection').filter({ hasText: 'live' }).waitFor({ timeout: 20_000 });
  await bob.getByTestId('connection').filter({ hasText: 'live' }).waitFor({ timeout: 20_000 });
  await alice.getByTestId('bid').filter({ hasText: '$22.00' }).click();
  await bob.getByTestId('price').filter({ hasText: '$22.00' }).waitFor({ timeout: 2_000 });
  await bob.getByTestId('outbid').waitFor({ state: 'visible', timeout: 2_000 });

  await seller.endAuction(auction.auctionId);
  for (const page of [alice, bob]) await page.getByTestId('result').filter({ hasText: 'alice won at $22.00' }).waitFor({ timeout: 3_000 });
  await alice.screenshot({ path: join(artifacts, '2-alice-won.png') });
  await bob.screenshot({ path: join(artifacts, '2-bob-ended.png') });
}, 120_000);
