import { generateKeyPairSync } from 'node:crypto';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { SignJWT, UnsecuredJWT, exportJWK, exportSPKI } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createOutbid } from '@outbid/core';
import { createApp, loadConfig, type Role } from '../src/index.js';
import { SECRET, harness, type Harness } from './harness.js';

let h: Harness;
let auctionId: string;
beforeAll(async () => {
  h = harness();
  auctionId = (await h.createAuction({}, 'owner')).auctionId;
});
afterAll(() => h.close());

type Who = 'anonymous' | 'viewer' | 'bidder' | 'creator (owner)' | 'creator (other)';
const WHO: Who[] = ['anonymous', 'viewer', 'bidder', 'creator (owner)', 'creator (other)'];
async function tokenFor(who: Who): Promise<string | undefined> {
  const roles: Record<Who, [string, Role[]] | null> = {
    anonymous: null,
    viewer: ['vic', ['viewer']],
    bidder: ['bea', ['bidder']],
    'creator (owner)': ['owner', ['creator']],
    'creator (other)': ['olga', ['creator']],
  };
  const r = roles[who];
  return r ? h.token(r[0], ...r[1]) : undefined;
}

// Expected status for every (route × role). 2xx/3xx means allowed; the body may still be a domain answer.
const MATRIX: Array<[string, string, (id: string) => { path: string; body?: unknown; headers?: Record<string, string> }, Record<Who, number>]> = [
  ['GET', 'read an auction', (id) => ({ path: `/auctions/${id}` }), { anonymous: 401, viewer: 200, bidder: 200, 'creator (owner)': 200, 'creator (other)': 200 }],
  ['GET', 'list auctions', () => ({ path: '/auctions' }), { anonymous: 401, viewer: 200, bidder: 200, 'creator (owner)': 200, 'creator (other)': 200 }],
  ['GET', 'bid history', (id) => ({ path: `/auctions/${id}/bids` }), { anonymous: 401, viewer: 200, bidder: 200, 'creator (owner)': 200, 'creator (other)': 200 }],
  ['GET', 'audit trail', (id) => ({ path: `/auctions/${id}/bids?include=all` }), { anonymous: 401, viewer: 403, bidder: 403, 'creator (owner)': 200, 'creator (other)': 403 }],
  ['GET', 'stream', (id) => ({ path: `/auctions/${id}/stream` }), { anonymous: 401, viewer: 200, bidder: 200, 'creator (owner)': 200, 'creator (other)': 200 }],
  ['POST', 'create', () => ({ path: '/auctions', body: { postId: `m-${Math.random()}`, startAt: '2030-01-01T00:00:00Z', endAt: '2030-01-02T00:00:00Z', startPrice: 1, minIncrement: 1 } }), { anonymous: 401, viewer: 403, bidder: 403, 'creator (owner)': 201, 'creator (other)': 201 }],
  ['POST', 'bid', (id) => ({ path: `/auctions/${id}/bids`, body: { amount: 1 }, headers: { 'idempotency-key': `m-${Math.random()}` } }), { anonymous: 401, viewer: 403, bidder: 409, 'creator (owner)': 403, 'creator (other)': 403 }],
  ['POST', 'start', (id) => ({ path: `/auctions/${id}/start` }), { anonymous: 401, viewer: 403, bidder: 403, 'creator (owner)': 200, 'creator (other)': 403 }],
  ['POST', 'end', (id) => ({ path: `/auctions/${id}/end` }), { anonymous: 401, viewer: 403, bidder: 403, 'creator (owner)': 200, 'creator (other)': 403 }],
  ['POST', 'cancel', (id) => ({ path: `/auctions/${id}/cancel` }), { anonymous: 401, viewer: 403, bidder: 403, 'creator (owner)': 200, 'creator (other)': 403 }],
];

describe('role matrix: every route × every role', () => {
  for (const [method, name, route, expected] of MATRIX) {
    for (const who of WHO) {
      it(`${name} as ${who} → ${expected[who]}`, async () => {
        // A fresh auction per cell, so an end or cancel in one cell does not change another.
        const id = method === 'POST' && ['start', 'end', 'cancel'].includes(name) ? (await h.createAuction({}, 'owner')).auctionId : auctionId;
        const { path, body, headers } = route(id);
        const token = await tokenFor(who);
        const res = await h.call(method, path, { ...(token ? { token } : {}), ...(body ? { body } : {}), ...(headers ? { headers } : {}) });
        expect(res.status).toBe(expected[who]);
        if (res.status === 401) expect(res.headers.get('www-authenticate')).toMatch(/^Bearer/);
        await res.body?.cancel();
      });
    }
  }
  it('the creator cannot bid on their own auction even with the bidder role (SELF_BID)', async () => {
    const both = await h.token('owner', 'creator', 'bidder');
    const res = await h.call('POST', `/auctions/${auctionId}/bids`, { token: both, body: { amount: 5_000 }, headers: { 'idempotency-key': 'self' } });
    expect([res.status, (await res.json()).reason]).toEqual([409, 'SELF_BID']);
  });
});

