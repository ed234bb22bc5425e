import type { AuctionState, AuctionStatus } from '../domain/auction.js';
import type { BidRecord } from '../domain/bid.js';
import type { AuctionEvent } from '../domain/events.js';

export const LEDGER_SPECIFICATION_VERSION = 'v1';

/** One state change, written in one transaction: the auction row, the accepted bid if any, the outbox rows. */
export interface LedgerChange {
  /** The state after the change; applied only on top of `state.version - 1` (the fence). */
  state: AuctionState;
  /** The record holding `state.version` (accepted), when a bid made the change. */
  bid?: BidRecord;
  /**
   * The rival's refused bid (OUTBID_BY_PROXY) that the leader's automatic `bid` answered: written in the same
   * transaction, and the fence re-derives the change from it.
   */
  trigger?: BidRecord;
  events: AuctionEvent[];
}

export type ApplyResult =
  | { ok: true }
  /** The ledger is older than `state.version - 1`: an earlier change is still on its way (or was lost). */
  | { ok: false; reason: 'behind'; ledgerVersion: number }
  /**
   * The ledger already has `state.version` or newer, or its `state.version - 1` is not the predecessor the change
   * was decided on (see `isValidSuccessor`): the engine decided on stale state.
   */
  | { ok: false; reason: 'conflict'; ledgerVersion: number }
  /** The (auction, bidder, idempotency key) already has a bid in the ledger. */
  | { ok: false; reason: 'duplicate_key'; existing: BidRecord }
  | { ok: false; reason: 'not_found' };

export interface Page<T> {
  items: T[];
  nextCursor: string | null;
}

export interface ListAuctionsQuery {
  status?: AuctionStatus;
  creatorId?: string;
  postId?: string;
  cursor?: string;
  limit: number;
}

export interface ListBidsQuery {
  cursor?: string;
  limit: number;
  /**
   * `accepted`: accepted bids by version, newest first. `all`: every outcome (the audit trail) by decision
   * time, newest first, ties broken by bidId descending (bid ids are time-ordered UUIDv7s).
   */
  include: 'accepted' | 'all';
}

export interface OutboxEntry {
  /** Monotonic per ledger: publish in this order. */
  position: number;
  event: AuctionEvent;
}

/**
 * The ledger of record. Every accepted bid is in it before the bidder hears `accepted`.
 * Invalid cursors throw OutbidError INVALID_CURSOR; a second non-closed auction for a post throws
 * POST_HAS_ACTIVE_AUCTION.
 */
export interface Ledger {
  readonly specificationVersion: typeof LEDGER_SPECIFICATION_VERSION;
  readonly name: string;
  createAuction(state: AuctionState, events: AuctionEvent[]): Promise<void>;
  getAuction(auctionId: string): Promise<AuctionState | null>;
  listAuctions(query: ListAuctionsQuery): Promise<Page<AuctionState>>;
  /** The fenced write: see {@link LedgerChange} and {@link ApplyResult}. */
  applyChange(change: LedgerChange): Promise<ApplyResult>;
  /**
   * Optional: several fenced writes in one transaction (group commit: one commit for a burst of bids or ends).
   * Each change is judged exactly as {@link Ledger.applyChange} would judge it at its place in the batch (a change
   * of an auction that an earlier change in the batch wrote is judged against that change's state) and only the
   * `ok` ones are written; results come in input order. Changes of one auction must be consecutive versions in
   * order, or the call throws a TypeError (see `assertBatchOrder`).
   */
  applyChanges?(changes: LedgerChange[]): Promise<ApplyResult[]>;
  /**
   * Non-accepted bids for the audit trail; duplicates (same bidId) are ignored. A record whose (auction, bidder,
   * idempotency key) another bid already holds is not written either: the first answer stands, and that bid's
   * record is returned (the caller answers with it). Ledgers written before this returned nothing (`void`).
   */
  recordAudit(bids: BidRecord[]): Promise<BidRecord[] | void>;
  /**
   * Optional, for a ledger with `applyChanges`: `applyChanges(changes)` and `recordAudit(audit)` in one transaction,
   * so the refusals decided beside a batch of accepted bids share its commit instead of taking one of their own.
   * The changes are judged and written exactly as `applyChanges` would, and the records exactly as `recordAudit`
   * would, whatever the changes' verdicts: `results` as `applyChanges` resolves, `held` as `recordAudit` does.
   * All or nothing: when it rejects, neither the changes nor the records were written, unless the transaction's
   * outcome is unknown (the connection was lost).
   */
  applyChangesAndAudit?(changes: LedgerChange[], audit: BidRecord[]): Promise<{ results: ApplyResult[]; held: BidRecord[] }>;
  findBidByIdempotencyKey(auctionId: string, bidderId: string, idempotencyKey: string): Promise<BidRecord | null>;
  /**
   * Every bid of the auction that came with an idempotency key (accepted and audited), in no particular order:
   * what an engine's rebuilt copy needs so a retry after a restart still gets its first answer.
   */
  idempotencyRecords(auctionId: string): Promise<BidRecord[]>;
  listBids(auctionId: string, query: ListBidsQuery): Promise<Page<BidRecord>>;
  /** Unpublished outbox entries, oldest first. */
  readOutbox(limit: number): Promise<OutboxEntry[]>;
  markPublished(positions: number[]): Promise<void>;
  /** Auctions not closed whose start (scheduled) or effective end (scheduled/active) is at or before `now`. */
  findDue(now: number, limit: number): Promise<AuctionState[]>;
  /**
   * Optional: runs `fn` only if no other process holds the guard lock (Postgres: a transaction-level
   * advisory lock held while `fn` runs), so one database guard pass runs at a time across instances.
   * Resolves null without running `fn` when the lock is taken. Without it every instance runs the guard,
   * which stays correct (ends are fenced) but does the work several times.
   */
  withGuardLock?<T>(fn: () => Promise<T>): Promise<T | null>;
  /**
   * Optional, like withGuardLock for the outbox relay: one relay publishes at a time across instances, so
   * events of one auction reach the bus in order; the others stand by and take over when it dies.
   */
  withRelayLock?<T>(fn: () => Promise<T>): Promise<T | null>;
  /**
   * Optional, for a ledger with the relay lock: one relay batch in as few round trips as the store allows. Under
   * the relay lock, up to `limit` unpublished entries, oldest first, are handed to `publish`, then marked published
   * and committed together. Resolves with how many were published (the relay asks again while that is `limit`), or
   * null without publishing when another process holds the lock. If `publish` throws, the call rejects and the
   * entries stay unpublished (published again by the next call: at least once).
   */
  relayOutbox?(publish: (events: AuctionEvent[]) => Promise<void>, limit: number): Promise<number | null>;
  /**
   * Optional, for a ledger that keeps published entries (the memory ledger drops them at once): of the oldest
   * `limit` entries, deletes those published before `publishedBefore` (epoch ms), and resolves with how many.
   * Entries not published are kept whatever their age, so an outbox that another publisher reads (Debezium leaves
   * every entry unpublished) is never pruned.
   */
  pruneOutbox?(publishedBefore: number, limit: number): Promise<number>;
  /** Throws when the ledger cannot be reached. */
  ping(): Promise<void>;
  close(): Promise<void>;
}
