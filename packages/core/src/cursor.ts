import { ErrorCodes, OutbidError } from './errors.js';

/** Opaque paging cursors: base64url JSON. A cursor that does not decode to the expected shape is a 400. */
export function encodeCursor(value: unknown): string {
  return Buffer.from(JSON.stringify(value), 'utf8').toString('base64url');
}

export function decodeCursor<T>(cursor: string, isValid: (value: unknown) => value is T): T {
  try {
    const value: unknown = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
    if (isValid(value)) return value;
  } catch {
    // fall through: any decoding failure is the same client error
  }
  throw new OutbidError(ErrorCodes.INVALID_CURSOR, 'The cursor is not valid for this list.');
}

export const isSafeIntegerArray = (length: number) => (value: unknown): value is number[] =>
  Array.isArray(value) && value.length === length && value.every((n) => Number.isSafeInteger(n));

export const isPositionCursor = (value: unknown): value is [number, string] =>
  Array.isArray(value) && value.length === 2 && Number.isSafeInteger(value[0]) && typeof value[1] === 'string';
