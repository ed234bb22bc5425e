import { zodIssues } from '@outbid/core';
import type { Context } from 'hono';
import { createMiddleware } from 'hono/factory';
import type { z } from 'zod';
import { requestHeader } from '../node-http.js';
import { HttpProblem } from '../problem.js';
import { lengthFramedBody } from './body-limit.js';

/** Parses with a zod schema; every failure is a 400 problem listing the fields, never the raw validator text. */
export function parse<S extends z.ZodType>(schema: S, value: unknown): z.output<S> {
  const result = schema.safeParse(value);
  if (!result.success) throw new HttpProblem(400, 'VALIDATION_FAILED', 'The request is not valid.', { errors: zodIssues(result.error) });
  return result.data;
}

/** The request body as JSON: 415 for another media type, 400 for text that is not JSON. */
export async function readJson(c: Context): Promise<unknown> {
  requireJsonType(c);
  return parseJson(await bodyText(c));
}

/**
 * The body as text. On @hono/node-server over HTTP/1 with the length declared or no body (`bodyLimit` checked it),
 * it is read straight from Node's request: `c.req.text()` first builds a WHATWG Request with a web stream and an
 * AbortController around it, which cost about a sixth of a bid's CPU (`pnpm bench bids --profile`).
 */
function bodyText(c: Context): Promise<string> {
  const incoming = lengthFramedBody(c);
  if (!incoming || incoming.readableDidRead) return c.req.text();
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    incoming.on('data', (chunk: Buffer) => chunks.push(chunk));
    // Decoded as fetch's text() does: UTF-8, a leading byte order mark dropped.
    incoming.once('end', () => resolve(new TextDecoder().decode(chunks.length === 1 ? chunks[0] : Buffer.concat(chunks))));
    incoming.once('error', reject);
  });
}

function requireJsonType(c: Context): void {
  const type = requestHeader(c, 'content-type') ?? '';
  if (!/^application\/(.+\+)?json\b/i.test(type)) throw new HttpProblem(415, 'UNSUPPORTED_MEDIA_TYPE', 'Send the body as application/json.');
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    throw new HttpProblem(400, 'MALFORMED_JSON', 'The body is not valid JSON.');
  }
}

/** Reads and validates the JSON body before the route runs; the route finds it as `c.var.body`. */
export function jsonBody<S extends z.ZodType>(schema: S) {
  return createMiddleware<{ Variables: { body: z.output<S> } }>(async function outbidJsonBody(c, next) {
    c.set('body', parse(schema, await readJson(c)));
    await next();
  });
}

/**
 * Like {@link jsonBody} for a route whose body may be left out: no body (or an empty one) is validated as `{}`;
 * a body that is there must be JSON.
 */
export function optionalJsonBody<S extends z.ZodType>(schema: S) {
  return createMiddleware<{ Variables: { body: z.output<S> } }>(async function outbidOptionalJsonBody(c, next) {
    const text = await bodyText(c);
    let value: unknown = {};
    if (text.trim() !== '') {
      requireJsonType(c);
      value = parseJson(text);
    }
    c.set('body', parse(schema, value));
    await next();
  });
}
