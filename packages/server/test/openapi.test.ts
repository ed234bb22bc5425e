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
