import fc from 'fast-check';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { harness, type Harness } from './harness.js';

let h: Harness;
let tokens: string[];
let auctionId: string;
beforeAll(async () => {
  h = harness({ bidRateLimit: { ratePerSecond: 1e9, burst: 1e9 } });
  auctionId = (await h.createAuction({}, 'seller')).auctionId;
  tokens = [await h.token('seller', 'creator'), await h.token('bidder', 'bidder'), await h.token('viewer', 'viewer'), 'garbage.token.here', ''];
});
afterAll(() => h.close());

const junk = fc.oneof(
  fc.string(),
  fc.json(),
  fc.constantFrom('{', '[]', 'null', '{"amount":', '{"amount":1e309}', '{"amount":"1"}', '{"amount":1,"bidderId":"x"}', '{"amount":-0}', '\u0000', '{"postId":{}}'),
  fc.anything().map((v) => {
    try {
      return JSON.stringify(v) ?? 'undefined';
    } catch {
      return '"cyclic"';
    }
  }),
  fc.record({ amount: fc.oneof(fc.double(), fc.integer(), fc.string(), fc.constant(null), fc.bigInt().map(String)) }).map((o) => JSON.stringify(o)),
  fc.record(
    {
      postId: fc.oneof(fc.string(), fc.integer()),
      startAt: fc.oneof(fc.string(), fc.date({ noInvalidDate: true }).map((d) => d.toISOString()), fc.integer()),
      endAt: fc.oneof(fc.string(), fc.date({ noInvalidDate: true }).map((d) => d.toISOString())),
      startPrice: fc.oneof(fc.double(), fc.integer({ min: -10, max: 10 }), fc.constant(1e16)),
      minIncrement: fc.oneof(fc.double(), fc.integer({ min: -10, max: 10 })),
      incrementTable: fc.array(fc.record({ from: fc.integer(), increment: fc.integer() }), { maxLength: 3 }),
      softClose: fc.record({ windowMs: fc.integer(), extendMs: fc.double(), mode: fc.string() }),
    },
    { requiredKeys: [] },
  ).map((o) => JSON.stringify(o)),
);

const path = fc.oneof(
  fc.constantFrom('/auctions', '/auctions/', `/auctions/AUCTION`, `/auctions/AUCTION/bids`, `/auctions/AUCTION/start`, `/auctions/AUCTION/end`, `/auctions/AUCTION/cancel`, `/auctions/AUCTION/stream`),
  fc.string().map((s) => `/auctions/${encodeURIComponent(s)}`),
  fc.tuple(fc.constantFrom('/auctions?', `/auctions/AUCTION/bids?`), fc.dictionary(fc.constantFrom('status', 'creatorId', 'cursor', 'limit', 'include', 'x'), fc.string())).map(
    ([p, q]) => p + new URLSearchParams(q).toString(),
  ),
);

it('thousands of malformed requests: never a 5xx, always problem+json for errors, nothing changes', async () => {
  const before = await h.outbid.getAuction(auctionId);
  let requests = 0;
  await fc.assert(
    fc.asyncProperty(
      fc.constantFrom('GET', 'POST', 'PUT', 'DELETE', 'PATCH'),
      path,
      junk,
      fc.nat({ max: tokens.length - 1 }),
      fc.constantFrom('application/json', 'text/plain', 'application/x-www-form-urlencoded', ''),
      fc.option(fc.string({ maxLength: 300 }), { nil: undefined }),
      async (method, rawPath, body, tokenIndex, contentType, key) => {
        requests++;
        const headers: Record<string, string> = {};
        if (tokens[tokenIndex]) headers.authorization = `Bearer ${tokens[tokenIndex]}`;
        if (contentType) headers['content-type'] = contentType;
        if (key !== undefined && /^[\x20-\x7e]*$/.test(key)) headers['idempotency-key'] = key;
        const res = await h.app.request(rawPath.replaceAll('AUCTION', auctionId), { method, headers, ...(method === 'GET' ? {} : { body }) });
        expect(res.status, `${method} ${rawPath} ${body}`).toBeLessThan(500);
        if (res.status >= 400) {
          const contentType = res.headers.get('content-type');
          if (contentType === 'application/json') {
            // Only a decided bid is JSON at 4xx: a well-formed bid that lost is `409` with its decision's `status`.
            const answer = (await res.json()) as { status?: string; reason?: string };
            expect(method).toBe('POST');
            expect(rawPath).toMatch(/^\/auctions\/AUCTION\/bids(\?|$)/);
            expect(res.status).toBe(409);
            expect(['rejected', 'late']).toContain(answer.status);
            expect(typeof answer.reason).toBe('string');
            return;
          }
          expect(contentType).toBe('application/problem+json');
        }
        await res.body?.cancel();
      },
    ),
    {
      numRuns: 3_000,
      // Found once (seed 441952488): a well-formed bid that lost was answered `409` JSON, which is the contract.
      examples: [['POST', '/auctions/AUCTION/bids?', '{"amount":1650870654}', 1, 'application/json', '!']],
    },
  );
  expect(requests).toBeGreaterThanOrEqual(3_000);
  // Malformed input changes nothing: the seeded auction may only have moved through valid bids by "bidder".
  const after = await h.outbid.getAuction(auctionId);
  const history = await h.outbid.listBids(auctionId, { limit: 100 });
  expect(after.version - before.version).toBe(history.items.length + (after.status === before.status ? 0 : 1));
  expect(history.items.every((b) => b.bidderId === 'bidder')).toBe(true);
}, 120_000);
