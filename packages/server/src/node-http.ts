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
