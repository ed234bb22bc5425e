import type { AuctionState, AuctionStatus, CreateAuctionInput } from '../domain/auction.js';
import type { BidDecision, BidRecord } from '../domain/bid.js';
import type { AuctionEvent } from '../domain/events.js';
import type { EventBus } from '../ports/bus.js';
import type { CachePurger } from '../ports/purger.js';
import type { Clock } from '../ports/clock.js';
import type { BidEngine } from '../ports/engine.js';
import type { Ledger, Page } from '../ports/ledger.js';
import type { JobOutcome, ScheduledJob, Scheduler } from '../ports/scheduler.js';

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
  /**
   * While commits keep coming, the relay waits this long before its next pass, so one pass publishes many of them.
   * Default 50 ms with the memory bus and `localDelivery` on (this process's listeners got the events at commit; the
   * relay only feeds other instances sharing that in-process bus), else 10 ms: the relay is how listeners — here, or
   * on other instances through Kafka — get events. At 1,000 bids/s on the reference server (`pnpm bench bids`, open
   * loop) 50 ms made 46 passes a second instead of 177; through Kafka it would delay other instances' viewers
   * (`pnpm bench kafka-latency` with a bid every 5 ms: p50 +15 ms), so it is not the default there.
   */
  relayCoalesceMs?: number;
  /**
   * How long published outbox entries are kept (a ledger with `pruneOutbox`, e.g. Postgres); older ones are deleted
   * once a minute (or once per retention, if shorter, but at most once a second). Default 24 h; 0 keeps them all.
   * Entries not published are always kept.
   */
  outboxRetentionMs?: number;
  /** Reconciler interval: compares the engine's copy of every open auction with the ledger. 0 (default) = off. */
  reconcileIntervalMs?: number;
  /**
   * @deprecated Ignored: rejected bids are now written by group commit (every answer a retry must get again waits
   * for its record), with no timer.
   */
  auditFlushMs?: number;
  logger?: OutbidLogger;
  /** Invalidates edge caches of an auction on every change: as the bus delivers it, or at its commit with `outbox: false`. Default: none. */
  purger?: CachePurger;
  /** Observability hooks (the server feeds its metrics from them). */
  hooks?: OutbidHooks;
  /**
   * Hand events committed by this process to its own `subscribe` listeners right after the commit, in version
   * order, instead of only when they come back from the bus (which, with Kafka, is a round trip through the
   * broker). Listeners then see such events twice (local, then bus) and de-duplicate by version, as they must
   * for an at-least-once bus anyway. Default: on for any bus but the in-process memory bus; always on with
   * `outbox: false`.
   */
  localDelivery?: boolean;
  /**
   * Write each change's events to the ledger's outbox (in the change's transaction) and relay them to the bus.
   * Default true. `false` writes no outbox rows and runs no relay: committed events go straight to this instance's
   * own `subscribe` listeners and `purger`, and to no bus (not even a memory bus other instances in this process
   * share). For an instance whose bus is its own memory bus (the reference server without Kafka, run as one
   * instance) the outbox only fed that bus, and writing and relaying it cost 13% of the machine's CPU per decision
   * over 1,000 auctions, a quarter of Postgres's (`pnpm bench bids`, median of 22 paired rounds, BENCHMARKS.md).
   * With a bus that other processes read (Kafka) the outbox is how they get every event, so `false` is refused for
   * any bus but the memory bus (a TypeError). An external publisher of the outbox (Debezium) needs it on, and so
   * does `startEngineUpdater`, which listens to the bus only.
   */
  outbox?: boolean;
}

export interface OutbidHooks {
  /** Every answer to `placeBid`; `durationMs` is `timing.totalMs` (kept for existing hooks). */
  onBidDecided?(decision: BidDecision, info: { replayed: boolean; durationMs: number; timing: BidTiming }): void;
  /** A change the engine made on a bidder's behalf: an automatic (proxy) bid, or a purchase at Buy It Now. */
  onAutomatic?(kind: 'proxy' | 'buy_now', state: AuctionState): void;
  onEnded?(state: AuctionState, latenessMs: number): void;
  onRepair?(auctionId: string, cause: string): void;
}

export interface PlaceBidRequest {
  auctionId: string;
  bidderId: string;
  /** The amount to bid (minor units). May be left out when `maxAmount` is given: the engine bids for you. */
  amount?: number | null;
  /** Proxy bidding: the most the engine may bid for you (kept secret). Alone, or with `amount` as the least to bid. */
  maxAmount?: number | null;
  /** Buy It Now at the auction's price: give neither amount nor maxAmount. */
  buyNow?: boolean;
  /** Scoped to (auction, bidder). Retries with the same key and payload get the first answer. */
  idempotencyKey?: string | null;
}

export interface PlaceBidResponse {
  decision: BidDecision;
  /** True when this is the stored answer to an earlier request with the same key. */
  replayed: boolean;
  /** Where the call's time went (the reference server can send it as a `Server-Timing` header). */
  timing: BidTiming;
}

/**
 * Where one `placeBid` call spent its time, in milliseconds of wall time. Waiting counts: on a busy process most
 * of it is the event loop getting round to the reply, not the engine's or the ledger's own work.
 */
export interface BidTiming {
  /** Waiting for the engine's decision (every attempt; with Redis, the script call's round trip). */
  engineMs: number;
  /** Waiting for the ledger to hold this answer: an accepted bid's commit, or a refusal's record. */
  ledgerMs: number;
  /** The whole call, from the validated request to the answer. */
  totalMs: number;
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
  /**
   * Events for this process: every auction, or one. Returns an unsubscribe function. Events come from the bus,
   * and (with local delivery) those committed by this process also right after their commit: at least once,
   * so de-duplicate by version (an event older than one already seen is a redelivery).
   */
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
  /**
   * Deletes outbox entries published more than `retentionMs` ago (what `outboxRetentionMs` runs once a minute), a
   * thousand at a time, at most 100 batches. Returns how many; 0 when the ledger keeps no published entries.
   */
  pruneOutbox(retentionMs: number): Promise<number>;
  /** The engine's authoritative time. */
  now(): Promise<number>;
  /** Resolves once this instance receives bus events (a Kafka consumer has joined its group). */
  ready(): Promise<void>;
  /** What `ready()` still waits for, e.g. `['bus subscription outbid-fanout']`; empty once ready. */
  waitingFor(): string[];
  /** Resolves when background work started so far (persists, audit, relay, timers) is done. */
  idle(): Promise<void>;
  close(): Promise<void>;
}
