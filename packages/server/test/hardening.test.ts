import { request as httpRequest } from 'node:http';
import { connect } from 'node:net';
import { SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createOutbid } from '@outbid/core';
import { eventually } from '@outbid/core/testing';
import { createApp, listenHost, loadConfig } from '../src/index.js';
import { requestHeader } from '../src/node-http.js';
import { SECRET, harness, type Harness } from './harness.js';
import { listen, openStream } from './socket.js';

const key = new TextEncoder().encode(SECRET);
const sign = (claims: Record<string, unknown>, sub = 'x') => new SignJWT(claims).setProtectedHeader({ alg: 'HS256' }).setSubject(sub).setExpirationTime('1h').sign(key);

let h: Harness;
let auctionId: string;
beforeAll(async () => {
  h = harness({ maxStreamsPerUser: 2, createRateLimit: { ratePerSecond: 0.001, burst: 3 }, metricsToken: 'metrics-token-0123456789', corsOrigins: ['http://allowed.test'] });
  auctionId = (await h.createAuction({}, 'owner')).auctionId;
});
afterAll(() => h.close());

describe('dev mode is opt-in only', () => {
  it('no authentication configured: the server refuses with one message naming every way to configure it', () => {
    for (const NODE_ENV of [undefined, 'staging', 'Production', 'production ', 'development']) {
      expect(() => loadConfig({ ...(NODE_ENV ? { NODE_ENV } : {}) })).toThrow(/no authentication is configured[\s\S]*OUTBID_JWT_SECRET[\s\S]*OUTBID_AUTH=dev/);
    }
  });

  it('an empty secret is a configuration error, not a reason to fall back to dev mode', () => {
    expect(() => loadConfig({ OUTBID_JWT_SECRET: '' })).toThrow(/OUTBID_JWT_SECRET/);
    expect(() => loadConfig({ OUTBID_AUTH: '' })).toThrow(/OUTBID_AUTH/);
    expect(() => loadConfig({ OUTBID_AUTH: 'gateway', OUTBID_GATEWAY_SECRET: '' })).toThrow(/OUTBID_GATEWAY_SECRET/);
  });

  it('OUTBID_AUTH=dev is refused under any spelling of production, and listens on loopback unless HOST says otherwise', () => {
    for (const NODE_ENV of ['production', 'Production', 'production ', ' PRODUCTION']) {
      expect(() => loadConfig({ OUTBID_AUTH: 'dev', NODE_ENV })).toThrow(/Refusing to start/);
    }
    expect(listenHost(loadConfig({ OUTBID_AUTH: 'dev' }))).toBe('127.0.0.1');
    expect(listenHost(loadConfig({ OUTBID_AUTH: 'dev', HOST: '0.0.0.0' }))).toBe('0.0.0.0');
    expect(listenHost(loadConfig({ OUTBID_JWT_SECRET: SECRET }))).toBe('0.0.0.0');
  });

  it('createApp without auth options refuses with a clear message', () => {
    const outbid = createOutbid({ guardIntervalMs: 0 });
    expect(() => createApp(outbid, undefined as never)).toThrow(/options\.auth is required/);
    expect(() => createApp(outbid, {} as never)).toThrow(/options\.auth is required/);
    return outbid.close();
  });
});

describe('text that no ledger can store is refused at the edge', () => {
  it('a NUL in a path id, a body id, a query filter or a token subject is a 4xx, never a 5xx, and changes nothing', async () => {
    const creator = await h.token('nul-creator', 'creator');
    const bidder = await h.token('nul-bidder', 'bidder');
    const before = await h.outbid.getAuction(auctionId);
    const answers = [
      await h.call('GET', `/auctions/${encodeURIComponent('a\u0000b')}`, { token: bidder }),
      await h.call('GET', `/auctions/${encodeURIComponent('a\u0000b')}/bids`, { token: bidder }),
      await h.call('POST', `/auctions/${encodeURIComponent('\u0000')}/bids`, { token: bidder, body: { amount: 5_000 }, headers: { 'idempotency-key': 'nul-1' } }),
      await h.call('POST', '/auctions', { token: creator, body: { postId: 'p\u0000', startAt: new Date().toISOString(), endAt: new Date(Date.now() + 60_000).toISOString(), startPrice: 1, minIncrement: 1 } }),
      await h.call('GET', `/auctions?creatorId=${encodeURIComponent('x\u0000')}`, { token: bidder }),
      await h.call('GET', '/auctions?postId=a%01b', { token: bidder }),
      await h.call('GET', `/auctions/${auctionId}/bids?cursor=${encodeURIComponent('\u0000')}`, { token: bidder }),
      await h.call('POST', `/auctions/${auctionId}/bids`, { token: await sign({ roles: ['bidder'] }, 'evil\u0000'), body: { amount: 5_000 }, headers: { 'idempotency-key': 'nul-2' } }),
    ];
    expect(answers.map((r) => r.status)).toEqual([400, 400, 400, 400, 400, 400, 400, 401]);
    for (const r of answers) expect(r.headers.get('content-type')).toBe('application/problem+json');
    expect((await h.outbid.getAuction(auctionId)).version).toBe(before.version);
  });
});

