import { z } from 'zod';

/**
 * Anti-sniping: an accepted bid that arrives within `windowMs` of the effective end moves the end.
 * `reset`: new end = bid time + extendMs (never earlier than the current end).
 * `additive`: new end = current end + extendMs.
 * Caps: at most `maxExtensions` extensions, and never past `hardEndAt`.
 */
export interface SoftClosePolicy {
  windowMs: number;
  extendMs: number;
  mode: 'reset' | 'additive';
  maxExtensions: number | null;
  hardEndAt: number | null;
}

const DAY_MS = 86_400_000;

export const softClosePolicySchema = z.strictObject({
  windowMs: z.number().int().min(1).max(DAY_MS),
  extendMs: z.number().int().min(1).max(DAY_MS),
  mode: z.enum(['reset', 'additive']),
  maxExtensions: z.number().int().min(0).max(1_000_000).nullable().default(null),
  hardEndAt: z.number().int().min(0).nullable().default(null),
});

/**
 * The effective end after an accepted bid at `bidAt`, or null when the end does not move.
 * Callers only use it for accepted bids: rejected bids never postpone an auction.
 */
export function extendedEnd(
  policy: SoftClosePolicy | null,
  effectiveEndAt: number,
  extensionCount: number,
  bidAt: number,
): number | null {
  if (!policy) return null;
  if (effectiveEndAt - bidAt > policy.windowMs) return null;
  if (policy.maxExtensions !== null && extensionCount >= policy.maxExtensions) return null;
  let candidate = policy.mode === 'reset' ? bidAt + policy.extendMs : effectiveEndAt + policy.extendMs;
  if (policy.hardEndAt !== null) candidate = Math.min(candidate, policy.hardEndAt);
  return candidate > effectiveEndAt ? candidate : null;
}
