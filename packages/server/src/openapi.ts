import { z } from 'zod';
import {
  auctionResponse,
  bidAcceptedResponse,
  bidListResponse,
  bidRejectedResponse,
  createAuctionBody,
  listAuctionsQuery,
  listBidsQuery,
  placeBidBody,
  problemResponseSchema,
} from './schemas.js';

const schema = (s: z.ZodType) => z.toJSONSchema(s, { target: 'openapi-3.0', unrepresentable: 'any', io: 'input' });
const json = (s: z.ZodType) => ({ content: { 'application/json': { schema: schema(s) } } });
const problem = (description: string) => ({ description, content: { 'application/problem+json': { schema: schema(problemResponseSchema) } } });
const queryParams = (s: z.ZodObject) =>
  Object.entries(s.shape).map(([name, field]) => ({ name, in: 'query', required: false, schema: schema(field as z.ZodType) }));
const idParam = { name: 'id', in: 'path', required: true, schema: { type: 'string' } };
const errors = { '400': problem('Invalid input'), '401': problem('No or bad token'), '403': problem('Wrong role or not yours'), '404': problem('No such auction') };

let cached: object | null = null;

/** The OpenAPI 3 document, generated from the same zod schemas the routes validate with. */
export function buildOpenApi(): object {
  cached ??= {
    openapi: '3.0.3',
    info: { title: 'Outbid API', version: '0.1.0', description: 'Live, timed auctions. Money in integer minor units; times ISO 8601.' },
    components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT' } } },
    security: [{ bearer: [] }],
    paths: {
      '/auctions': {
        post: { summary: 'Create an auction (creator)', requestBody: json(createAuctionBody), responses: { '201': { description: 'Created', ...json(auctionResponse) }, '409': problem('The post already has an open auction'), ...errors } },
        get: { summary: 'List auctions', parameters: queryParams(listAuctionsQuery), responses: { '200': { description: 'A page', content: { 'application/json': { schema: { type: 'object', properties: { items: { type: 'array', items: schema(auctionResponse) }, nextCursor: { type: 'string', nullable: true } } } } } }, ...errors } },
      },
      '/auctions/{id}': {
        get: { summary: 'Read an auction (ETag, If-None-Match → 304)', parameters: [idParam], responses: { '200': { description: 'The auction', ...json(auctionResponse) }, '304': { description: 'Not modified' }, ...errors } },
      },
      ...Object.fromEntries(
        ['start', 'end', 'cancel'].map((action) => [
          `/auctions/{id}/${action}`,
          { post: { summary: `${action[0]!.toUpperCase()}${action.slice(1)} the auction (its creator)`, parameters: [idParam], responses: { '200': { description: 'The auction', ...json(auctionResponse) }, '409': problem('Not possible in this state'), ...errors } } },
        ]),
      ),
      '/auctions/{id}/bids': {
        post: {
          summary: 'Place a bid (bidder)',
          parameters: [idParam, { name: 'Idempotency-Key', in: 'header', required: true, schema: { type: 'string', minLength: 1, maxLength: 255 } }],
          requestBody: json(placeBidBody),
          responses: {
            '201': { description: 'Accepted (a replay adds Idempotent-Replayed: true)', ...json(bidAcceptedResponse) },
            '409': { description: 'Rejected or late, or the first request with this key is still in progress (problem)', ...json(bidRejectedResponse) },
            '422': problem('The key was used with another body, or the amount is not valid'),
            '429': problem('Rate limited (Retry-After)'),
            ...errors,
          },
        },
        get: { summary: 'Bid history, newest first (include=all: the audit trail, creator only)', parameters: [idParam, ...queryParams(listBidsQuery)], responses: { '200': { description: 'A page', ...json(bidListResponse) }, ...errors } },
      },
      '/auctions/{id}/stream': {
        get: {
          summary: 'Server-Sent Events: snapshot, bid, extended, ended, tick frames with id = version',
          parameters: [idParam, { name: 'Last-Event-ID', in: 'header', required: false, schema: { type: 'string' } }],
          responses: { '200': { description: 'text/event-stream' }, '204': { description: 'Finished and already delivered' }, ...errors },
        },
      },
      '/healthz': { get: { summary: 'Process up', security: [], responses: { '200': { description: 'ok' } } } },
      '/readyz': { get: { summary: 'Dependencies reachable and start-up done', security: [], responses: { '200': { description: 'ready' }, '503': { description: "Starting (`{ status: 'starting', waitingFor: [...] }`) or a dependency is not reachable (problem)" } } } },
      '/metrics': { get: { summary: 'Prometheus metrics', security: [], responses: { '200': { description: 'text/plain' } } } },
    },
  };
  return cached;
}

/** A dependency-free page listing the API from /openapi.json. */
export const DOCS_PAGE = `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Outbid API</title>
<style>body{font:15px/1.5 system-ui,sans-serif;max-width:860px;margin:2rem auto;padding:0 1rem}code{background:#f3f3f3;padding:0 .3em}
.m{display:inline-block;width:4.5em;font-weight:600}h2{margin-top:2rem}pre{background:#f7f7f7;padding:.8em;overflow:auto}</style></head>
<body><h1>Outbid API</h1><p>Machine-readable: <a href="/openapi.json">/openapi.json</a>. Money is integer minor units, times ISO 8601.
Errors are <code>application/problem+json</code> with a stable <code>code</code>.</p><div id="paths">Loading…</div>
<script src="/docs.js"></script></body></html>`;

/** The docs page's script, served as a file so the Content-Security-Policy needs no inline scripts. */
export const DOCS_SCRIPT = `fetch('/openapi.json').then(r=>r.json()).then(doc=>{const el=document.getElementById('paths');el.textContent='';
for(const [path,ops] of Object.entries(doc.paths)){const h=document.createElement('h2');h.textContent=path;el.append(h);
for(const [method,op] of Object.entries(ops)){const p=document.createElement('p');const m=document.createElement('span');m.className='m';
m.textContent=method.toUpperCase();p.append(m,op.summary||'');el.append(p);if(op.requestBody){const pre=document.createElement('pre');
pre.textContent=JSON.stringify(op.requestBody.content['application/json'].schema,null,2);el.append(pre);}}}});`;