describe('JWT roles', () => {
  it('only an array of known roles counts; a string is not split into several roles', async () => {
    const create = (token: string) => h.call('POST', '/auctions', { token, body: { postId: `r-${Math.random()}`, startAt: new Date().toISOString(), endAt: new Date(Date.now() + 60_000).toISOString(), startPrice: 1, minIncrement: 1 } });
    expect((await create(await sign({ roles: 'viewer creator' }, 'r1'))).status).toBe(403);
    expect((await create(await sign({ roles: 'creator' }, 'r2'))).status).toBe(403);
    expect((await create(await sign({ roles: ['viewer', 'admin'] }, 'r3'))).status).toBe(403);
    expect((await create(await sign({ roles: ['viewer', 'creator'] }, 'r4'))).status).toBe(201);
  });

  it('the roles claim can be named, with a dotted path into an object (e.g. Keycloak realm_access.roles)', async () => {
    const named = harness({ auth: { mode: 'jwt', secret: SECRET, rolesClaim: 'realm_access.roles' } });
    try {
      const body = () => ({ postId: `k-${Math.random()}`, startAt: new Date().toISOString(), endAt: new Date(Date.now() + 60_000).toISOString(), startPrice: 1, minIncrement: 1 });
      const ok = await named.call('POST', '/auctions', { token: await sign({ realm_access: { roles: ['creator'] } }), body: body() });
      expect(ok.status).toBe(201);
      const plain = await named.call('POST', '/auctions', { token: await sign({ roles: ['creator'] }), body: body() });
      expect(plain.status).toBe(403); // `roles` is not the configured claim here
    } finally {
      await named.close();
    }
  });
});

describe('per-user limits beyond bids', () => {
  it('open streams are capped per user (429 + Retry-After); closing one frees its place', async () => {
    const server = await listen(h.app);
    const viewer = await h.token('stream-hog', 'viewer');
    const url = `${server.base}/auctions/${auctionId}/stream`;
    const first = await openStream(url, { authorization: `Bearer ${viewer}` });
    const second = await openStream(url, { authorization: `Bearer ${viewer}` });
    try {
      const third = await fetch(url, { headers: { authorization: `Bearer ${viewer}` } });
      expect(third.status).toBe(429);
      expect(third.headers.get('retry-after')).toMatch(/^\d+$/);
      expect(((await third.json()) as { code: string }).code).toBe('TOO_MANY_STREAMS');
      const other = await openStream(url, { authorization: `Bearer ${await h.token('someone-else', 'viewer')}` });
      expect(other.status).toBe(200); // per user
      other.close();
      first.close();
      await first.done;
      // The server sees the close a moment after the client does.
      await eventually(async () => {
        const again = await fetch(url, { headers: { authorization: `Bearer ${viewer}` } });
        await again.body?.cancel();
        expect(again.status).toBe(200);
      }, 5_000);
    } finally {
      second.close();
      await server.close();
    }
  });

  it('creating auctions is rate limited per user', async () => {
    const creator = await h.token('prolific', 'creator');
    const create = () => h.call('POST', '/auctions', { token: creator, body: { postId: `c-${Math.random()}`, startAt: new Date().toISOString(), endAt: new Date(Date.now() + 60_000).toISOString(), startPrice: 1, minIncrement: 1 } });
    const statuses = [];
    for (let i = 0; i < 4; i++) statuses.push((await create()).status);
    expect(statuses).toEqual([201, 201, 201, 429]);
    const refused = await create();
    expect(refused.headers.get('retry-after')).toMatch(/^\d+$/);
    expect((await h.call('POST', '/auctions', { token: await h.token('another', 'creator'), body: { postId: `c-${Math.random()}`, startAt: new Date().toISOString(), endAt: new Date(Date.now() + 60_000).toISOString(), startPrice: 1, minIncrement: 1 } })).status).toBe(201);
  });
});

