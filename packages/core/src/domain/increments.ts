import { z } from 'zod';
import { MAX_MINOR_UNITS, positiveMinorUnitsSchema, minorUnitsSchema } from './money.js';

/** One row of a tiered increment table: from this current price (inclusive) upward, bids rise by `increment`. */
export interface IncrementTier {
  from: number;
  increment: number;
}

/** How much a bid must beat the current price by: a fixed step, or a table keyed by the current price. */
export type IncrementRule = { type: 'fixed'; amount: number } | { type: 'table'; tiers: IncrementTier[] };

export const incrementTierSchema = z.strictObject({ from: minorUnitsSchema, increment: positiveMinorUnitsSchema });

export const incrementTableSchema = z
  .array(incrementTierSchema)
  .min(1, { error: 'needs at least one tier' })
  .max(64, { error: 'has more than 64 tiers' })
  .superRefine((tiers, ctx) => {
    if (tiers[0] && tiers[0].from !== 0) ctx.addIssue({ code: 'custom', message: 'the first tier must start at 0' });
    for (let i = 1; i < tiers.length; i++) {
      if (tiers[i]!.from <= tiers[i - 1]!.from) {
        ctx.addIssue({ code: 'custom', path: [i, 'from'], message: 'tiers must be in strictly ascending order' });
      }
    }
  });

export const incrementRuleSchema = z.discriminatedUnion('type', [
  z.strictObject({ type: z.literal('fixed'), amount: positiveMinorUnitsSchema }),
  z.strictObject({ type: z.literal('table'), tiers: incrementTableSchema }),
]);

/** The increment that applies at `currentPrice`. */
export function incrementAt(rule: IncrementRule, currentPrice: number): number {
  if (rule.type === 'fixed') return rule.amount;
  let step = rule.tiers[0]!.increment;
  for (const tier of rule.tiers) {
    if (tier.from > currentPrice) break;
    step = tier.increment;
  }
  return step;
}

/**
 * True when a bid of `amount` leaves room for an answer: `amount` plus the increment that applies at it is still
 * within {@link MAX_MINOR_UNITS}. Every engine refuses a jump bid that does not (INVALID_AMOUNT), so nobody can
 * take an auction straight to a price no rival may answer; a bid of exactly the minimum next bid is always allowed
 * up to the maximum, so the last step to the top is always an answer, open to everyone.
 */
export function isOutbiddable(rule: IncrementRule, amount: number): boolean {
  return amount + incrementAt(rule, amount) <= MAX_MINOR_UNITS;
}

/**
 * eBay's US increments in cents, keyed by current price: under $1 → $0.05, $1 → $0.25, $5 → $0.50, $25 → $1,
 * $100 → $2.50, $250 → $5, $500 → $10, $1,000 → $25, $2,500 → $50, $5,000 and up → $100.
 */
export const EBAY_USD_INCREMENTS: readonly IncrementTier[] = Object.freeze([
  { from: 0, increment: 5 },
  { from: 100, increment: 25 },
  { from: 500, increment: 50 },
  { from: 2_500, increment: 100 },
  { from: 10_000, increment: 250 },
  { from: 25_000, increment: 500 },
  { from: 50_000, increment: 1_000 },
  { from: 100_000, increment: 2_500 },
  { from: 250_000, increment: 5_000 },
  { from: 500_000, increment: 10_000 },
]);
