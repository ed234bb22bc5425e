import { isSealed, type AuctionState } from '../domain/auction.js';
import type { BidDecision } from '../domain/bid.js';
import { ENGINE_RETENTION, ENGINE_SPECIFICATION_VERSION, type BidEngine, type EngineTransitionResult } from '../ports/engine.js';
import { systemClock, type Clock } from '../ports/clock.js';
import { decideBid, isStoredDecision, keyReusedDecision, type PlaceBidCommand } from '../rules/place-bid.js';
import { decideCancel, decideEnd, decideStart, type TransitionOutcome } from '../rules/transitions.js';

const refused = (decision: BidDecision, replayed: boolean) =>
  ({ kind: 'decided', decision, replayed, state: null, previousEndAt: null, bidKind: null }) as const;

interface StoredAnswer {
  fingerprint: string;
  decision: BidDecision;
}

interface HotAuction {
  state: AuctionState;
  /** `bidderId \0 key` → first answer for that key. */
  keys: Map<string, StoredAnswer>;
}

export interface MemoryEngineOptions {
  clock?: Clock;
  /**
   * How long an ended or cancelled auction stays held after it sealed, answering late bids and retries from memory.
   * Then it is forgotten, its stored answers too, and rebuilt from the ledger (`hydrate`) if it is asked for again:
   * what the Redis engine does with a sealed auction's keys. Default one day. Without it a long-running process would
   * hold every auction and every keyed answer it ever saw.
   */
  sealedRetentionMs?: number;
}

/**
 * The in-process bid engine: single-threaded JavaScript makes every call atomic. It is the embedded
 * default and the reference model the Redis engine is tested against.
 */
export function createMemoryEngine(options: MemoryEngineOptions = {}): BidEngine {
  const clock = options.clock ?? systemClock;
  const retentionMs = options.sealedRetentionMs ?? ENGINE_RETENTION.sealedRetentionMs;
  if (!Number.isSafeInteger(retentionMs) || retentionMs < 0) throw new RangeError('sealedRetentionMs is a whole number of ms, 0 or more');
  const auctions = new Map<string, HotAuction>();
  /**
   * When each held auction sealed, in the order they sealed. A wall clock stepping back can put a later time before
   * an earlier one; the sweep then forgets the later ones late, never early.
   */
  const sealedAt = new Map<string, number>();
  const noteSealed = (state: AuctionState, now: number) => {
    if (isSealed(state) && !sealedAt.has(state.id)) sealedAt.set(state.id, now);
  };
  /** Forgets the auctions sealed at least `retentionMs` ago; looks at one entry when none is due. */
  const forgetExpired = (now: number) => {
    for (const [id, at] of sealedAt) {
      if (at + retentionMs > now) return;
      sealedAt.delete(id);
      auctions.delete(id);
    }
  };

  const transition = (auctionId: string, decide: (s: AuctionState, now: number) => TransitionOutcome): EngineTransitionResult => {
    const now = clock.now();
    forgetExpired(now);
    const hot = auctions.get(auctionId);
    if (!hot) return { kind: 'needs_hydration' };
    const outcome = decide(hot.state, now);
    if (outcome.kind === 'applied') {
      hot.state = outcome.state;
      noteSealed(outcome.state, now);
    }
    return outcome;
  };

  return {
    specificationVersion: ENGINE_SPECIFICATION_VERSION,
    name: 'memory',
    async placeBid(cmd: PlaceBidCommand) {
      const now = clock.now();
      forgetExpired(now);
      const hot = auctions.get(cmd.auctionId);
      if (!hot) return { kind: 'needs_hydration' };
      const slot = cmd.idempotencyKey === null ? null : `${cmd.bidderId}\u0000${cmd.idempotencyKey}`;
      const stored = slot === null ? undefined : hot.keys.get(slot);
      if (stored) {
        if (stored.fingerprint !== cmd.fingerprint) {
          return refused(keyReusedDecision(hot.state, cmd, now), false);
        }
        return refused(stored.decision, true);
      }
      const previousEndAt = hot.state.effectiveEndAt;
      const { decision, next, kind } = decideBid(hot.state, cmd, now);
      if (next) {
        hot.state = next;
        noteSealed(next, now); // Buy It Now ends the auction
      }
      if (slot !== null && isStoredDecision(decision)) hot.keys.set(slot, { fingerprint: cmd.fingerprint, decision });
      if (!next) return refused(decision, false);
      // States are replaced, never mutated, so the caller may share this one.
      return { kind: 'decided', decision, replayed: false, state: next, previousEndAt: decision.extended ? previousEndAt : null, bidKind: kind };
    },
    async start(auctionId, mode) {
      return transition(auctionId, (s, now) => decideStart(s, now, mode));
    },
    async end(auctionId, mode) {
      return transition(auctionId, (s, now) => decideEnd(s, now, mode));
    },
    async cancel(auctionId) {
      return transition(auctionId, decideCancel);
    },
    async getState(auctionId) {
      forgetExpired(clock.now());
      const hot = auctions.get(auctionId);
      return hot ? { ...hot.state } : null;
    },
    async hydrate(state, records = []) {
      const now = clock.now();
      forgetExpired(now);
      const hot = auctions.get(state.id);
      if (hot && hot.state.version > state.version) return { applied: false, currentVersion: hot.state.version };
      // An older or absent copy's records may describe versions that never reached the ledger: the ledger's
      // records replace them. A copy of the same version keeps its own (decided on this very state).
      const keys = hot && hot.state.version === state.version ? hot.keys : new Map<string, StoredAnswer>();
      for (const r of records) {
        if (r.idempotencyKey === null || !isStoredDecision(r.decision)) continue;
        const slot = `${r.bidderId}\u0000${r.idempotencyKey}`;
        if (!keys.has(slot)) keys.set(slot, { fingerprint: r.fingerprint, decision: r.decision });
      }
      auctions.set(state.id, { state: { ...state }, keys });
      if (!isSealed(state)) sealedAt.delete(state.id); // (a sealed copy replaced by an open one of a later version)
      noteSealed(state, now);
      return { applied: true };
    },
    async drop(auctionId) {
      auctions.delete(auctionId);
      sealedAt.delete(auctionId);
    },
    async now() {
      return clock.now();
    },
    async close() {
      auctions.clear();
      sealedAt.clear();
    },
  };
}
