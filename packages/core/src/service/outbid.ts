import { isDeepStrictEqual } from 'node:util';
import { z } from 'zod';
import {
  createAuctionInputSchema,
  minNextBid,
  type AuctionState,
  type AuctionStatus,
  type CreateAuctionInput,
} from '../domain/auction.js';
import { bidRecordFromDecision, type BidDecision, type BidRecord } from '../domain/bid.js';
import { makeEvent, type AuctionEvent } from '../domain/events.js';
import { ErrorCodes, OutbidError, validationError } from '../errors.js';
import { uuidv7 } from '../ids.js';
import { createMemoryBus } from '../memory/bus.js';
import { createMemoryEngine } from '../memory/engine.js';
import { createMemoryLedger } from '../memory/ledger.js';
import { createMemoryScheduler } from '../memory/scheduler.js';
import type { EventBus, Subscription } from '../ports/bus.js';
import type { CachePurger } from '../ports/purger.js';
import { systemClock, type Clock } from '../ports/clock.js';
import type { BidEngine, EngineTransitionResult } from '../ports/engine.js';
import type { ApplyResult, Ledger, LedgerChange, ListBidsQuery, Page } from '../ports/ledger.js';
import type { JobOutcome, ScheduledJob, Scheduler } from '../ports/scheduler.js';
import type { TransitionMode } from '../rules/transitions.js';
import { zodIssues } from '../validation.js';
import { createOutboxRelay, type OutboxRelay } from './relay.js';
import { createWriteBatcher } from './write-batcher.js';
import { engineFailures, ledgerFailures } from './unavailable.js';

export interface OutbidLogger {
  warn(obj: object, msg: string): void;
  error(obj: object, msg: string): void;
}

export interface OutbidOptions {
  engine?: BidEngine;
  ledger?: Ledger;
  bus?: EventBus;
  scheduler?: Scheduler;
  /** Drives timers; the memory engine also takes its time from it. */
  clock?: Clock;
  /** Id generator for auctions and bids (default UUIDv7). */
  newId?: () => string;
  /** How long an accepted decision may wait for its predecessor version to reach the ledger. */
  persistTimeoutMs?: number;
  /** Database guard interval: ends (and starts) whatever is overdue even with no scheduler. 0 turns it off. */
  guardIntervalMs?: number;
  /** Outbox relay poll interval; 0 turns the relay off (another process publishes). */
  relayPollMs?: number;
  /** Reconciler interval: compares the engine's copy of every open auction with the ledger. 0 (default) = off. */
  reconcileIntervalMs?: number;
  /** Rejected bids are written to the audit trail in batches, this often. */
  auditFlushMs?: number;
  logger?: OutbidLogger;
  /** Invalidates edge caches of an auction on every change it sees on the bus. Default: none. */
  purger?: CachePurger;
  /** Observability hooks (the server feeds its metrics from them). */
  hooks?: OutbidHooks;
}

export interface OutbidHooks {
  onBidDecided?(decision: BidDecision, info: { replayed: boolean; durationMs: number }): void;
  onEnded?(state: AuctionState, latenessMs: number): void;
  onRepair?(auctionId: string, cause: string): void;
}

export interface PlaceBidRequest {
  auctionId: string;
  bidderId: string;
  amount: number;
  /** Scoped to (auction, bidder). Retries with the same key and payload get the first answer. */
  idempotencyKey?: string | null;
}

export interface PlaceBidResponse {
  decision: BidDecision;
  /** True when this is the stored answer to an earlier request with the same key. */
  replayed: boolean;
}

/** An auction as readers see it: the durable state plus derived fields. */
export interface AuctionView extends AuctionState {
  minNextBid: number;
  /** Authoritative time of the read, epoch ms. */
  serverTime: number;
}

export interface ListAuctionsRequest {
  status?: AuctionStatus;
  creatorId?: string;
  postId?: string;
  cursor?: string;
  limit?: number;
}

export interface ListBidsRequest {
  cursor?: string;
  limit?: number;
  include?: 'accepted' | 'all';
  /** Who asks: `include: 'all'` is for the auction's creator only. */
  actorId?: string;
}

