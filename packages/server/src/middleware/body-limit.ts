import type { IncomingMessage } from 'node:http';
import type { Context, MiddlewareHandler } from 'hono';
import { bodyLimit as honoBodyLimit } from 'hono/body-limit';
import { nodeHttp1, requestHeader } from '../node-http.js';

export interface BodyLimitOptions {
  maxSize: number;
  onError: Parameters<typeof honoBodyLimit>[0]['onError'];
}

/**
 * Hono's body limit, without touching the body of an HTTP/1 request on Node whose length is declared or that has
 * none: Hono's checks `c.req.raw.body` first, which on @hono/node-server builds a WHATWG Request, a web stream and
 * an AbortController for every request (about a sixth of a bid's CPU in `pnpm bench bids --profile`), and for an
 * SSE viewer that Request lives as long as the connection. Node's HTTP/1 parser frames a body by Content-Length
 * or Transfer-Encoding alone (RFC 9112 §6): with neither there is no body, and a declared length is exactly what
 * arrives, so the length is checked here and the body later read straight from Node's request (`jsonBody`).
 * Anything else (chunked, HTTP/2, other runtimes, `app.request`) is counted by Hono's, as before.
 */
export function bodyLimit(options: BodyLimitOptions): MiddlewareHandler {
  const counting = honoBodyLimit(options);
  return async function outbidBodyLimit(c, next) {
    if (!lengthFramedBody(c)) return counting(c, next);
    const length = requestHeader(c, 'content-length');
    if (length !== undefined && Number.parseInt(length, 10) > options.maxSize) return options.onError!(c);
    await next();
  };
}

/**
 * Node's request when its body is framed by Content-Length alone (or there is none), as Node's HTTP/1 parser
 * frames it without Transfer-Encoding; else null.
 */
export function lengthFramedBody(c: Context): IncomingMessage | null {
  const node = nodeHttp1(c.env);
  return node && requestHeader(c, 'transfer-encoding') === undefined ? node.incoming : null;
}
