import type { MiddlewareHandler } from 'hono';
import { bodyLimit as honoBodyLimit } from 'hono/body-limit';

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
    if (!isHttp1OnNode(c.env) || c.req.header('transfer-encoding') !== undefined) return counting(c, next);
    const length = c.req.header('content-length');
    if (length !== undefined && Number.parseInt(length, 10) > options.maxSize) return options.onError!(c);
    await next();
  };
}

/** The request came through Node's HTTP/1 server (@hono/node-server's `c.env.incoming`). */
export function isHttp1OnNode(env: unknown): boolean {
  return (env as { incoming?: { httpVersionMajor?: unknown } } | undefined)?.incoming?.httpVersionMajor === 1;
}