export interface Outbid {
  readonly engine: BidEngine;
  readonly ledger: Ledger;
  readonly bus: EventBus;
  readonly scheduler: Scheduler;
  readonly clock: Clock;
  createAuction(creatorId: string, input: CreateAuctionInput): Promise<AuctionView>;
  getAuction(auctionId: string): Promise<AuctionView>;
  listAuctions(request?: ListAuctionsRequest): Promise<Page<AuctionView>>;
  placeBid(request: PlaceBidRequest): Promise<PlaceBidResponse>;
  startAuction(auctionId: string, actorId: string): Promise<AuctionView>;
  endAuction(auctionId: string, actorId: string): Promise<AuctionView>;
  cancelAuction(auctionId: string, actorId: string): Promise<AuctionView>;
  listBids(auctionId: string, request?: ListBidsRequest): Promise<Page<BidRecord>>;
  /** Events from the bus, for this process: every auction, or one. Returns an unsubscribe function. */
  subscribe(listener: (event: AuctionEvent) => void, filter?: { auctionId?: string }): () => void;
  /** Runs a due start or end now (what the scheduler and the guard call). */
  runDueJob(job: ScheduledJob): Promise<JobOutcome>;
  /**
   * One reconciler pass over open auctions: where the engine's copy differs from the ledger it is rebuilt.
   * An engine ahead of the ledger is repaired only when it stays ahead for persistTimeoutMs (a write may be
   * on its way). Returns the ids it repaired.
   */
  reconcile(auctionIds?: string[]): Promise<string[]>;
  /**
   * Arms the scheduler for every open auction in the ledger (after a restart an in-memory scheduler has
   * forgotten them; a persistent one just replaces its entries). Returns how many jobs it armed.
   */
  rearmScheduler(): Promise<number>;
  /** One pass of the database guard: finalises every overdue auction. Returns how many it changed. */
  runGuard(): Promise<number>;
  /** The engine's authoritative time. */
  now(): Promise<number>;
  /** Resolves once this instance receives bus events (a Kafka consumer has joined its group). */
  ready(): Promise<void>;
  /** Resolves when background work started so far (persists, audit, relay, timers) is done. */
  idle(): Promise<void>;
  close(): Promise<void>;
}

const MAX_ATTEMPTS = 5;
const GUARD_CONCURRENCY = 32;
const MAX_PAGE = 100;
const idSchema = z.string().min(1).max(128);
const bidRequestSchema = z.strictObject({
  auctionId: idSchema,
  bidderId: idSchema,
  amount: z.number({ error: 'amount must be a number of minor units' }).refine(Number.isFinite, 'amount must be finite'),
  idempotencyKey: z.string().min(1).max(255).nullable().optional(),
});

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/**
 * Composes an engine, a ledger, a bus, a scheduler and a clock into the auction service.
 * With no options everything runs in memory.
 */