describe('caching, metrics and headers', () => {
  it('an authenticated read is private and varies by Authorization; anonymous reads may be public', async () => {
    const read = await h.call('GET', `/auctions/${auctionId}`, { token: await h.token('v', 'viewer') });
    expect(read.headers.get('cache-control')).toMatch(/^private/);
    expect(read.headers.get('vary')).toMatch(/authorization/i);
    const open = harness({ anonymousReads: true });
    try {
      const { auctionId: id } = await open.createAuction();
      const anon = await open.call('GET', `/auctions/${id}`);
      expect(anon.headers.get('cache-control')).toMatch(/^public/);
    } finally {
      await open.close();
    }
  });

  it('/metrics needs its token when one is configured', async () => {
    expect((await h.call('GET', '/metrics')).status).toBe(401);
    expect((await h.call('GET', '/metrics', { headers: { authorization: 'Bearer wrong-token-0123456789' } })).status).toBe(401);
    const ok = await h.call('GET', '/metrics', { headers: { authorization: 'Bearer metrics-token-0123456789' } });
    expect(ok.status).toBe(200);
    expect(await ok.text()).toContain('outbid_sse_open_streams');
  });

  it('security headers on pages and API answers: nosniff, no framing, a CSP without inline scripts', async () => {
    for (const path of ['/docs', '/healthz', `/auctions/${auctionId}`]) {
      const res = await h.call('GET', path, { token: await h.token('v', 'viewer') });
      expect(res.headers.get('x-content-type-options')).toBe('nosniff');
      const csp = res.headers.get('content-security-policy') ?? '';
      expect(csp).toContain("frame-ancestors 'none'");
      expect(csp).toContain("script-src 'self'");
      expect(csp).not.toContain('unsafe-inline\'; script');
    }
    const docs = await (await h.call('GET', '/docs')).text();
    expect(docs).not.toMatch(/<script>(?!<\/script>)/); // every script is a file the CSP allows
    expect((await h.call('GET', '/docs/init.js')).headers.get('content-type')).toMatch(/^text\/javascript/);
  });

  it('CORS: a listed origin may call the API (preflight and answer); others get no CORS grant', async () => {
    const preflight = await h.app.request(`/auctions/${auctionId}/bids`, {
      method: 'OPTIONS',
      headers: { origin: 'http://allowed.test', 'access-control-request-method': 'POST', 'access-control-request-headers': 'authorization, content-type, idempotency-key' },
    });
    expect(preflight.status).toBe(204);
    expect(preflight.headers.get('access-control-allow-origin')).toBe('http://allowed.test');
    expect(preflight.headers.get('access-control-allow-headers')?.toLowerCase()).toContain('idempotency-key');
    const read = await h.call('GET', `/auctions/${auctionId}`, { token: await h.token('v', 'viewer'), headers: { origin: 'http://allowed.test' } });
    expect(read.headers.get('access-control-allow-origin')).toBe('http://allowed.test');
    expect(read.headers.get('access-control-expose-headers')?.toLowerCase()).toContain('etag');
    const other = await h.call('GET', `/auctions/${auctionId}`, { token: await h.token('v', 'viewer'), headers: { origin: 'http://evil.test' } });
    expect(other.headers.get('access-control-allow-origin')).toBeNull();
    const none = harness();
    try {
      expect((await none.app.request('/auctions', { method: 'OPTIONS', headers: { origin: 'http://allowed.test', 'access-control-request-method': 'GET' } })).headers.get('access-control-allow-origin')).toBeNull();
    } finally {
      await none.close();
    }
  });
});

