import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { launchChromium } from './chromium.js';
import { startServer, type RunningServer } from '@outbid/server';

/**
 * CORS and the Content-Security-Policy as a browser enforces them (Debian's Chromium via playwright-core): a page on
 * a listed origin reads and bids through the API (preflighted: Authorization, Idempotency-Key); a page on another
 * origin is refused by the browser; the docs page renders under the CSP with no violation.
 */
let api: RunningServer;
let browser: Browser;
let dataDir: string;
const pages: Server[] = [];

/** A one-page site on its own loopback port: a different origin from the API. */
async function site(): Promise<string> {
  const server = createServer((_req, res) => {
    res.setHeader('content-type', 'text/html');
    res.end('<!doctype html><title>front-end</title><p>front-end</p>');
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  pages.push(server);
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

let allowed = '';
let other = '';
beforeAll(async () => {
  [allowed, other] = [await site(), await site()];
  dataDir = mkdtempSync(join(tmpdir(), 'outbid-cors-'));
  api = await startServer({ OUTBID_AUTH: 'dev', OUTBID_DATA_DIR: dataDir, PORT: '0', HOST: '127.0.0.1', OUTBID_LOG_LEVEL: 'silent', OUTBID_CORS_ORIGINS: allowed });
  browser = await launchChromium();
}, 120_000);
afterAll(async () => {
  await browser?.close();
  await api?.close();
  for (const p of pages) p.close();
  if (dataDir) rmSync(dataDir, { recursive: true, force: true });
});

const tokenFor = async (userId: string, roles: string[]) =>
  ((await (await fetch(`${api.url}/dev/token`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ userId, roles }) })).json()) as { token: string }).token;

it('a page on a listed origin reads and bids cross-origin; a page on another origin is refused by the browser', async () => {
  const seller = await tokenFor('cors-seller', ['creator']);
  const created = await fetch(`${api.url}/auctions`, {
    method: 'POST',
    headers: { authorization: `Bearer ${seller}`, 'content-type': 'application/json' },
    body: JSON.stringify({ postId: 'cors-1', startAt: new Date().toISOString(), endAt: new Date(Date.now() + 600_000).toISOString(), startPrice: 1_000, minIncrement: 100 }),
  });
  const { auctionId } = (await created.json()) as { auctionId: string };
  const bidder = await tokenFor('cors-bidder', ['bidder', 'viewer']);

  const tryFromPage = async (origin: string) => {
    const page = await (await browser.newContext()).newPage();
    await page.goto(origin);
    return page.evaluate(
      async ({ base, id, token }) => {
        try {
          const read = await fetch(`${base}/auctions/${id}`, { headers: { authorization: `Bearer ${token}` } });
          const bid = await fetch(`${base}/auctions/${id}/bids`, {
            method: 'POST',
            headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json', 'idempotency-key': `page-${Math.random()}` },
            body: JSON.stringify({ amount: 1_000 }),
          });
          return { ok: true, read: read.status, etag: read.headers.get('etag'), bid: bid.status, body: await bid.json() };
        } catch (error) {
          return { ok: false, error: String(error) };
        }
      },
      { base: api.url, id: auctionId, token: bidder },
    );
  };

  const fromAllowed = await tryFromPage(allowed);
  expect(fromAllowed).toMatchObject({ ok: true, read: 200, etag: 'W/"1"', bid: 201, body: { status: 'accepted' } });
  const fromOther = await tryFromPage(other);
  expect(fromOther).toMatchObject({ ok: false, error: expect.stringMatching(/Failed to fetch/) });
}, 60_000);

it('the API docs page renders under the Content-Security-Policy, with no violation reported', async () => {
  const page = await (await browser.newContext()).newPage();
  const violations: string[] = [];
  page.on('console', (m) => {
    if (/Content.Security.Policy|Refused to/i.test(m.text())) violations.push(m.text());
  });
  const res = await page.goto(`${api.url}/docs`);
  expect(res?.headers()['content-security-policy']).toContain("frame-ancestors 'none'");
  await page.getByText('/auctions/{id}/bids', { exact: true }).first().waitFor(); // Swagger UI rendered the contract
  expect(violations).toEqual([]);
}, 60_000);
