import type { AuctionState } from '../domain/auction.js';
import type { BidDecision, BidKind, BidRecord } from '../domain/bid.js';
import type { PlaceBidCommand } from '../rules/place-bid.js';
import type { TransitionMode, TransitionOutcome } from '../rules/transitions.js';

export const ENGINE_SPECIFICATION_VERSION = 'v1';

const DAY_MS = 86_400_000;

/**
 * The retention every engine keeps by default, so that an engine taking over from another (failover, a restart on
 * another kind) keeps answers as long as the one it replaced: a bid's idempotency record lives until the auction's
 * effective end plus `idempotencyTtlMs`, never less than `minIdempotencyTtlMs`; a sealed (ended or cancelled) auction
 * stays held `sealedRetentionMs`, then is rebuilt from the ledger if asked for again.
 */
export const ENGINE_RETENTION = { idempotencyTtlMs: 7 * DAY_MS, minIdempotencyTtlMs: DAY_MS, sealedRetentionMs: DAY_MS } as const;

/** The idempotency TTL (ms) an engine keeps for a requested one: the default when none is given, at least a day. */
export function engineIdempotencyTtlMs(requested?: number): number {
  return Math.max(requested ?? ENGINE_RETENTION.idempotencyTtlMs, ENGINE_RETENTION.minIdempotencyTtlMs);
}

export type EngineBidResult =
  | {
      kind: 'decided';
      decision: BidDecision;
      replayed: boolean;
      /**
       * For a fresh decision that changed the auction (an accept, or a bid the leader's maximum answered with an
       * automatic bid): the whole state it produced (what the ledger records). Null otherwise.
       */
      state: AuctionState | null;
      /** What the new version's ledger record stands for (see BidKind); null when `state` is. */
      bidKind: BidKind | null;
      /** For a fresh accept that extended the end: the end before it. Null otherwise. */
      previousEndAt: number | null;
    }
  /** The engine does not hold this auction (never loaded, evicted, or restarted empty): hydrate and retry. */
  | { kind: 'needs_hydration' };

export type EngineTransitionResult = TransitionOutcome | { kind: 'needs_hydration' };

export type HydrateResult = { applied: true } | { applied: false; currentVersion: number };

/**
 * The bid engine decides atomically with its own authoritative clock. It is a cache of the ledger:
 * any state it holds can be dropped and rebuilt with {@link BidEngine.hydrate}.
 */
export interface BidEngine {
  readonly specificationVersion: typeof ENGINE_SPECIFICATION_VERSION;
  readonly name: string;
  /** Idempotency lookup, rules and state change in one atomic step. */
  placeBid(command: PlaceBidCommand): Promise<EngineBidResult>;
  start(auctionId: string, mode: TransitionMode): Promise<EngineTransitionResult>;
  end(auctionId: string, mode: TransitionMode): Promise<EngineTransitionResult>;
  cancel(auctionId: string): Promise<EngineTransitionResult>;
  /** The hot state, or null when the engine does not hold the auction. */
  getState(auctionId: string): Promise<AuctionState | null>;
  /**
   * Loads a state from the ledger, with the auction's idempotency records from the ledger (see
   * `Ledger.idempotencyRecords`; `invalid` ones are ignored), so retries keep their first answers across any
   * rebuild. Refuses (applied: false) when the engine already holds a newer version. A copy of the same version
   * keeps its own records and gains the given ones; an older or absent copy's records are replaced by them.
   */
  hydrate(state: AuctionState, records?: readonly BidRecord[]): Promise<HydrateResult>;
  /** Forgets an auction, its idempotency records included; the next call answers needs_hydration. */
  drop(auctionId: string): Promise<void>;
  /** The engine's authoritative time, epoch ms. */
  now(): Promise<number>;
  close(): Promise<void>;
}
