/** What went wrong, for branching in UI code. */
export type OutbidClientErrorKind = 'auth' | 'forbidden' | 'validation' | 'not_found' | 'conflict' | 'rate_limited' | 'server' | 'network';

/** Every failure the SDK reports: a kind, the server's stable problem `code`, and when to retry. */
export class OutbidClientError extends Error {
  readonly kind: OutbidClientErrorKind;
  readonly code: string;
  readonly status: number;
  /** From Retry-After, when the server sent one. */
  readonly retryAfterMs: number | undefined;

  constructor(kind: OutbidClientErrorKind, code: string, message: string, status = 0, retryAfterMs?: number) {
    super(message);
    this.name = 'OutbidClientError';
    this.kind = kind;
    this.code = code;
    this.status = status;
    this.retryAfterMs = retryAfterMs;
  }
}

export function kindOfStatus(status: number): OutbidClientErrorKind {
  if (status === 401) return 'auth';
  if (status === 403) return 'forbidden';
  if (status === 404) return 'not_found';
  if (status === 409) return 'conflict';
  if (status === 429) return 'rate_limited';
  if (status >= 500) return 'server';
  return 'validation';
}

export function retryAfterMs(header: string | null): number | undefined {
  if (!header) return undefined;
  const seconds = Number(header);
  if (Number.isFinite(seconds)) return Math.max(0, seconds * 1_000);
  const at = Date.parse(header);
  return Number.isNaN(at) ? undefined : Math.max(0, at - Date.now());
}
