import { OutbidError, type ValidationIssue } from '@outbid/core';
import type { Context } from 'hono';
import type { ContentfulStatusCode } from 'hono/utils/http-status';

/** RFC 9457 problem details plus our stable `code`. The only error shape the server ever sends. */
export interface Problem {
  type: string;
  title: string;
  status: number;
  detail: string;
  instance?: string;
  code: string;
  errors?: ValidationIssue[];
}

const TITLES: Record<number, string> = {
  400: 'Bad Request',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'Not Found',
  405: 'Method Not Allowed',
  409: 'Conflict',
  413: 'Content Too Large',
  415: 'Unsupported Media Type',
  422: 'Unprocessable Content',
  429: 'Too Many Requests',
  500: 'Internal Server Error',
  503: 'Service Unavailable',
};

/** Thrown by routes and middleware; rendered by {@link problemResponse}. */
export class HttpProblem extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    readonly detail: string,
    readonly extra: { errors?: ValidationIssue[]; headers?: Record<string, string> } = {},
  ) {
    super(detail);
    this.name = 'HttpProblem';
  }
}

export function problemResponse(c: Context, status: number, code: string, detail: string, extra: HttpProblem['extra'] = {}): Response {
  const body: Problem = {
    type: `https://outbid.dev/problems/${code.toLowerCase().replaceAll('_', '-')}`,
    title: TITLES[status] ?? 'Error',
    status,
    detail,
    instance: new URL(c.req.url).pathname,
    code,
    ...(extra.errors && extra.errors.length > 0 ? { errors: extra.errors } : {}),
  };
  return c.body(JSON.stringify(body), status as ContentfulStatusCode, {
    'content-type': 'application/problem+json',
    'cache-control': 'no-store',
    ...extra.headers,
  });
}

/**
 * The one sanitised envelope for every error: OutbidError and HttpProblem keep their code and detail (written
 * for clients); anything else becomes a generic 500 whose text never reaches the client.
 */
export function toProblem(c: Context, error: unknown, onUnexpected: (error: unknown) => void): Response {
  if (error instanceof HttpProblem) return problemResponse(c, error.status, error.code, error.detail, error.extra);
  if (OutbidError.isInstance(error)) {
    const headers: Record<string, string> = {};
    if (error.retryAfterMs !== undefined) headers['retry-after'] = String(Math.max(1, Math.ceil(error.retryAfterMs / 1_000)));
    return problemResponse(c, error.status, error.code, error.message, { errors: error.issues, headers });
  }
  onUnexpected(error);
  return problemResponse(c, 500, 'INTERNAL', 'Something went wrong on our side. It was logged.');
}
