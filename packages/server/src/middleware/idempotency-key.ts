import { createMiddleware } from 'hono/factory';
import { requestHeader } from '../node-http.js';
import { HttpProblem } from '../problem.js';

export type IdempotencyKeyEnv = { Variables: { idempotencyKey: string | null } };

export interface IdempotencyKeyOptions {
  /** A request without the header is refused (400 IDEMPOTENCY_KEY_REQUIRED). Default true. */
  required?: boolean;
  /** The header read. Default `Idempotency-Key`. */
  header?: string;
}

/** 1 to 255 visible ASCII characters. */
const IDEMPOTENCY_KEY = /^[\x21-\x7e]{1,255}$/;

/** Checks the Idempotency-Key header and hands it to the route as `c.var.idempotencyKey`. */
export function idempotencyKey(options: IdempotencyKeyOptions = {}) {
  const required = options.required ?? true;
  const header = (options.header ?? 'idempotency-key').toLowerCase();
  return createMiddleware<IdempotencyKeyEnv>(async function outbidIdempotencyKey(c, next) {
    const key = requestHeader(c, header);
    if (key === undefined && required) {
      throw new HttpProblem(400, 'IDEMPOTENCY_KEY_REQUIRED', 'Send an Idempotency-Key header (1 to 255 visible ASCII characters).');
    }
    if (key !== undefined && !IDEMPOTENCY_KEY.test(key)) {
      throw new HttpProblem(400, 'IDEMPOTENCY_KEY_INVALID', 'The Idempotency-Key must be 1 to 255 visible ASCII characters.');
    }
    c.set('idempotencyKey', key ?? null);
    await next();
  });
}