describe('JWT verification', () => {
  const claims = { roles: ['viewer'] };
  const read = (token: string) => h.call('GET', `/auctions/${auctionId}`, { token });
  const key = new TextEncoder().encode(SECRET);

  it('refuses every bad token with the same 401', async () => {
    const now = Math.floor(Date.now() / 1_000);
    const bad = [
      'not-a-jwt',
      new UnsecuredJWT(claims).setSubject('x').setExpirationTime('1h').encode(), // alg: none
      await new SignJWT(claims).setProtectedHeader({ alg: 'HS256' }).setSubject('x').setExpirationTime(now - 10).sign(key), // expired
      await new SignJWT(claims).setProtectedHeader({ alg: 'HS256' }).setSubject('x').setExpirationTime('1h').setNotBefore(now + 3_600).sign(key), // not yet valid
      await new SignJWT(claims).setProtectedHeader({ alg: 'HS256' }).setSubject('x').setExpirationTime('1h').sign(new TextEncoder().encode('another-secret-of-sufficient-length!!')),
      await new SignJWT(claims).setProtectedHeader({ alg: 'HS512' }).setSubject('x').setExpirationTime('1h').sign(new TextEncoder().encode(SECRET.padEnd(64, 'x'))),
      await new SignJWT(claims).setProtectedHeader({ alg: 'HS256' }).setExpirationTime('1h').sign(key), // no sub
      await new SignJWT(claims).setProtectedHeader({ alg: 'HS256' }).setSubject('x').sign(key), // no exp
    ];
    const answers = new Set<string>();
    for (const token of bad) {
      const res = await read(token);
      expect(res.status).toBe(401);
      answers.add(JSON.stringify(await res.json()));
    }
    expect(answers.size).toBe(1);
  });

  it('with a JWKS, a valid RS256 token passes and an HS256 token signed with the public key is refused', async () => {
    const { publicKey, privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const jwk = { ...(await exportJWK(publicKey)), kid: 'k1', alg: 'RS256', use: 'sig' };
    const server = createServer((_req, res) => {
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify({ keys: [jwk] }));
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const jwksUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}/jwks.json`;
    const app = createApp(createOutbid({ guardIntervalMs: 0 }), { auth: { mode: 'jwt', jwksUrl } });
    try {
      const good = await new SignJWT(claims).setProtectedHeader({ alg: 'RS256', kid: 'k1' }).setSubject('x').setExpirationTime('1h').sign(privateKey);
      expect((await app.request('/auctions', { headers: { authorization: `Bearer ${good}` } })).status).toBe(200);
      const pem = await exportSPKI(publicKey);
      const forged = await new SignJWT(claims).setProtectedHeader({ alg: 'HS256', kid: 'k1' }).setSubject('x').setExpirationTime('1h').sign(new TextEncoder().encode(pem));
      expect((await app.request('/auctions', { headers: { authorization: `Bearer ${forged}` } })).status).toBe(401);
    } finally {
      await app.gateway.close();
      server.close();
    }
  });

  it('issuer and audience are checked when configured', async () => {
    const strict = harness({ auth: { mode: 'jwt', secret: SECRET, issuer: 'https://id.example', audience: 'outbid' } });
    try {
      const sign = (iss: string, aud: string) =>
        new SignJWT(claims).setProtectedHeader({ alg: 'HS256' }).setSubject('x').setIssuer(iss).setAudience(aud).setExpirationTime('1h').sign(key);
      expect((await strict.call('GET', '/auctions', { token: await sign('https://id.example', 'outbid') })).status).toBe(200);
      expect((await strict.call('GET', '/auctions', { token: await sign('https://evil.example', 'outbid') })).status).toBe(401);
      expect((await strict.call('GET', '/auctions', { token: await sign('https://id.example', 'other') })).status).toBe(401);
    } finally {
      await strict.close();
    }
  });
});

describe('gateway mode', () => {
  it('trusts X-User-Id and X-User-Roles only with the shared secret', async () => {
    const g = harness({ auth: { mode: 'gateway', gatewaySecret: 'gateway-secret-123456' } });
    try {
      const ok = await g.call('GET', '/auctions', { headers: { 'x-gateway-secret': 'gateway-secret-123456', 'x-user-id': 'u1', 'x-user-roles': 'viewer' } });
      expect(ok.status).toBe(200);
      const forged = await g.call('GET', '/auctions', { headers: { 'x-gateway-secret': 'wrong-secret-1234567', 'x-user-id': 'u1', 'x-user-roles': 'creator' } });
      expect(forged.status).toBe(401);
      const noSecret = await g.call('POST', '/auctions', { headers: { 'x-user-id': 'u1', 'x-user-roles': 'creator' }, body: {} });
      expect(noSecret.status).toBe(401);
    } finally {
      await g.close();
    }
  });
});

describe('dev mode and configuration', () => {
  it('dev mode serves POST /dev/token and its tokens work; jwt mode has no such route', async () => {
    const dev = createApp(createOutbid({ guardIntervalMs: 0 }), { auth: { mode: 'dev', secret: 'a-generated-dev-secret-of-enough-length' } });
    const res = await dev.request('/dev/token', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ userId: 'demo', roles: ['creator'] }) });
    const { token } = (await res.json()) as { token: string };
    expect((await dev.request('/auctions', { headers: { authorization: `Bearer ${token}` } })).status).toBe(200);
    expect((await dev.request('/dev/token', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ userId: 'demo', roles: ['admin'] }) })).status).toBe(400);
    expect((await h.call('POST', '/dev/token', { body: { userId: 'x', roles: ['creator'] } })).status).toBe(404);
    await dev.gateway.close();
  });

  it('refuses to start in dev mode under NODE_ENV=production, and lists every bad variable', () => {
    expect(() => loadConfig({ NODE_ENV: 'production', OUTBID_AUTH: 'dev' })).toThrow(/Refusing to start/);
    expect(() => loadConfig({ PORT: 'abc', OUTBID_JWT_SECRET: 'short' })).toThrow(/PORT[\s\S]*OUTBID_JWT_SECRET/);
    expect(loadConfig({ NODE_ENV: 'production', OUTBID_JWT_SECRET: SECRET }).PORT).toBe(8787);
  });
});