export function createOutbid(options: OutbidOptions = {}): Outbid {
  const clock = options.clock ?? systemClock;
  const engine = engineFailures(options.engine ?? createMemoryEngine({ clock }));
  const ledger = ledgerFailures(options.ledger ?? createMemoryLedger());
  const bus = options.bus ?? createMemoryBus();
  const scheduler = options.scheduler ?? createMemoryScheduler({ clock });
  const newId = options.newId ?? (() => uuidv7());
  const persistTimeoutMs = options.persistTimeoutMs ?? 5_000;
  const log = options.logger ?? { warn: () => {}, error: () => {} };
  const hooks = options.hooks ?? {};
  const background = new Set<Promise<unknown>>();
  const persistChains = new Map<string, Promise<unknown>>();
  const inFlightAccepts = new Map<string, Promise<unknown>>();
  const listeners = new Set<{ auctionId: string | undefined; fn: (e: AuctionEvent) => void }>();
  let auditQueue: BidRecord[] = [];
  let closed = false;

  const track = <T>(promise: Promise<T>): Promise<T> => {
    background.add(promise);
    void promise.then(
      () => background.delete(promise),
      () => background.delete(promise),
    );
    return promise;
  };

  const relay: OutboxRelay | null =
    options.relayPollMs === 0
      ? null
      : createOutboxRelay({
          ledger,
          bus,
          pollMs: options.relayPollMs ?? 250,
          onError: (error) => log.error({ err: error }, 'outbox relay pass failed'),
        });
  const kickRelay = () => {
    if (relay) void track(relay.kick());
  };

  const purger = options.purger;
  const busSubscription: Promise<Subscription> = bus.subscribe((event) => {
    purger?.purge(event.auctionId);
    for (const l of listeners) if (l.auctionId === undefined || l.auctionId === event.auctionId) l.fn(event);
  });

  const ensureOpen = () => {
    if (closed) throw new OutbidError(ErrorCodes.CLOSED, 'Outbid is closed.');
  };

  const view = (state: AuctionState, serverTime: number): AuctionView => ({
    ...state,
    minNextBid: minNextBid(state),
    serverTime,
  });

  const loadDurable = async (auctionId: string): Promise<AuctionState> => {
    const state = await ledger.getAuction(auctionId);
    if (!state) throw new OutbidError(ErrorCodes.AUCTION_NOT_FOUND, `Auction ${auctionId} does not exist.`);
    return state;
  };

  /** Rebuilds the engine's copy from the ledger: the cure for every disagreement. */
  const rehydrate = async (auctionId: string, cause: string | null) => {
    if (cause !== null) {
      hooks.onRepair?.(auctionId, cause);
      log.warn({ auctionId, cause }, 'engine state rebuilt from the ledger');
      await engine.drop(auctionId);
    }
    const state = await loadDurable(auctionId);
    await engine.hydrate(state);
  };

  const writeOne = (change: LedgerChange) => ledger.applyChange(change);
  // Starts, ends and cancels are written in batches: 2,000 auctions ending in one second become a few dozen
  // commits instead of 2,000, which is what keeps each end within its SLA. Bids keep their own write (bidders
  // wait on it).
  const writeBatched = createWriteBatcher(ledger);

  /**
   * The fenced write, in version order. Within this process changes of one auction are chained; a change from
   * another instance that is still on its way shows up as `behind`, which is retried until persistTimeoutMs.
   */
  const persist = (auctionId: string, change: LedgerChange, write: (change: LedgerChange) => Promise<ApplyResult> = writeOne): Promise<ApplyResult> => {
    const previous = persistChains.get(auctionId) ?? Promise.resolve();
    const run = previous.then(async () => {
      const deadline = Date.now() + persistTimeoutMs;
      for (let wait = 5; ; wait = Math.min(wait * 2, 100)) {
        const result = await write(change);
        if (result.ok || result.reason !== 'behind' || Date.now() >= deadline) return result;
        await sleep(wait);
      }
    });
    const settled = run.catch(() => undefined);
    persistChains.set(auctionId, settled);
    void settled.then(() => {
      if (persistChains.get(auctionId) === settled) persistChains.delete(auctionId);
    });
    return run;
  };

  const scheduleFlushAudit = (() => {
    let timer: ReturnType<typeof setTimeout> | null = null;
    const flush = async () => {
      timer = null;
      const batch = auditQueue;
      auditQueue = [];
      if (batch.length === 0) return;
      try {
        await ledger.recordAudit(batch);
      } catch (error) {
        log.error({ err: error, count: batch.length }, 'audit batch not written');
      }
    };
    return (now = false) => {
      if (now) {
        if (timer) clearTimeout(timer);
        return track(flush());
      }
      if (auditQueue.length >= 200) return track(flush());
      if (!timer) {
        timer = setTimeout(() => void track(flush()), options.auditFlushMs ?? 50);
        timer.unref?.();
      }
      return Promise.resolve();
    };
  })();

  const audit = (decision: BidDecision, key: string | null, fingerprint: string) => {
    if (!Number.isSafeInteger(decision.amount) || decision.reason === 'IDEMPOTENCY_KEY_REUSED') return;
    auditQueue.push(bidRecordFromDecision(decision, key, fingerprint));
    void scheduleFlushAudit();
  };

  const bidEvents = (state: AuctionState, decision: BidDecision, previousEndAt: number): AuctionEvent[] => {
    const min = minNextBid(state);
    const events: AuctionEvent[] = [
      makeEvent('BidAccepted', state, min, decision.decidedAt, {
        bidId: decision.bidId,
        bidderId: decision.bidderId,
        amount: decision.amount,
      }),
    ];
    if (decision.extended) events.push(makeEvent('AuctionExtended', state, min, decision.decidedAt, { previousEndAt }));
    return events;
  };

  /**
   * A replayed `accepted` is reported only once the ledger has it. Returns the stored decision, or null when
   * the accept is lost (it never reached the ledger in time): the caller re-decides.
   */
  const confirmAccepted = async (decision: BidDecision, key: string): Promise<BidDecision | null> => {
    const pending = inFlightAccepts.get(decision.bidId);
    if (pending) await pending.catch(() => undefined);
    const stored = await ledger.findBidByIdempotencyKey(decision.auctionId, decision.bidderId, key);
    if (stored) return stored.decision;
    const age = (await engine.now()) - decision.decidedAt;
    if (age < persistTimeoutMs) {
      throw new OutbidError(ErrorCodes.IDEMPOTENCY_IN_PROGRESS, 'The first request with this key is still being processed.', {
        retryAfterMs: 1_000,
      });
    }
    return null;
  };

  const placeBid = async (request: PlaceBidRequest): Promise<PlaceBidResponse> => {
    ensureOpen();
    const parsed = bidRequestSchema.safeParse(request);
    if (!parsed.success) throw validationError(zodIssues(parsed.error));
    const started = performance.now();
    const { auctionId, bidderId, amount } = parsed.data;
    const key = parsed.data.idempotencyKey ?? null;
    const fingerprint = JSON.stringify({ amount });
    const bidId = newId();
    const respond = (decision: BidDecision, replayed: boolean): PlaceBidResponse => {
      hooks.onBidDecided?.(decision, { replayed, durationMs: performance.now() - started });
      return { decision, replayed };
    };

    for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
      const result = await engine.placeBid({ auctionId, bidderId, amount, bidId, idempotencyKey: key, fingerprint });
      if (result.kind === 'needs_hydration') {
        // Redis may have lost its copy (and with it the idempotency record): the ledger answers retries first.
        if (key !== null) {
          const stored = await ledger.findBidByIdempotencyKey(auctionId, bidderId, key);
          if (stored) {
            if (stored.fingerprint !== fingerprint) {
              const state = await loadDurable(auctionId);
              return respond(keyReusedFor(state, stored, amount, await engine.now()), false);
            }
            return respond(stored.decision, true);
          }
        }
        await rehydrate(auctionId, null);
        continue;
      }
      const { decision } = result;
      if (result.replayed) {
        if (decision.status !== 'accepted' || key === null) return respond(decision, true);
        const confirmed = await confirmAccepted(decision, key);
        if (confirmed) return respond(confirmed, true);
        await rehydrate(auctionId, 'replayed accept never reached the ledger');
        continue;
      }
      if (decision.status !== 'accepted') {
        audit(decision, key, fingerprint);
        return respond(decision, false);
      }

      const state = result.state;
      if (!state) throw new Error(`engine ${engine.name} accepted a bid without returning the new state`);
      const change = {
        state,
        bid: bidRecordFromDecision(decision, key, fingerprint),
        events: bidEvents(state, decision, result.previousEndAt ?? state.effectiveEndAt),
      };
      const write = persist(auctionId, change);
      inFlightAccepts.set(decision.bidId, write);
      let outcome: ApplyResult;
      try {
        outcome = await write;
      } catch (error) {
        // The engine is now ahead of the ledger: forget its copy so nobody builds on an unrecorded accept.
        await engine.drop(auctionId).catch(() => undefined);
        throw new OutbidError(ErrorCodes.LEDGER_UNAVAILABLE, 'The bid could not be recorded; it was not placed.', {
          cause: error,
          retryAfterMs: 1_000,
        });
      } finally {
        inFlightAccepts.delete(decision.bidId);
      }
      if (outcome.ok) {
        kickRelay();
        return respond(decision, false);
      }
      if (outcome.reason === 'duplicate_key') {
        await rehydrate(auctionId, 'idempotency key already in the ledger');
        return respond(outcome.existing.decision, true);
      }
      if (outcome.reason === 'not_found') throw new OutbidError(ErrorCodes.AUCTION_NOT_FOUND, `Auction ${auctionId} does not exist.`);
      await rehydrate(auctionId, `ledger fence: ${outcome.reason} at version ${outcome.ledgerVersion}`);
    }
    throw new OutbidError(ErrorCodes.CONFLICT_RETRY_EXHAUSTED, 'The bid could not be decided; try again.', { retryAfterMs: 500 });
  };

  const transitionEvents = (state: AuctionState, now: number): AuctionEvent[] => {
    const min = minNextBid(state);
    switch (state.status) {
      case 'active':
        return [makeEvent('AuctionStarted', state, min, now, {})];
      case 'ended':
        return [
          makeEvent('AuctionEnded', state, min, now, {
            winnerId: state.currentWinnerId,
            finalPrice: state.currentWinnerId === null ? null : state.currentPrice,
          }),
        ];
      case 'cancelled':
        return [makeEvent('AuctionCancelled', state, min, now, {})];
      default:
        return [];
    }
  };

  type Transition = (auctionId: string) => Promise<EngineTransitionResult>;

  /** Engine decides, ledger records (fenced), scheduler follows. Same repair loop as bids. */
  const runTransition = async (auctionId: string, decide: Transition, viaSchedulerEnd = false): Promise<EngineTransitionResult> => {
    for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
      const result = await decide(auctionId);
      if (result.kind === 'needs_hydration') {
        await rehydrate(auctionId, null);
        continue;
      }
      if (result.kind === 'unchanged') {
        const durable = await loadDurable(auctionId);
        if (durable.status === result.state.status) return result;
        await rehydrate(auctionId, 'engine status ahead of the ledger');
        continue;
      }
      if (result.kind !== 'applied') return result;
      const now = await engine.now();
      const outcome = await persist(auctionId, { state: result.state, events: transitionEvents(result.state, now) }, writeBatched);
      if (outcome.ok) {
        kickRelay();
        if (result.state.status === 'ended') hooks.onEnded?.(result.state, Math.max(0, now - result.previous.effectiveEndAt));
        // Sealed: no job may run any more. Skipped for a due end of a started auction: the scheduler running it
        // acknowledges it itself, and nothing else is armed.
        const ranByItsOwnJob = viaSchedulerEnd && result.previous.status === 'active';
        if (result.state.status !== 'active' && !ranByItsOwnJob) await scheduler.cancel(auctionId);
        return result;
      }
      if (outcome.reason === 'not_found') throw new OutbidError(ErrorCodes.AUCTION_NOT_FOUND, `Auction ${auctionId} does not exist.`);
      await rehydrate(auctionId, `ledger fence: ${outcome.reason}`);
    }
    throw new OutbidError(ErrorCodes.CONFLICT_RETRY_EXHAUSTED, 'The change could not be recorded; try again.', { retryAfterMs: 500 });
  };

  const manage = async (auctionId: string, actorId: string, decide: Transition): Promise<AuctionView> => {
    ensureOpen();
    const durable = await loadDurable(auctionId);
    if (durable.creatorId !== actorId) {
      throw new OutbidError(ErrorCodes.NOT_AUCTION_CREATOR, 'Only the auction’s creator can do that.');
    }
    const result = await runTransition(auctionId, decide);
    if (result.kind === 'needs_hydration') throw new OutbidError(ErrorCodes.ENGINE_UNAVAILABLE, 'The engine lost the auction.');
    if (result.kind === 'refused') {
      throw new OutbidError(ErrorCodes.INVALID_TRANSITION, result.reason === 'AUCTION_ENDED' ? 'The auction has ended.' : 'The auction was cancelled.');
    }
    return view(result.state, await engine.now());
  };

  const runDueJob = async (job: ScheduledJob): Promise<JobOutcome> => {
    const mode: TransitionMode = 'due';
    const result = await runTransition(job.auctionId, (id) => (job.kind === 'start' ? engine.start(id, mode) : engine.end(id, mode)), job.kind === 'end');
    if (result.kind === 'not_due') return { kind: 'rearm', at: result.dueAt };
    return { kind: 'done' };
  };

  const runGuard = async (): Promise<number> => {
    if (closed) return 0;
    if (ledger.withGuardLock) return (await ledger.withGuardLock(guardPass)) ?? 0;
    return guardPass();
  };

  /** One guard pass: every overdue start or end, page after page, a bounded number at a time. */
  const guardPass = async (): Promise<number> => {
    let changed = 0;
    const seen = new Set<string>();
    for (let page = 0; page < 1_000 && !closed; page++) {
      const now = await engine.now();
      const due = (await ledger.findDue(now, 500)).filter((s) => !seen.has(s.id));
      if (due.length === 0) break;
      let next = 0;
      const worker = async () => {
        while (next < due.length) {
          const state = due[next++]!;
          seen.add(state.id);
          const kind = state.status === 'scheduled' && state.startAt <= now && now < state.effectiveEndAt ? 'start' : 'end';
          try {
            const result = await runDueJob({ auctionId: state.id, kind, at: kind === 'start' ? state.startAt : state.effectiveEndAt });
            if (result.kind === 'done') changed++;
          } catch (error) {
            log.error({ err: error, auctionId: state.id }, 'guard could not finalise auction');
          }
        }
      };
      await Promise.all(Array.from({ length: GUARD_CONCURRENCY }, worker));
    }
    return changed;
  };

  /** Engine copies seen ahead of the ledger: id → [engine version, first seen (ms)]. */
  const aheadSince = new Map<string, [number, number]>();

  /** Compares one auction's engine copy with the ledger; rebuilds it when they differ. True when repaired. */
  const reconcileOne = async (durable: AuctionState): Promise<boolean> => {
    const hot = await engine.getState(durable.id);
    if (!hot) return false; // not loaded: the next call hydrates it
    if (hot.version > durable.version) {
      const seen = aheadSince.get(durable.id);
      if (!seen || seen[0] !== hot.version) {
        aheadSince.set(durable.id, [hot.version, Date.now()]);
        return false;
      }
      if (Date.now() - seen[1] < persistTimeoutMs) return false;
    } else if (hot.version === durable.version && isDeepStrictEqual(hot, durable)) {
      aheadSince.delete(durable.id);
      return false;
    }
    aheadSince.delete(durable.id);
    await rehydrate(durable.id, `reconciler: engine v${hot.version}, ledger v${durable.version}`);
    return true;
  };

  const reconcile = async (auctionIds?: string[]): Promise<string[]> => {
    const repaired: string[] = [];
    if (auctionIds) {
      for (const id of auctionIds) {
        const durable = await ledger.getAuction(id);
        if (durable && (await reconcileOne(durable))) repaired.push(id);
      }
      return repaired;
    }
    for (const status of ['active', 'scheduled'] as const) {
      let cursor: string | undefined;
      do {
        const page = await ledger.listAuctions({ status, limit: 200, ...(cursor ? { cursor } : {}) });
        for (const durable of page.items) if (await reconcileOne(durable)) repaired.push(durable.id);
        cursor = page.nextCursor ?? undefined;
      } while (cursor && !closed);
    }
    return repaired;
  };

  void scheduler.start(runDueJob);
  const reconcileTimer =
    (options.reconcileIntervalMs ?? 0) > 0
      ? setInterval(() => void track(reconcile().catch((err: unknown) => log.error({ err }, 'reconciler pass failed'))), options.reconcileIntervalMs)
      : null;
  reconcileTimer?.unref?.();
  const guardIntervalMs = options.guardIntervalMs ?? 5_000;
  const guardTimer = guardIntervalMs > 0 ? setInterval(() => void track(runGuard()), guardIntervalMs) : null;
  guardTimer?.unref?.();

  return {
    engine,
    ledger,
    bus,
    scheduler,
    clock,
    async createAuction(creatorId, input) {
      ensureOpen();
      const creator = idSchema.safeParse(creatorId);
      const parsed = createAuctionInputSchema.safeParse(input);
      if (!creator.success) throw validationError([{ path: 'creatorId', message: 'must be a non-empty id' }]);
      if (!parsed.success) throw validationError(zodIssues(parsed.error));
      const now = await engine.now();
      const data = parsed.data;
      if (data.endAt <= now) throw validationError([{ path: 'endAt', message: 'must be in the future' }]);
      const state: AuctionState = {
        id: newId(),
        postId: data.postId,
        creatorId,
        currency: data.currency,
        startAt: data.startAt,
        endAt: data.endAt,
        effectiveEndAt: data.endAt,
        startPrice: data.startPrice,
        increment: data.increment,
        softClose: data.softClose,
        status: data.startAt <= now ? 'active' : 'scheduled',
        currentPrice: data.startPrice,
        currentWinnerId: null,
        version: 1,
        bidCount: 0,
        extensionCount: 0,
        createdAt: now,
        closedAt: null,
      };
      await ledger.createAuction(state, [
        makeEvent('AuctionCreated', state, minNextBid(state), now, { creatorId, postId: state.postId }),
      ]);
      kickRelay();
      await engine.hydrate(state);
      if (state.status === 'scheduled') await scheduler.arm({ auctionId: state.id, kind: 'start', at: state.startAt });
      await scheduler.arm({ auctionId: state.id, kind: 'end', at: state.effectiveEndAt });
      return view(state, now);
    },
    async getAuction(auctionId) {
      ensureOpen();
      if (!idSchema.safeParse(auctionId).success) throw new OutbidError(ErrorCodes.AUCTION_NOT_FOUND, 'No such auction.');
      const state = await loadDurable(auctionId);
      return view(state, await engine.now());
    },
    async listAuctions(request = {}) {
      ensureOpen();
      const limit = Math.min(Math.max(request.limit ?? 20, 1), MAX_PAGE);
      const page = await ledger.listAuctions({ ...request, limit });
      const now = await engine.now();
      return { items: page.items.map((s) => view(s, now)), nextCursor: page.nextCursor };
    },
    placeBid,
    startAuction: (auctionId, actorId) => manage(auctionId, actorId, (id) => engine.start(id, 'now')),
    endAuction: (auctionId, actorId) => manage(auctionId, actorId, (id) => engine.end(id, 'now')),
    cancelAuction: (auctionId, actorId) => manage(auctionId, actorId, (id) => engine.cancel(id)),
    async listBids(auctionId, request = {}) {
      ensureOpen();
      const state = await loadDurable(auctionId);
      const include = request.include ?? 'accepted';
      if (include === 'all' && request.actorId !== state.creatorId) {
        throw new OutbidError(ErrorCodes.NOT_AUCTION_CREATOR, 'Only the auction’s creator can see every bid.');
      }
      if (include === 'all') await scheduleFlushAudit(true);
      const query: ListBidsQuery = { include, limit: Math.min(Math.max(request.limit ?? 50, 1), MAX_PAGE) };
      if (request.cursor !== undefined) query.cursor = request.cursor;
      return ledger.listBids(auctionId, query);
    },
    subscribe(listener, filter = {}) {
      const entry = { auctionId: filter.auctionId, fn: listener };
      listeners.add(entry);
      return () => listeners.delete(entry);
    },
    runDueJob,
    runGuard,
    reconcile,
    async rearmScheduler() {
      let armed = 0;
      for (const status of ['scheduled', 'active'] as const) {
        let cursor: string | undefined;
        do {
          const page = await ledger.listAuctions({ status, limit: 200, ...(cursor ? { cursor } : {}) });
          for (const state of page.items) {
            if (state.status === 'scheduled') {
              await scheduler.arm({ auctionId: state.id, kind: 'start', at: state.startAt });
              armed++;
            }
            await scheduler.arm({ auctionId: state.id, kind: 'end', at: state.effectiveEndAt });
            armed++;
          }
          cursor = page.nextCursor ?? undefined;
        } while (cursor);
      }
      return armed;
    },
    now: () => engine.now(),
    async ready() {
      await busSubscription;
    },
    async idle() {
      await scheduleFlushAudit(true);
      for (let i = 0; i < 10; i++) {
        const idleScheduler = (scheduler as { idle?: () => Promise<void> }).idle;
        if (idleScheduler) await idleScheduler.call(scheduler);
        await Promise.all([...background]);
        if (relay) await relay.drain();
        const idleBus = (bus as { idle?: () => Promise<void> }).idle;
        if (idleBus) await idleBus.call(bus);
        if (background.size === 0) break;
      }
    },
    async close() {
      if (closed) return;
      closed = true;
      if (guardTimer) clearInterval(guardTimer);
      if (reconcileTimer) clearInterval(reconcileTimer);
      await scheduleFlushAudit(true);
      await Promise.all([...background]);
      await scheduler.close();
      if (relay) {
        await relay.drain();
        await relay.close();
      }
      await (await busSubscription).close();
      await purger?.close();
      await Promise.allSettled([engine.close(), bus.close(), ledger.close()]);
    },
  };
}

/** A reused key found in the ledger after the engine lost its record: same answer as the engine gives. */
function keyReusedFor(state: AuctionState, stored: BidRecord, amount: number, now: number): BidDecision {
  return {
    status: 'invalid',
    reason: 'IDEMPOTENCY_KEY_REUSED',
    bidId: stored.bidId,
    auctionId: state.id,
    bidderId: stored.bidderId,
    amount,
    minNextBid: minNextBid(state),
    auctionStatus: state.status,
    currentPrice: state.currentPrice,
    currentWinnerId: state.currentWinnerId,
    version: state.version,
    endAt: state.effectiveEndAt,
    extended: false,
    decidedAt: now,
  };
}
