import { z } from 'zod';

/** Largest amount Outbid accepts, in minor units (10^15 stays well inside Number.MAX_SAFE_INTEGER). */
export const MAX_MINOR_UNITS = 1_000_000_000_000_000;

/** A non-negative integer amount in minor units (cents for USD). */
export const minorUnitsSchema = z
  .number({ error: 'must be a number of minor units' })
  .int({ error: 'must be a whole number of minor units' })
  .min(0, { error: 'must not be negative' })
  .max(MAX_MINOR_UNITS, { error: `must be at most ${MAX_MINOR_UNITS}` });

/** A strictly positive amount in minor units: bids and increments. */
export const positiveMinorUnitsSchema = minorUnitsSchema.min(1, { error: 'must be at least 1 minor unit' });

/** ISO 4217 alphabetic code, e.g. USD. */
export const currencySchema = z.string().regex(/^[A-Z]{3}$/, { error: 'must be an ISO 4217 code such as USD' });

/** True when `amount` is a valid bid amount: a positive safe integer no larger than {@link MAX_MINOR_UNITS}. */
export function isValidBidAmount(amount: unknown): amount is number {
  return typeof amount === 'number' && Number.isInteger(amount) && amount >= 1 && amount <= MAX_MINOR_UNITS;
}
