import type { ServerResponse } from 'node:http';
import type { MiddlewareHandler } from 'hono';
import { nodeHttp1 } from '../node-http.js';

/**
 * Internal header on a stream's Response: "the body is written straight to Node's ServerResponse once the head is
 * out". Keyed by a number rather than by Response identity, since Hono rebuilds the Response when a middleware
 * adds a header; it never reaches the client (the hand-off middleware removes it).
 */
export const SSE_HANDOFF_HEADER = 'x-outbid-sse-handoff';

/** @hono/node-server's "I wrote the response myself" (`RESPONSE_ALREADY_SENT` in `@hono/node-server/utils/response`). */
const ALREADY_SENT_HEADER = 'x-hono-already-sent';

interface Handoff {
  /** The head is written: start writing frames. */
  start(): void;
  /** No hand-off will happen (HEAD request, no Node response): release the viewer. */
  abandon(): void;
}

const handoffs = new Map<string, Handoff>();
let nextHandoff = 0;

/** Registers a stream waiting for its head; the caller forgets it when the response closes (so nothing leaks). */
export function registerHandoff(handoff: Handoff): string {
  const id = String(++nextHandoff);
  handoffs.set(id, handoff);
  return id;
}

/** Takes a waiting stream out of the registry (undefined when it was already taken or forgotten). */
export function takeHandoff(id: string): Handoff | undefined {
  const handoff = handoffs.get(id);
  handoffs.delete(id);
  return handoff;
}

/** Streams waiting for their head (for tests: must be 0 once every request is over). */
export const pendingHandoffs = () => handoffs.size;

/**
 * Node keeps the head it wrote (`_header`) for the life of the response, built by appending one piece per header:
 * a rope of ~70 strings, 2.2 KB of heap per SSE viewer (a heap snapshot with 2,000 viewers). A flat copy of the same
 * text is a third of that. After the head is written Node only reads it (headersSent, and to send it once).
 */
function flattenHead(outgoing: ServerResponse): void {
  const head = (outgoing as { _header?: unknown })._header;
  if (typeof head === 'string') (outgoing as { _header?: unknown })._header = Buffer.from(head, 'latin1').toString('latin1');
}

/**
 * Registered first (outermost) in `createApp`: after every other middleware has set its headers on the stream's
 * Response (security headers, CORS…), writes that head to Node's ServerResponse, lets the gateway write the body
 * straight to it, and tells @hono/node-server the response is already sent.
 */
export function sseHandoff(): MiddlewareHandler {
  return async function outbidSseHandoff(c, next) {
    // Streams are GET (and HEAD); reading any other answer's headers would copy them into a WHATWG Headers.
    if (c.req.method !== 'GET' && c.req.method !== 'HEAD') return next();
    await next();
    const id = c.res.headers.get(SSE_HANDOFF_HEADER);
    if (id === null) return;
    c.res.headers.delete(SSE_HANDOFF_HEADER);
    const handoff = takeHandoff(id);
    const outgoing = nodeHttp1(c.env)?.outgoing;
    // Hono copies a replaced Response's headers into the new one, so an error answer (or any body) built after the
    // route may carry the marker: only the stream's own body-less 200 is handed off. A HEAD gets the head alone.
    const ours = c.error === undefined && c.res.status === 200 && c.res.body === null;
    if (!outgoing || !ours || c.req.method === 'HEAD') {
      handoff?.abandon();
      return;
    }
    if (!handoff || outgoing.destroyed) {
      // The client left before its head was written (its viewer goes on 'close'): nothing to send. Otherwise (no
      // stream behind the marker) the body-less head goes out and the client reconnects.
      handoff?.abandon();
      if (outgoing.destroyed) c.res = new Response(null, { headers: { [ALREADY_SENT_HEADER]: '1' } });
      return;
    }
    const headers: Record<string, string | string[]> = {};
    c.res.headers.forEach((value, name) => {
      if (name !== 'set-cookie') headers[name] = value;
    });
    const cookies = c.res.headers.getSetCookie();
    if (cookies.length > 0) headers['set-cookie'] = cookies;
    outgoing.writeHead(c.res.status, headers);
    flattenHead(outgoing);
    handoff.start();
    c.res = new Response(null, { headers: { [ALREADY_SENT_HEADER]: '1' } });
  };
}
