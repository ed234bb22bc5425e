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

/** A condition a page must reach: bounded, never a claim about how fast. */
const SOON = { timeout: 10_000 };

async function devClient(userId: string, roles: string[]) {
  const response = await fetch(`${server.url}/dev/token`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ userId, roles }) });
  const { token } = (await response.json()) as { token: string };
  return createOutbidClient({ baseUrl: server.url, getToken: () => token });
}

const inTwoMinutes = () => ({ startAt: new Date().toISOString(), endAt: new Date(Date.now() + 120_000).toISOString() });

it('proxy bidding in two pages: a maximum answers a rival bid at once; "Reserve not met" shows until a maximum reaches it', async () => {
  const seller = await devClient('seller', ['creator']);
  const auction = await seller.createAuction({ postId: 'e2e-proxy', ...inTwoMinutes(), startPrice: 2_000, minIncrement: 100, reservePrice: 5_000 });
  const alice = await bidderPage('alice', auction.auctionId);
  const bob = await bidderPage('bob', auction.auctionId);
  for (const page of [alice, bob]) {
    await page.getByTestId('reserve').filter({ hasText: 'Reserve not met' }).waitFor({ state: 'visible', ...SOON });
    await page.getByTestId('buy-now').waitFor({ state: 'hidden', ...SOON }); // not offered on this auction
  }

  // Alice leaves a secret maximum of $30: she leads at the start price.
  await alice.getByLabel('Your maximum ($)').fill('30');
  await alice.getByTestId('bid-max').click();
  await alice.getByTestId('bid-answer').filter({ hasText: 'You are leading' }).waitFor(SOON);
  await bob.getByTestId('leader').filter({ hasText: 'alice' }).waitFor(SOON);
  await bob.getByTestId('price').filter({ hasText: '$20.00' }).waitFor(SOON);

  // Bob bids $21 and is outbid by her maximum at once: rejected, with the new price ($21 + $1 increment).
  await bob.getByTestId('bid').filter({ hasText: '$21.00' }).click();
  await bob.getByTestId('bid-answer').filter({ hasText: /Outbid at once.*the price is now \$22\.00/ }).waitFor(SOON);
  await bob.getByTestId('outbid').waitFor({ state: 'visible', ...SOON });
  await bob.getByTestId('price').filter({ hasText: '$22.00' }).waitFor(SOON);
  await bob.getByTestId('leader').filter({ hasText: 'alice' }).waitFor(SOON);
  // Alice's page follows the automatic bid and still shows her leading, without an outbid notice.
  await alice.getByTestId('price').filter({ hasText: '$22.00' }).waitFor(SOON);
  await expect(alice.getByTestId('leader').textContent()).resolves.toBe('alice');
  await expect(alice.getByTestId('outbid').isHidden()).resolves.toBe(true);
  for (const page of [alice, bob]) await expect(page.getByTestId('reserve').textContent()).resolves.toBe('Reserve not met');
  await alice.screenshot({ path: join(artifacts, '3-alice-leading-by-proxy.png') });
  await bob.screenshot({ path: join(artifacts, '3-bob-outbid-by-proxy.png') });

  // Bob leaves a $60 maximum: it beats hers and reaches the reserve, so the price jumps to the reserve ($50).
  await bob.getByLabel('Your maximum ($)').fill('60');
  await bob.getByTestId('bid-max').click();
  await bob.getByTestId('bid-answer').filter({ hasText: 'You are leading' }).waitFor(SOON);
  for (const page of [alice, bob]) {
    await page.getByTestId('price').filter({ hasText: '$50.00' }).waitFor(SOON);
    await page.getByTestId('reserve').filter({ hasText: 'Reserve met' }).waitFor(SOON);
    await page.getByTestId('leader').filter({ hasText: 'bob' }).waitFor(SOON);
  }
  await alice.getByTestId('outbid').waitFor({ state: 'visible', ...SOON });

  // The secrets never reach a page's state: no reserve amount, no maximum.
  const seen = await alice.evaluate(async (id) => {
    const response = await fetch(`/auctions/${id}`, { headers: { authorization: `Bearer ${sessionStorage.getItem('outbid.token')}` } });
    return { status: response.status, body: await response.text() };
  }, auction.auctionId);
  expect(seen.status).toBe(200);
  expect(seen.body).toContain('"reserveMet":true');
  expect(seen.body).not.toMatch(/reservePrice|leaderMax|maxAmount/);
  await alice.screenshot({ path: join(artifacts, '4-alice-outbid-reserve-met.png') });
  for (const page of [alice, bob]) await page.context().close();
}, 120_000);

it('Buy It Now: the button shows its price until the first bid; a purchase ends the auction on both pages', async () => {
  const seller = await devClient('seller', ['creator']);
  const offer = { ...inTwoMinutes(), startPrice: 2_000, minIncrement: 100, buyNowPrice: 10_000 };

  // The first bid takes Buy It Now away (the default policy), on every page.
  const first = await seller.createAuction({ postId: 'e2e-buy-now-1', ...offer });
  let alice = await bidderPage('alice', first.auctionId);
  let bob = await bidderPage('bob', first.auctionId);
  for (const page of [alice, bob]) {
    await page.getByTestId('buy-now').filter({ hasText: 'Buy It Now for $100.00' }).waitFor({ state: 'visible', ...SOON });
    await page.getByTestId('reserve').waitFor({ state: 'hidden', ...SOON }); // no reserve on this auction
  }
  await alice.getByTestId('bid').filter({ hasText: '$20.00' }).click();
  await bob.getByTestId('leader').filter({ hasText: 'alice' }).waitFor(SOON);
  for (const page of [alice, bob]) await page.getByTestId('buy-now').waitFor({ state: 'hidden', ...SOON });
  for (const page of [alice, bob]) await page.context().close();

  // Bob buys the second one: the auction ends at the Buy It Now price with him as the winner.
  const second = await seller.createAuction({ postId: 'e2e-buy-now-2', ...offer });
  alice = await bidderPage('alice', second.auctionId);
  bob = await bidderPage('bob', second.auctionId);
  await bob.getByTestId('buy-now').filter({ hasText: '$100.00' }).click();
  await bob.getByTestId('bid-answer').filter({ hasText: 'You bought it for $100.00' }).waitFor(SOON);
  for (const page of [alice, bob]) {
    await page.getByTestId('result').filter({ hasText: 'bob won at $100.00' }).waitFor(SOON);
    await page.getByTestId('buy-now').waitFor({ state: 'hidden', ...SOON });
    await expect(page.getByTestId('bid').isDisabled()).resolves.toBe(true);
  }
  await alice.screenshot({ path: join(artifacts, '5-alice-sees-bought.png') });
  await expect(seller.getAuction(second.auctionId)).resolves.toMatchObject({ status: 'ended', currentWinnerId: 'bob', currentPrice: 10_000 });
  // A second buyer is refused: the auction is over.
  const late = await (await devClient('carol', ['bidder'])).buyNow(second.auctionId);
  expect(late.status).not.toBe('accepted');
  for (const page of [alice, bob]) await page.context().close();
}, 120_000);
