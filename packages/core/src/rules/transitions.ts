import type { AuctionState } from '../domain/auction.js';

/** `due`: the scheduler fires at the planned time. `now`: the creator acts early. */
export type TransitionMode = 'due' | 'now';

export type RefusalReason = 'AUCTION_ENDED' | 'AUCTION_CANCELLED';

export type TransitionOutcome =
  | { kind: 'applied'; state: AuctionState; previous: AuctionState }
  | { kind: 'unchanged'; state: AuctionState }
  | { kind: 'not_due'; state: AuctionState; dueAt: number }
  | { kind: 'refused'; state: AuctionState; reason: RefusalReason };

const bump = (state: AuctionState, changes: Partial<AuctionState>): AuctionState => ({
  ...state,
  ...changes,
  version: state.version + 1,
});

/** scheduled → active, at `startAt` (due) or early (now). */
export function decideStart(state: AuctionState, now: number, mode: TransitionMode): TransitionOutcome {
  if (state.status === 'cancelled') return { kind: 'refused', state, reason: 'AUCTION_CANCELLED' };
  if (state.status === 'ended' || now >= state.effectiveEndAt) return { kind: 'refused', state, reason: 'AUCTION_ENDED' };
  if (state.status === 'active') return { kind: 'unchanged', state };
  if (mode === 'due' && now < state.startAt) return { kind: 'not_due', state, dueAt: state.startAt };
  const startAt = Math.min(state.startAt, now);
  return { kind: 'applied', previous: state, state: bump(state, { status: 'active', startAt }) };
}

/**
 * → ended. Due: only once the authoritative time reached the effective end; before that the answer is
 * `not_due` with the (possibly extended) end, so the scheduler re-arms. Now: the creator seals it at once.
 */
export function decideEnd(state: AuctionState, now: number, mode: TransitionMode): TransitionOutcome {
  if (state.status === 'ended') return { kind: 'unchanged', state };
  if (state.status === 'cancelled') return { kind: 'refused', state, reason: 'AUCTION_CANCELLED' };
  if (mode === 'due' && now < state.effectiveEndAt) return { kind: 'not_due', state, dueAt: state.effectiveEndAt };
  const effectiveEndAt = Math.min(state.effectiveEndAt, now);
  return { kind: 'applied', previous: state, state: bump(state, { status: 'ended', effectiveEndAt, closedAt: now }) };
}

/** → cancelled, only while the auction is not over. */
export function decideCancel(state: AuctionState, now: number): TransitionOutcome {
  if (state.status === 'cancelled') return { kind: 'unchanged', state };
  if (state.status === 'ended' || now >= state.effectiveEndAt) return { kind: 'refused', state, reason: 'AUCTION_ENDED' };
  return { kind: 'applied', previous: state, state: bump(state, { status: 'cancelled', effectiveEndAt: Math.min(state.effectiveEndAt, now), closedAt: now }) };
}