describe('connections', () => {
  it('a 413 closes its connection explicitly, so a pooled client’s next request does not hit a dead socket', async () => {
    const server = await listen(h.app);
    try {
      const token = await h.token('big', 'bidder');
      const chunked = () => new ReadableStream({ start: (c) => { for (let i = 0; i < 64; i++) c.enqueue(new TextEncoder().encode('x'.repeat(1_024))); c.close(); } });
      for (let round = 0; round < 4; round++) {
        // With a Content-Length (refused before reading) and chunked (refused part-way through the body).
        const body = round % 2 === 0 ? { body: JSON.stringify({ amount: 1, pad: 'x'.repeat(64 * 1024) }) } : { body: chunked(), duplex: 'half' };
        const big = await fetch(`${server.base}/auctions/${auctionId}/bids`, {
          method: 'POST',
          headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json', 'idempotency-key': `big-${round}` },
          ...body,
        } as RequestInit);
        expect(big.status).toBe(413);
        expect(big.headers.get('connection')).toBe('close');
        await big.body?.cancel();
        const next = await fetch(`${server.base}/healthz`);
        expect(next.status).toBe(200);
        await next.body?.cancel();
      }
    } finally {
      await server.close();
    }
  });

  it('a body read straight off the socket decodes as fetch does: split multi-byte characters, a byte order mark', async () => {
    const server = await listen(h.app);
    // Two writes with a pause between, the euro sign's three bytes split across them, after a UTF-8 byte order mark.
    const post = (path: string, token: string, parts: Buffer[]) =>
      new Promise<{ status: number; body: string }>((resolve, reject) => {
        const length = parts.reduce((n, p) => n + p.length, 0);
        const req = httpRequest(`${server.base}${path}`, {
          method: 'POST',
          headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json', 'content-length': length, 'idempotency-key': `split-${path}` },
        });
        req.on('response', (res) => {
          let body = '';
          res.setEncoding('utf8').on('data', (d: string) => (body += d)).on('end', () => resolve({ status: res.statusCode!, body }));
        });
        req.on('error', reject);
        req.write(parts[0]);
        setTimeout(() => req.end(parts[1]), 50);
      });
    try {
      const now = Date.now();
      const json = Buffer.from(
        JSON.stringify({ postId: 'split-€-post', startAt: new Date(now - 1_000).toISOString(), endAt: new Date(now + 600_000).toISOString(), startPrice: 1_000, minIncrement: 100 }),
      );
      const euro = json.indexOf(Buffer.from('€'));
      const created = await post('/auctions', await h.token('split-owner', 'creator'), [Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), json.subarray(0, euro + 1)]), json.subarray(euro + 1)]);
      expect(created.status, created.body).toBe(201);
      const auction = JSON.parse(created.body) as { auctionId: string; postId: string };
      expect(auction.postId).toBe('split-€-post');
      const bid = await post(`/auctions/${auction.auctionId}/bids`, await h.token('split-bidder', 'bidder'), [Buffer.from('{"amou'), Buffer.from('nt":1100}')]);
      expect(bid.status, bid.body).toBe(201);
      expect(JSON.parse(bid.body)).toMatchObject({ status: 'accepted', currentPrice: 1_100 });
    } finally {
      await server.close();
    }
  });

  it('request headers read straight off Node\'s request are what c.req.header reads: repeats joined, edge whitespace gone', async () => {
    const names = ['x-dup', 'authorization', 'content-type', 'idempotency-key', 'x-spaced', 'x-absent'];
    const fresh = harness({}); // routes can be added only before an app's first request
    fresh.app.get('/probe-headers', (c) => c.json({ ours: names.map((n) => requestHeader(c, n) ?? null), hono: names.map((n) => c.req.header(n) ?? null) }));
    const server = await listen(fresh.app);
    try {
      const { port } = new URL(server.base);
      const head = [
        'GET /probe-headers HTTP/1.1', 'Host: 127.0.0.1', 'Connection: close', 'X-Dup: one ', 'x-dup:\ttwo', 'AUTHORIZATION: Bearer a',
        'authorization: Bearer b', 'Content-Type: application/json', 'Idempotency-Key: k-1', 'X-Spaced:   a  b   ',
      ];
      const text = await new Promise<string>((resolve, reject) => {
        const socket = connect(Number(port), '127.0.0.1', () => socket.end(`${head.join('\r\n')}\r\n\r\n`));
        let got = '';
        socket.setEncoding('utf8').on('data', (d: string) => (got += d)).on('end', () => resolve(got)).on('error', reject);
      });
      const { ours, hono } = JSON.parse(text.slice(text.indexOf('\r\n\r\n') + 4)) as { ours: unknown[]; hono: unknown[] };
      expect(ours).toEqual(hono);
      expect(ours).toEqual(['one, two', 'Bearer a, Bearer b', 'application/json', 'k-1', 'a  b', null]);
    } finally {
      await server.close();
      await fresh.close();
    }
  });

  it('a bid is answered without copying its request or its answer headers into a WHATWG Headers, and with every security header', async () => {
    // @hono/node-server copies the request's on the first c.req.header call, under a symbol of its own; its light
    // Response keeps a plain record of headers (the third entry under its `cache` symbol) until someone reads them.
    const underSymbol = (o: object, name: string) => {
      const key = Object.getOwnPropertySymbols(o).find((s) => s.description === name);
      return key === undefined ? undefined : (o as Record<symbol, unknown>)[key];
    };
    const copiedIn = (raw: Request) => underSymbol(raw, 'headersKey') !== undefined;
    const copiedOut = (res: Response) => {
      const cache = underSymbol(res, 'cache') as unknown[] | undefined;
      return cache === undefined || cache[2] instanceof Headers;
    };
    const seen: Array<[boolean, boolean]> = [];
    const fresh = harness({}); // without the CORS of `h`, which reads Origin through Hono
    const { auctionId } = await fresh.createAuction({}, 'headers-owner');
    const fetchAndLook = async (request: Request, env: unknown) => {
      const response = await fresh.app.fetch(request, env);
      seen.push([copiedIn(request), copiedOut(response)]);
      return response;
    };
    const server = await listen({ fetch: fetchAndLook } as unknown as typeof fresh.app);
    try {
      const token = await fresh.token('headers-bidder', 'bidder');
      const bid = () =>
        fetch(`${server.base}/auctions/${auctionId}/bids`, {
          method: 'POST',
          headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json', 'idempotency-key': 'headers-1' },
          body: JSON.stringify({ amount: 1 }),
        });
      const answers = [await bid(), await bid()];
      expect(answers.map((a) => a.status)).toEqual([409, 409]);
      expect(answers[1]!.headers.get('idempotent-replayed')).toBe('true');
      // The control: a route that reads a header through Hono (if-none-match) and answers through c.json copies both.
      const read = await fetch(`${server.base}/auctions/${auctionId}`, { headers: { authorization: `Bearer ${token}`, 'if-none-match': 'W/"0"' } });
      expect(read.status).toBe(200);
      expect(seen).toEqual([[false, false], [false, false], [true, true]]);
      // Every security header of any other answer, with the same value.
      const entriesOf = (headers: Headers) => {
        const entries: Array<[string, string]> = [];
        headers.forEach((value, name) => entries.push([name, value]));
        return entries;
      };
      const security = (res: Response) => entriesOf(res.headers).filter(([name]) => !/^(content-|cache-control|etag|vary|date|connection|keep-alive|idempotent-replayed)/.test(name));
      expect(security(read).length).toBeGreaterThan(8);
      for (const answer of answers) expect(security(answer)).toEqual(security(read));
      for (const res of [...answers, read]) await res.body?.cancel();
    } finally {
      await server.close();
      await fresh.close();
    }
  });

  it('a request without a body never builds the WHATWG Request (an SSE viewer would keep it for its whole life)', async () => {
    // @hono/node-server builds the Request (AbortController, URL, Headers) lazily, under a symbol of its own.
    const built = (raw: Request) => Object.getOwnPropertySymbols(raw).some((s) => s.description === 'requestCache' && (raw as unknown as Record<symbol, unknown>)[s] !== undefined);
    const fresh = harness({}); // routes can be added only before an app's first request
    fresh.app.get('/probe-request', (c) => c.json({ built: built(c.req.raw) }));
    fresh.app.get('/probe-signal', (c) => {
      void c.req.raw.signal; // the control: touching the signal builds it
      return c.json({ built: built(c.req.raw) });
    });
    const server = await listen(fresh.app);
    try {
      const get = async (path: string) => (await (await fetch(`${server.base}/${path}`)).json()) as { built: boolean };
      expect(await get('probe-signal')).toEqual({ built: true });
      expect(await get('probe-request')).toEqual({ built: false });
    } finally {
      await server.close();
      await fresh.close();
    }
  });
});
