import SwaggerParser from '@apidevtools/swagger-parser';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { auctionResponse, bidAcceptedResponse, bidListResponse, bidRejectedResponse, problemResponseSchema } from '../src/schemas.js';
import { harness, type Harness } from './harness.js';

type Doc = {
  paths: Record<string, Record<string, { responses: Record<string, { content?: Record<string, { schema: { $ref?: string } }> }> }>>;
  components: { schemas: Record<string, { properties?: Record<string, unknown> }> };
};

let h: Harness;
let doc: Doc;
beforeAll(async () => {
  h = harness();
  doc = (await (await h.call('GET', '/openapi.json')).json()) as Doc;
});
afterAll(() => h.close());

const zodById = new Map<string, z.ZodType>(
  [auctionResponse, bidAcceptedResponse, bidRejectedResponse, bidListResponse, problemResponseSchema].map((s) => [z.globalRegistry.get(s)!.id!, s]),
);

/** The real response matches the component the document names for its path, method and status: fields and types. */
async function expectDocumented(res: Response, path: string, method: string) {
  const documented = doc.paths[path]?.[method]?.responses[String(res.status)];
  expect(documented, `${method.toUpperCase()} ${path} ${res.status} is documented`).toBeDefined();
  const [type, media] = Object.entries(documented!.content ?? {})[0] ?? [];
  expect(res.headers.get('content-type') ?? '').toContain(type);
  const id = media!.schema.$ref!.replace('#/components/schemas/', '');
  const body = (await res.json()) as Record<string, unknown>;
  expect(() => zodById.get(id)!.parse(body), `${method.toUpperCase()} ${path} ${res.status} matches ${id}`).not.toThrow();
  const properties = Object.keys(doc.components.schemas[id]!.properties ?? {});
  const extra = Object.keys(body).filter((k) => !properties.includes(k) && !(k === 'auctionId' && id === 'Auction'));
  expect(extra, `${id} documents every field sent`).toEqual([]);
}

