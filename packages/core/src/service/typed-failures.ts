import { ErrorCodes, OutbidError, type ErrorCode } from '../errors.js';

/**
 * Wraps every method of a port so that a failure of the backend behind it (a refused connection, a timeout)
 * surfaces as one typed OutbidError (ENGINE_UNAVAILABLE, LEDGER_UNAVAILABLE) with the original as `cause`,
 * instead of leaking driver errors to callers. OutbidErrors the port throws on purpose pass through.
 */
export function typedFailures<T extends object>(port: T, code: ErrorCode, what: string): T {
  return new Proxy(port, {
    get(target, property, receiver) {
      const value = Reflect.get(target, property, receiver) as unknown;
      if (typeof value !== 'function') return value;
      return (...args: unknown[]) => {
        try {
          const result = (value as (...a: unknown[]) => unknown).apply(target, args);
          return result instanceof Promise ? result.catch((error: unknown) => rethrow(error, code, what)) : result;
        } catch (error) {
          return rethrow(error, code, what);
        }
      };
    },
  });
}

function rethrow(error: unknown, code: ErrorCode, what: string): never {
  if (OutbidError.isInstance(error)) throw error;
  throw new OutbidError(code, `The ${what} is unavailable; try again.`, { cause: error, retryAfterMs: 1_000 });
}

export const engineFailures = <T extends object>(port: T) => typedFailures(port, ErrorCodes.ENGINE_UNAVAILABLE, 'bid engine');
export const ledgerFailures = <T extends object>(port: T) => typedFailures(port, ErrorCodes.LEDGER_UNAVAILABLE, 'ledger');
