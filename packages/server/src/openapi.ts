import { liveFrame } from '@outbid/core/protocol';
import { z } from 'zod';
import {
  auctionResponse,
  bidAcceptedResponse,
  bidListResponse,
  bidRejectedResponse,
  buyNowBody,
  createAuctionBody,
  listAuctionsQuery,
  listBidsQuery,
  placeBidBody,
  problemResponseSchema,
} from './schemas.js';

type JsonSchema = Record<string, unknown>;

/** Schemas with a `meta({ id })` become components; everything else is written inline. */
const COMPONENTS = [createAuctionBody, placeBidBody, buyNowBody, auctionResponse, bidAcceptedResponse, bidRejectedResponse, bidListResponse, problemResponseSchema, liveFrame];
const ref = (id: string) => ({ $ref: `#/components/schemas/${id}` });
const idOf = (s: z.ZodType) => z.globalRegistry.get(s)?.id;
/** OpenAPI 3.1 schema objects are JSON Schema 2020-12; the dialect is the document's, not repeated per schema. */
const bare = ({ $schema: _dialect, $id: _id, ...rest }: JsonSchema): JsonSchema => rest;
const toSchema = (s: z.ZodType): JsonSchema => bare(z.toJSONSchema(s, { io: 'input', unrepresentable: 'any' }) as JsonSchema);

function componentSchemas(): Record<string, JsonSchema> {
  const registry = z.registry<{ id: string }>();
  for (const s of COMPONENTS) registry.add(s, { id: idOf(s)! });
  const { schemas } = z.toJSONSchema(registry, { uri: (id) => ref(id).$ref, io: 'input', unrepresentable: 'any' });
  return Object.fromEntries(Object.entries(schemas).map(([id, s]) => [id, bare(s as JsonSchema)]));
}

const schema = (s: z.ZodType): JsonSchema => {
  const id = idOf(s);
  return id ? ref(id) : toSchema(s);
};
const json = (s: z.ZodType) => ({ content: { 'application/json': { schema: schema(s) } } });
const problem = (description: string) => ({ description, content: { 'application/problem+json': { schema: schema(problemResponseSchema) } } });
const queryParams = (s: z.ZodObject) =>
  Object.entries(s.shape).map(([name, field]) => ({ name, in: 'query', required: false, schema: schema(field as z.ZodType) }));
const idParam = { name: 'id', in: 'path', required: true, schema: { type: 'string' } };
const idempotencyKeyParam = { name: 'Idempotency-Key', in: 'header', required: true, schema: { type: 'string', minLength: 1, maxLength: 255 } };
const errors = { '400': problem('Invalid input'), '401': problem('No or bad token'), '403': problem('Wrong role or not yours'), '404': problem('No such auction') };

let cached: object | null = null;

/** The OpenAPI 3.1 document, generated from the same zod schemas the routes validate with. */
export function buildOpenApi(): object {
  cached ??= {
    openapi: '3.1.0',
    info: { title: 'Outbid API', version: '0.1.0', description: 'Live, timed auctions. Money in integer minor units; times ISO 8601.' },
    components: { schemas: componentSchemas(), securitySchemes: { bearer: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT' } } },
    security: [{ bearer: [] }],
    paths: {
      '/auctions': {
        post: { summary: 'Create an auction (creator)', requestBody: json(createAuctionBody), responses: { '201': { description: 'Created', ...json(auctionResponse) }, '409': problem('The post already has an open auction'), ...errors } },
        get: { summary: 'List auctions', parameters: queryParams(listAuctionsQuery), responses: { '200': { description: 'A page', content: { 'application/json': { schema: { type: 'object', properties: { items: { type: 'array', items: schema(auctionResponse) }, nextCursor: { type: ['string', 'null'] } } } } } }, ...errors } },
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
          summary: 'Place a bid (bidder): { amount }, { maxAmount } (proxy: the engine bids for you up to it), or both',
          description: 'A bid a standing maximum beats is refused with 409 OUTBID_BY_PROXY, carrying the new price after the automatic counter-bid. With OUTBID_SERVER_TIMING=true, bid and Buy It Now answers carry Server-Timing: engine, ledger and bid durations in ms.',
          parameters: [idParam, idempotencyKeyParam],
          requestBody: json(placeBidBody),
          responses: {
            '201': { description: 'Accepted (a replay adds Idempotent-Replayed: true)', ...json(bidAcceptedResponse) },
            '409': { description: 'Rejected or late, or the first request with this key is still in progress (problem)', ...json(bidRejectedResponse) },
            '422': problem('The key was used with another body, or the amount is not valid'),
            '429': problem('Rate limited (Retry-After)'),
            ...errors,
          },
        },
        get: { summary: 'Bid history, newest first; automatic (proxy) bids marked, maximums never shown (include=all: the audit trail, creator only)', parameters: [idParam, ...queryParams(listBidsQuery)], responses: { '200': { description: 'A page', ...json(bidListResponse) }, ...errors } },
      },
      '/auctions/{id}/buy-now': {
        post: {
          summary: 'Buy It Now (bidder): ends the auction at once at buyNowPrice, while it is offered',
          parameters: [idParam, idempotencyKeyParam],
          requestBody: { required: false, ...json(buyNowBody) },
          responses: {
            '201': { description: 'Bought: the auction has ended (a replay adds Idempotent-Replayed: true)', ...json(bidAcceptedResponse) },
            '409': { description: 'Refused (BUY_NOW_UNAVAILABLE, AUCTION_ENDED, ...), or the first request with this key is still in progress (problem)', ...json(bidRejectedResponse) },
            '422': problem('The key was used with another request'),
            '429': problem('Rate limited (Retry-After)'),
            ...errors,
          },
        },
      },
      '/auctions/{id}/stream': {
        get: {
          summary: 'Server-Sent Events: snapshot, bid, extended, ended, tick frames with id = version',
          parameters: [idParam, { name: 'Last-Event-ID', in: 'header', required: false, schema: { type: 'string' } }],
          responses: { '200': { description: 'text/event-stream; the data of every frame is a LiveFrame (#/components/schemas/LiveFrame)' }, '204': { description: 'Finished and already delivered' }, ...errors },
        },
      },
      '/healthz': { get: { summary: 'Process up', security: [], responses: { '200': { description: 'ok' } } } },
      '/readyz': { get: { summary: 'Dependencies reachable and start-up done', security: [], responses: { '200': { description: 'ready' }, '503': { description: "Starting (`{ status: 'starting', waitingFor: [...] }`) or a dependency is not reachable (problem)" } } } },
      '/metrics': { get: { summary: 'Prometheus metrics', security: [], responses: { '200': { description: 'text/plain' } } } },
    },
  };
  return cached;
}
