import type { IncomingMessage, ServerResponse } from 'node:http';

/** What @hono/node-server passes as `c.env` when Node's HTTP/1 server took the request. */
export interface NodeHttp1 {
  incoming: IncomingMessage;
  outgoing: ServerResponse;
}

/**
 * `c.env` when the request came through Node's HTTP/1 server (@hono/node-server), else null: `app.request`, other
 * runtimes and HTTP/2 (whose response has no `destroyed`, and whose bodies need no length header) take the
 * portable paths.
 */
export function nodeHttp1(env: unknown): NodeHttp1 | null {
  const node = env as Partial<NodeHttp1> | undefined;
  return node?.incoming?.httpVersionMajor === 1 && node.outgoing ? (node as NodeHttp1) : null;
}

/** HTTP whitespace at either end of a field value, which a WHATWG `Headers` strips (Fetch: normalize a value). */
const EDGE_WHITESPACE = /^[\t\n\r ]+|[\t\n\r ]+$/g;

/**
 * A request header as `c.req.header(name)` reads it (every field of that name in order, joined with ", ", edge
 * whitespace stripped), read from Node's raw header list when Node's HTTP/1 server took the request. The first
 * `c.req.header` call on @hono/node-server copies every field of the request into a WHATWG `Headers`, validating
 * each: 1.9% of a bid's server CPU (`pnpm bench bids --profile`). `name` must be lower case.
 */
export function requestHeader(c: { env: unknown; req: { header(name: string): string | undefined } }, name: string): string | undefined {
  const node = nodeHttp1(c.env);
  if (!node) return c.req.header(name);
  const raw = node.incoming.rawHeaders;
  let value: string | undefined;
  for (let i = 0; i < raw.length; i += 2) {
    const field = raw[i]!;
    if (field.length !== name.length || field.toLowerCase() !== name) continue;
    const part = raw[i + 1]!.replace(EDGE_WHITESPACE, '');
    value = value === undefined ? part : `${value}, ${part}`;
  }
  return value;
}
