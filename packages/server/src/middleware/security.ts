import { timingSafeEqual } from 'node:crypto';
import type { Context, MiddlewareHandler } from 'hono';
import { cors } from 'hono/cors';
import { secureHeaders } from 'hono/secure-headers';
import { HttpProblem } from '../problem.js';

/** The security headers every answer carries (Hono's secureHeaders builds them from these options). */
const secureHeaderOptions: Parameters<typeof secureHeaders>[0] = {
  contentSecurityPolicy: {
    defaultSrc: ["'self'"],
    scriptSrc: ["'self'"],
    styleSrc: ["'self'", "'unsafe-inline'"],
    imgSrc: ["'self'", 'data:'],
    connectSrc: ["'self'"],
    fontSrc: ["'self'", 'data:'],
    objectSrc: ["'none'"],
    baseUri: ["'self'"],
    formAction: ["'self'"],
    frameAncestors: ["'none'"],
  },
  // The API is meant to be called from other origins when CORS allows them.
  crossOriginResourcePolicy: 'cross-origin',
};
const applySecureHeaders = secureHeaders(secureHeaderOptions);
const nothingMore = async () => {};

/**
 * The same headers as a plain record (lower-case names), read once from Hono's middleware run on a bare response
 * of its own; null until then (a few microtasks after this module loads), or if that ever fails.
 */
let secureHeaderRecord: Readonly<Record<string, string>> | null = null;
void (async () => {
  const headers = new Headers();
  await applySecureHeaders({ res: { headers } } as unknown as Context, nothingMore);
  const record: Record<string, string> = {};
  headers.forEach((value, name) => (record[name] = value));
  secureHeaderRecord = record;
})().catch(() => {});

/** Responses built with the security headers already in ({@link securedResponse}): the middleware leaves them be. */
const secured = new WeakSet<Response>();

/**
 * A response with the security headers built in, from a plain header record; null when the record is not known
 * yet (then answer as usual, and the middleware adds them). On @hono/node-server such a response is written to
 * Node with its record as it is; setting the headers afterwards (the middleware's way) first copies them into a
 * WHATWG `Headers` and validates each one, then iterates it back into a record: 3% of a bid's server CPU
 * (`pnpm bench bids --profile`). For the hot routes (a bid's answer).
 */
export function securedResponse(body: string, status: number, headers: Record<string, string>): Response | null {
  if (secureHeaderRecord === null) return null;
  // The security headers last: the middleware overwrites a route's header of the same name, and so does this.
  // Object.assign, not `{ ...headers, ...secureHeaderRecord }`: V8 copies a second spread into an object literal
  // key by key on a slow path, about 17 µs for these 12 headers on the bench machine against 0.5 µs (3.5% of a bid's
  // server CPU in `pnpm bench bids --profile`).
  const response = new Response(body, { status, headers: Object.assign({}, headers, secureHeaderRecord) });
  secured.add(response);
  return response;
}

/**
 * Security headers on every answer: no MIME sniffing, no framing, and a Content-Security-Policy that lets the demo
 * page and the API reference load only what this server serves (their scripts are files, never inline).
 */
export const outbidSecureHeaders = (): MiddlewareHandler =>
  async function outbidSecureHeaders(c, next) {
    await next();
    if (!secured.has(c.res)) await applySecureHeaders(c, nothingMore);
  };

/** CORS for front-ends on other origins: only the listed ones (none by default, so same-origin only). */
export function outbidCors(origins: readonly string[]): MiddlewareHandler | null {
  if (origins.length === 0) return null;
  return cors({
    origin: origins.includes('*') ? '*' : [...origins],
    allowMethods: ['GET', 'POST', 'OPTIONS'],
    allowHeaders: ['authorization', 'content-type', 'idempotency-key', 'last-event-id'],
    exposeHeaders: ['etag', 'location', 'retry-after', 'idempotent-replayed'],
    maxAge: 600,
  });
}

/** `/metrics` behind a bearer token when one is configured (compared in constant time). */
export function metricsGuard(token: string | undefined): MiddlewareHandler {
  const expected = token ? Buffer.from(`Bearer ${token}`) : null;
  return async function outbidMetricsGuard(c, next) {
    if (expected) {
      const given = Buffer.from(c.req.header('authorization') ?? '');
      if (given.length !== expected.length || !timingSafeEqual(given, expected)) {
        throw new HttpProblem(401, 'METRICS_TOKEN_REQUIRED', 'Send the metrics token as Authorization: Bearer <token>.', { headers: { 'www-authenticate': 'Bearer' } });
      }
    }
    return next();
  };
}

/**
 * Counts open streams per user: `open` refuses (429 with Retry-After) past the cap, and the returned release
 * runs once, whichever way the stream ends.
 */
export function createStreamLimiter(maxPerUser: number) {
  const open = new Map<string, number>();
  return {
    acquire(userKey: string): () => void {
      const count = open.get(userKey) ?? 0;
      if (count >= maxPerUser) {
        throw new HttpProblem(429, 'TOO_MANY_STREAMS', `At most ${maxPerUser} open streams per user; close one, or watch several auctions from one page.`, {
          headers: { 'retry-after': '5' },
        });
      }
      open.set(userKey, count + 1);
      let released = false;
      return () => {
        if (released) return;
        released = true;
        const left = (open.get(userKey) ?? 1) - 1;
        if (left <= 0) open.delete(userKey);
        else open.set(userKey, left);
      };
    },
  };
}