describe('GET /openapi.json', () => {
  it('is a valid OpenAPI 3.1 document whose references all resolve', async () => {
    expect((doc as unknown as { openapi: string }).openapi).toBe('3.1.0');
    await expect(SwaggerParser.validate(structuredClone(doc) as never)).resolves.toBeDefined();
  });

  it('each route answers with the schema it documents', async () => {
    const creator = await h.token('seller', 'creator');
    const bidder = await h.token('alice', 'bidder');
    const created = await h.call('POST', '/auctions', {
      token: creator,
      body: { postId: 'p-openapi', startAt: new Date(Date.now() - 1_000).toISOString(), endAt: new Date(Date.now() + 600_000).toISOString(), startPrice: 1_000, minIncrement: 100 },
    });
    const { auctionId } = (await created.clone().json()) as { auctionId: string };
    await expectDocumented(created, '/auctions', 'post');
    const list = await h.call('GET', '/auctions', { token: bidder });
    expect(doc.paths['/auctions']?.get?.responses[String(list.status)]).toBeDefined();
    const page = (await list.json()) as { items: Array<Record<string, unknown>>; nextCursor: string | null };
    expect(page.items.length).toBeGreaterThan(0);
    for (const item of page.items) {
      expect(() => auctionResponse.parse(item)).not.toThrow();
      expect(Object.keys(item).filter((k) => !(k in doc.components.schemas.Auction!.properties!))).toEqual([]);
    }
    await expectDocumented(await h.call('GET', `/auctions/${auctionId}`, { token: bidder }), '/auctions/{id}', 'get');
    const bid = (amount: number, key: string) => h.call('POST', `/auctions/${auctionId}/bids`, { token: bidder, body: { amount }, headers: { 'idempotency-key': key } });
    await expectDocumented(await bid(1_000, 'k1'), '/auctions/{id}/bids', 'post');
    await expectDocumented(await bid(900, 'k2'), '/auctions/{id}/bids', 'post');
    await expectDocumented(await h.call('GET', `/auctions/${auctionId}/bids`, { token: bidder }), '/auctions/{id}/bids', 'get');
    await expectDocumented(await h.call('GET', `/auctions/${auctionId}/bids`), '/auctions/{id}/bids', 'get');
    await expectDocumented(await h.call('POST', `/auctions/${auctionId}/end`, { token: creator }), '/auctions/{id}/end', 'post');
    await expectDocumented(await h.call('POST', `/auctions/${auctionId}/cancel`, { token: creator }), '/auctions/{id}/cancel', 'post');
    await expectDocumented(await h.call('GET', '/auctions/nope', { token: bidder }), '/auctions/{id}', 'get');
  });

  it('proxy bids, the reserve and Buy It Now answer with the schemas they document', async () => {
    const creator = await h.token('seller', 'creator');
    const [alice, bob] = await Promise.all([h.token('alice', 'bidder'), h.token('bob', 'bidder')]);
    const create = (postId: string, extra: Record<string, unknown>) =>
      h.call('POST', '/auctions', {
        token: creator,
        body: { postId, startAt: new Date(Date.now() - 1_000).toISOString(), endAt: new Date(Date.now() + 600_000).toISOString(), startPrice: 1_000, minIncrement: 100, ...extra },
      });
    const created = await create('p-openapi-formats', { reservePrice: 3_000, buyNowPrice: 9_000, buyNowPolicy: 'reserve-met' });
    const { auctionId } = (await created.clone().json()) as { auctionId: string };
    expect(await created.clone().json()).toMatchObject({ reserveMet: false, buyNowPrice: 9_000, buyNowAvailable: true });
    await expectDocumented(created, '/auctions', 'post');
    const bid = (token: string, body: object, key: string) => h.call('POST', `/auctions/${auctionId}/bids`, { token, body, headers: { 'idempotency-key': key } });
    const proxy = await bid(alice, { maxAmount: 2_000 }, 'f1');
    expect(await proxy.clone().json()).toMatchObject({ status: 'accepted', maxAmount: 2_000, reserveMet: false, buyNowAvailable: true });
    await expectDocumented(proxy, '/auctions/{id}/bids', 'post');
    const outbid = await bid(bob, { amount: 1_500, maxAmount: 1_800 }, 'f2');
    expect(await outbid.clone().json()).toMatchObject({ status: 'rejected', reason: 'OUTBID_BY_PROXY', maxAmount: 1_800 });
    await expectDocumented(outbid, '/auctions/{id}/bids', 'post');
    const history = await h.call('GET', `/auctions/${auctionId}/bids`, { token: bob });
    expect(((await history.clone().json()) as { items: Array<{ automatic?: true }> }).items[0]).toMatchObject({ automatic: true });
    await expectDocumented(history, '/auctions/{id}/bids', 'get');
    await expectDocumented(await h.call('GET', `/auctions/${auctionId}`, { token: bob }), '/auctions/{id}', 'get');
    const bought = await h.call('POST', `/auctions/${auctionId}/buy-now`, { token: bob, headers: { 'idempotency-key': 'f3' } });
    expect(bought.status).toBe(201);
    await expectDocumented(bought, '/auctions/{id}/buy-now', 'post');
    const refused = await h.call('POST', `/auctions/${auctionId}/buy-now`, { token: alice, body: {}, headers: { 'idempotency-key': 'f4' } });
    expect(refused.status).toBe(409);
    await expectDocumented(refused, '/auctions/{id}/buy-now', 'post');
    await expectDocumented(await h.call('POST', `/auctions/${auctionId}/buy-now`, { token: alice, body: { amount: 1 }, headers: { 'idempotency-key': 'f5' } }), '/auctions/{id}/buy-now', 'post');
    const audit = await h.call('GET', `/auctions/${auctionId}/bids?include=all`, { token: creator });
    const items = ((await audit.clone().json()) as { items: Array<Record<string, unknown>> }).items;
    expect(items.some((b) => b.buyNow === true) && items.some((b) => typeof b.maxAmount === 'number')).toBe(true);
    await expectDocumented(audit, '/auctions/{id}/bids', 'get');
    const plain = await create('p-openapi-unavailable', { buyNowPrice: 9_000 });
    const other = ((await plain.json()) as { auctionId: string }).auctionId;
    await h.call('POST', `/auctions/${other}/bids`, { token: alice, body: { amount: 1_000 }, headers: { 'idempotency-key': 'g1' } });
    const unavailable = await h.call('POST', `/auctions/${other}/buy-now`, { token: bob, headers: { 'idempotency-key': 'g2' } });
    expect(await unavailable.clone().json()).toMatchObject({ reason: 'BUY_NOW_UNAVAILABLE' });
    await expectDocumented(unavailable, '/auctions/{id}/buy-now', 'post');
  });

  it('the live frame documents the reserve and Buy It Now fields', () => {
    const frame = doc.components.schemas.LiveFrame!.properties!;
    expect(Object.keys(frame)).toEqual(expect.arrayContaining(['reserveMet', 'buyNowPrice', 'buyNowAvailable']));
    expect(JSON.stringify(doc)).not.toMatch(/leaderMax/);
  });
});

describe('GET /docs', () => {
  it('renders /openapi.json with Swagger UI served from the installed package, not a CDN', async () => {
    const page = await (await h.call('GET', '/docs')).text();
    expect(page).toContain('/docs/swagger-ui-bundle.js');
    expect(page).not.toMatch(/https?:\/\//);
    const bundle = await h.call('GET', '/docs/swagger-ui-bundle.js');
    expect([bundle.status, bundle.headers.get('content-type')]).toEqual([200, 'text/javascript; charset=utf-8']);
    expect(await (await h.call('GET', '/docs/init.js')).text()).toContain("url: '/openapi.json'");
    expect((await h.call('GET', '/docs/package.json')).status).toBe(404);
  });
});
