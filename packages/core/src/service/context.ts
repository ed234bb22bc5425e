import { minNextBid, type AuctionState } from '../domain/auction.js';
import { ErrorCodes, OutbidError } from '../errors.js';
import type { AuctionEvent } from '../domain/events.js';
import type { BidEngine } from '../ports/engine.js';
import type { ApplyResult, Ledger, LedgerChange } from '../ports/ledger.js';
import type { Scheduler } from '../ports/scheduler.js';
import type { AuctionView, OutbidHooks, OutbidLogger } from './api.js';
import { createFencedWrite, type FencedWrite } from './fence.js';
import { createGroupCommit, type GroupCommit } from './group-commit.js';
import type { OutboxRelay } from './relay.js';

/** What every room of the service shares: the ports, the fenced write, the cure (rehydrate) and the housekeeping. */
export interface ServiceContext {
  readonly engine: BidEngine;
  readonly ledger: Ledger;
  readonly scheduler: Scheduler;
  readonly newId: () => string;
  /** How long an accepted decision may wait for its predecessor version to reach the ledger. */
  readonly persistTimeoutMs: number;
  readonly log: OutbidLogger;
  readonly hooks: OutbidHooks;
  /** Background work started so far (persists, audit, relay kicks, timers); close and idle wait for it. */
  readonly background: Set<Promise<unknown>>;
  readonly persist: FencedWrite;
  /** Accepted bids' writes, by group commit (see createGroupCommit). */
  readonly persistBid: (change: LedgerChange) => Promise<ApplyResult>;
  /** Refusals' records in the same group commit, when the ledger can write both at once (see GroupCommit.carryAudit). */
  readonly carryAudit: GroupCommit['carryAudit'];
  isClosed(): boolean;
  ensureOpen(): void;
  track<T>(promise: Promise<T>): Promise<T>;
  /** Asks the outbox relay to publish now (a change was just committed). */
  kickRelay(): void;
  /** Hands events that were just committed to this process's listeners (no-op unless local delivery is on). */
  deliverCommitted(events: readonly AuctionEvent[]): void;
  view(state: AuctionState, serverTime: number): AuctionView;
  loadDurable(auctionId: string): Promise<AuctionState>;
  /** Rebuilds the engine's copy from the ledger: the cure for every disagreement. */
  rehydrate(auctionId: string, cause: string | null): Promise<void>;
}

export interface ServiceContextOptions {
  engine: BidEngine;
  ledger: Ledger;
  scheduler: Scheduler;
  newId: () => string;
  persistTimeoutMs: number;
  log: OutbidLogger;
  hooks: OutbidHooks;
  /** This process's listeners, for events committed here (null: they only get events from the bus). */
  deliverLocally: ((event: AuctionEvent) => void) | null;
  /** Null when another process publishes the outbox. */
  relay: OutboxRelay | null;
  isClosed(): boolean;
}

export function createServiceContext(options: ServiceContextOptions): ServiceContext {
  const { engine, ledger, log, hooks, relay, isClosed } = options;
  const background = new Set<Promise<unknown>>();
  /** Rebuilds of an engine copy under way, by auction. */
  const rebuilding = new Map<string, { cures: boolean; done: Promise<void> }>();

  const loadDurable = async (auctionId: string): Promise<AuctionState> => {
    const state = await ledger.getAuction(auctionId);
    if (!state) throw new OutbidError(ErrorCodes.AUCTION_NOT_FOUND, `Auction ${auctionId} does not exist.`);
    return state;
  };

  const groupCommit = createGroupCommit(ledger, options.persistTimeoutMs, { onCommitted: (change) => context.deliverCommitted(change.events) });
  const context: ServiceContext = {
    engine,
    ledger,
    scheduler: options.scheduler,
    newId: options.newId,
    persistTimeoutMs: options.persistTimeoutMs,
    log,
    hooks,
    background,
    persist: createFencedWrite(ledger, options.persistTimeoutMs, (change) => context.deliverCommitted(change.events)),
    persistBid: groupCommit.persist,
    carryAudit: groupCommit.carryAudit,
    isClosed,
    ensureOpen() {
      if (isClosed()) throw new OutbidError(ErrorCodes.CLOSED, 'Outbid is closed.');
    },
    track(promise) {
      background.add(promise);
      void promise.then(
        () => background.delete(promise),
        () => background.delete(promise),
      );
      return promise;
    },
    kickRelay() {
      if (relay) void context.track(relay.kick());
    },
    deliverCommitted(events) {
      const deliverLocally = options.deliverLocally;
      if (!deliverLocally) return;
      // One by one, as a bus hands them over: a listener that throws on one event still gets the next.
      for (const event of events) {
        try {
          deliverLocally(event);
        } catch (error) {
          log.error({ err: error, auctionId: event.auctionId, version: event.version }, 'local delivery of a committed event failed');
        }
      }
    },
    view: (state, serverTime) => ({ ...state, minNextBid: minNextBid(state), serverTime }),
    loadDurable,
    rehydrate(auctionId, cause) {
      // One rebuild per auction at a time: every bid of a hot auction that finds its copy missing joins the rebuild
      // under way instead of loading all the auction's keyed bids again (a herd of those ran a server out of memory
      // in `pnpm bench bids`). A cure (drop, then load) serves every caller; a plain load serves plain callers, and
      // a cure asked for meanwhile runs after it. Joining a rebuild that read the ledger a little earlier is safe:
      // every accept is still fenced against the ledger, so a copy rebuilt from an older read is caught again.
      const running = rebuilding.get(auctionId);
      if (running && (running.cures || cause === null)) return running.done;
      const rebuild = async () => {
        if (running) await running.done.catch(() => undefined);
        if (cause !== null) {
          hooks.onRepair?.(auctionId, cause);
          log.warn({ auctionId, cause }, 'engine state rebuilt from the ledger');
          await engine.drop(auctionId);
        }
        // The keys come with the state, or a retry after this rebuild would be decided afresh.
        const [state, records] = await Promise.all([loadDurable(auctionId), ledger.idempotencyRecords(auctionId)]);
        await engine.hydrate(state, records);
      };
      const entry = {
        cures: cause !== null,
        done: rebuild().finally(() => {
          if (rebuilding.get(auctionId) === entry) rebuilding.delete(auctionId);
        }),
      };
      rebuilding.set(auctionId, entry);
      return entry.done;
    },
  };
  return context;
}

/** Decide-and-record attempts (each failed one rehydrates the engine) before a request gives up. */
export const MAX_ATTEMPTS = 5;
/** Auction, bidder and creator ids as the service accepts them: storable text (no NUL), 1–128 characters. */
export { idSchema } from '../domain/text.js';
