/** Stable, machine-readable error codes. Clients branch on these, never on messages. */
export const ErrorCodes = {
  VALIDATION_FAILED: 'VALIDATION_FAILED',
  AUCTION_NOT_FOUND: 'AUCTION_NOT_FOUND',
  POST_HAS_ACTIVE_AUCTION: 'POST_HAS_ACTIVE_AUCTION',
  NOT_AUCTION_CREATOR: 'NOT_AUCTION_CREATOR',
  INVALID_TRANSITION: 'INVALID_TRANSITION',
  INVALID_CURSOR: 'INVALID_CURSOR',
  IDEMPOTENCY_KEY_REUSED: 'IDEMPOTENCY_KEY_REUSED',
  IDEMPOTENCY_IN_PROGRESS: 'IDEMPOTENCY_IN_PROGRESS',
  ENGINE_UNAVAILABLE: 'ENGINE_UNAVAILABLE',
  LEDGER_UNAVAILABLE: 'LEDGER_UNAVAILABLE',
  CONFLICT_RETRY_EXHAUSTED: 'CONFLICT_RETRY_EXHAUSTED',
  CLOSED: 'CLOSED',
} as const;
export type ErrorCode = (typeof ErrorCodes)[keyof typeof ErrorCodes];

const MARKER = Symbol.for('outbid.error');

/** Suggested HTTP status per code, so every transport maps errors the same way. */
const STATUS_BY_CODE: Record<ErrorCode, number> = {
  VALIDATION_FAILED: 400,
  AUCTION_NOT_FOUND: 404,
  POST_HAS_ACTIVE_AUCTION: 409,
  NOT_AUCTION_CREATOR: 403,
  INVALID_TRANSITION: 409,
  INVALID_CURSOR: 400,
  IDEMPOTENCY_KEY_REUSED: 422,
  IDEMPOTENCY_IN_PROGRESS: 409,
  ENGINE_UNAVAILABLE: 503,
  LEDGER_UNAVAILABLE: 503,
  CONFLICT_RETRY_EXHAUSTED: 503,
  CLOSED: 503,
};

export interface ValidationIssue {
  path: string;
  message: string;
}

/**
 * The one error type Outbid throws on purpose. `code` is stable; `issues` lists field problems for
 * VALIDATION_FAILED. Detected with {@link OutbidError.isInstance}, which works across duplicate installs.
 */
export class OutbidError extends Error {
  readonly [MARKER] = true;
  readonly code: ErrorCode;
  readonly status: number;
  readonly issues: ValidationIssue[];
  /** Milliseconds after which a retry may succeed (in-progress, unavailable). */
  readonly retryAfterMs: number | undefined;

  constructor(
    code: ErrorCode,
    message: string,
    options: { issues?: ValidationIssue[]; retryAfterMs?: number; cause?: unknown } = {},
  ) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'OutbidError';
    this.code = code;
    this.status = STATUS_BY_CODE[code];
    this.issues = options.issues ?? [];
    this.retryAfterMs = options.retryAfterMs;
  }

  static isInstance(value: unknown): value is OutbidError {
    return typeof value === 'object' && value !== null && (value as Record<symbol, unknown>)[MARKER] === true;
  }
}

export function validationError(issues: ValidationIssue[], message = 'The request is not valid.'): OutbidError {
  return new OutbidError(ErrorCodes.VALIDATION_FAILED, message, { issues });
}
