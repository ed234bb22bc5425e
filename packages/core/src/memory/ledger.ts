import { isSealed, type AuctionState } from '../domain/auction.js';
import type { BidRecord } from '../domain/bid.js';
import type { AuctionEvent } from '../domain/events.js';
import { decodeCursor, encodeCursor, isPositionCursor, isSafeIntegerArray } from '../cursor.js';
import { ErrorCodes, OutbidError } from '../errors.js';
import { LEDGER_SPECIFICATION_VERSION, type ApplyResult, type Ledger, type OutboxEntry } from '../ports/ledger.js';
import { assertBatchOrder, isValidSuccessor } from '../rules/verify-change.js';

const clone = <T>(value: T): T => structuredClone(value);

/**
 * A ledger in process memory. It keeps every rule of the ledger port (fence, uniqueness, outbox order)
 * but nothing survives the process: for tests and for apps that accept that.
 */
export function createMemoryLedger(): Ledger & { outboxSize(): number } {
  const auctions = new Map<string, { state: AuctionState; seq: number }>();
  const bids: Array<BidRecord & { seq: number }> = [];
  const bidIds = new Set<string>();
  const keys = new Map<string, BidRecord>();
  let outbox: OutboxEntry[] = [];
  let seq = 0;
  let position = 0;
  let closed = false;

  const keySlot = (auctionId: string, bidderId: string, key: string) => `${auctionId}\u0000${bidderId}\u0000${key}`;
  const ensureOpen = () => {
    if (closed) throw new OutbidError(ErrorCodes.CLOSED, 'The ledger is closed.');
  };
  const addEvents = (events: AuctionEvent[]) => {
    for (const event of events) outbox.push({ position: ++position, event: clone(event) });
  };
  const addBid = (bid: BidRecord) => {
    if (bidIds.has(bid.bidId)) return;
    bidIds.add(bid.bidId);
    bids.push({ ...clone(bid), seq: ++seq });
    if (bid.idempotencyKey !== null) keys.set(keySlot(bid.auctionId, bid.bidderId, bid.idempotencyKey), clone(bid));
  };

  const ledger: Ledger & { outboxSize(): number } = {
    specificationVersion: LEDGER_SPECIFICATION_VERSION,
    name: 'memory',
    async createAuction(state, events) {
      ensureOpen();
      if (auctions.has(state.id)) throw new OutbidError(ErrorCodes.VALIDATION_FAILED, `Auction ${state.id} exists.`);
      for (const { state: other } of auctions.values()) {
        if (other.postId === state.postId && !isSealed(other)) {
          throw new OutbidError(ErrorCodes.POST_HAS_ACTIVE_AUCTION, `Post ${state.postId} already has an open auction.`);
        }
      }
      auctions.set(state.id, { state: clone(state), seq: ++seq });
      addEvents(events);
    },
    async getAuction(auctionId) {
      ensureOpen();
      const row = auctions.get(auctionId);
      return row ? clone(row.state) : null;
    },
    async listAuctions(query) {
      ensureOpen();
      const after = query.cursor === undefined ? Infinity : decodeCursor(query.cursor, isSafeIntegerArray(1))[0]!;
      const rows = [...auctions.values()]
        .filter((r) => r.seq < after)
        .filter((r) => query.status === undefined || r.state.status === query.status)
        .filter((r) => query.creatorId === undefined || r.state.creatorId === query.creatorId)
        .filter((r) => query.postId === undefined || r.state.postId === query.postId)
        .sort((a, b) => b.seq - a.seq);
      const page = rows.slice(0, query.limit);
      const more = rows.length > query.limit;
      return { items: page.map((r) => clone(r.state)), nextCursor: more ? encodeCursor([page.at(-1)!.seq]) : null };
    },
    async applyChange(change) {
      ensureOpen();
      const row = auctions.get(change.state.id);
      if (!row) return { ok: false, reason: 'not_found' };
      const expected = change.state.version - 1;
      if (row.state.version < expected) return { ok: false, reason: 'behind', ledgerVersion: row.state.version };
      if (row.state.version > expected) return { ok: false, reason: 'conflict', ledgerVersion: row.state.version };
      for (const record of [change.bid, change.trigger]) {
        if (record?.idempotencyKey == null) continue;
        const existing = keys.get(keySlot(record.auctionId, record.bidderId, record.idempotencyKey));
        if (existing) return { ok: false, reason: 'duplicate_key', existing: clone(existing) };
      }
      if (!isValidSuccessor(row.state, change.state, change.bid, change.trigger)) return { ok: false, reason: 'conflict', ledgerVersion: row.state.version };
      if (change.trigger) addBid(change.trigger);
      if (change.bid) addBid(change.bid);
      row.state = clone(change.state);
      addEvents(change.events);
      return { ok: true };
    },
    async applyChanges(changes) {
      assertBatchOrder(changes);
      const results: ApplyResult[] = [];
      for (const change of changes) results.push(await ledger.applyChange(change));
      return results;
    },
    async applyChangesAndAudit(this: Ledger, changes, audit) {
      // No transaction to share here: one write after the other. Called on `this`, so that a copy of this ledger
      // with either method replaced (a test's fault) writes through it. The records go first and the batch is
      // checked before either: a refused record then leaves nothing written, as one refused transaction would.
      assertBatchOrder(changes);
      ensureOpen();
      const held = (await this.recordAudit(audit)) ?? [];
      const results = await this.applyChanges!(changes);
      return { results, held };
    },
    async recordAudit(records) {
      ensureOpen();
      const taken: BidRecord[] = [];
      for (const record of records) {
        const held = record.idempotencyKey === null ? undefined : keys.get(keySlot(record.auctionId, record.bidderId, record.idempotencyKey));
        if (held && held.bidId !== record.bidId) taken.push(clone(held));
        else addBid(record);
      }
      return taken;
    },
    async findBidByIdempotencyKey(auctionId, bidderId, idempotencyKey) {
      ensureOpen();
      const found = keys.get(keySlot(auctionId, bidderId, idempotencyKey));
      return found ? clone(found) : null;
    },
    async idempotencyRecords(auctionId) {
      ensureOpen();
      return [...keys.values()].filter((b) => b.auctionId === auctionId).map(clone);
    },
    async listBids(auctionId, query) {
      ensureOpen();
      const newestFirst = (a: BidRecord, b: BidRecord) =>
        query.include === 'accepted'
          ? b.version! - a.version!
          : b.createdAt - a.createdAt || (b.bidId < a.bidId ? -1 : b.bidId > a.bidId ? 1 : 0);
      // A raised maximum changes nothing visible: it is not a bid in the history (the audit trail has it).
      let rows = bids.filter((b) => b.auctionId === auctionId && (query.include === 'all' || (b.status === 'accepted' && b.kind !== 'maximum')));
      rows.sort(newestFirst);
      if (query.cursor !== undefined) {
        const cursor = decodeCursor(query.cursor, isPositionCursor);
        const boundary = rows.findIndex((b) =>
          query.include === 'accepted' ? b.version! < cursor[0] : newestFirst({ createdAt: cursor[0], bidId: cursor[1] } as BidRecord, b) < 0,
        );
        rows = boundary === -1 ? [] : rows.slice(boundary);
      }
      const page = rows.slice(0, query.limit);
      const last = page.at(-1);
      const more = rows.length > query.limit && last !== undefined;
      return {
        items: page.map(({ seq: _seq, ...bid }) => clone(bid)),
        nextCursor: more ? encodeCursor(query.include === 'accepted' ? [last.version!, ''] : [last.createdAt, last.bidId]) : null,
      };
    },
    async readOutbox(limit) {
      ensureOpen();
      return outbox.slice(0, limit).map((e) => clone(e));
    },
    async markPublished(positions) {
      const done = new Set(positions);
      outbox = outbox.filter((e) => !done.has(e.position));
    },
    async findDue(now, limit) {
      ensureOpen();
      return [...auctions.values()]
        .map((r) => r.state)
        .filter((s) => (s.status === 'scheduled' && s.startAt <= now) || (!isSealed(s) && s.effectiveEndAt <= now))
        .sort((a, b) => a.effectiveEndAt - b.effectiveEndAt)
        .slice(0, limit)
        .map(clone);
    },
    async ping() {
      ensureOpen();
    },
    outboxSize: () => outbox.length,
    async close() {
      closed = true;
    },
  };
  return ledger;
}
