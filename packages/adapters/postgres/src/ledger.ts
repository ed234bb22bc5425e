import {
  ErrorCodes,
  LEDGER_SPECIFICATION_VERSION,
  OutbidError,
  decodeCursor,
  encodeCursor,
  isPositionCursor,
  isSafeIntegerArray,
  isValidSuccessor,
  type AuctionEvent,
  type AuctionState,
  type BidRecord,
  type Ledger,
  type LedgerChange,
} from '@outbid/core';
import { uniqueViolation, type Db, type Queryable } from './db.js';

const AUCTION_COLUMNS = `id, post_id, creator_id, currency, start_at, end_at, effective_end_at, start_price, increment_rule,
  soft_close, status, current_price, current_winner_id, version, bid_count, extension_count, created_at, closed_at`;
const BID_COLUMNS = 'bid_id, auction_id, bidder_id, amount, status, reason, version, idempotency_key, fingerprint, created_at, decision';

type Row = Record<string, unknown>;
/** pg returns bigint as a string and PGlite may return a BigInt: every stored number is a safe integer. */
const num = (value: unknown): number => Number(value);
const numOrNull = (value: unknown): number | null => (value === null || value === undefined ? null : Number(value));

function toAuction(row: Row): AuctionState {
  return {
    id: row.id as string,
    postId: row.post_id as string,
    creatorId: row.creator_id as string,
    currency: row.currency as string,
    startAt: num(row.start_at),
    endAt: num(row.end_at),
    effectiveEndAt: num(row.effective_end_at),
    startPrice: num(row.start_price),
    increment: JSON.parse(row.increment_rule as string),
    softClose: row.soft_close === null ? null : JSON.parse(row.soft_close as string),
    status: row.status as AuctionState['status'],
    currentPrice: num(row.current_price),
    currentWinnerId: (row.current_winner_id as string | null) ?? null,
    version: num(row.version),
    bidCount: num(row.bid_count),
    extensionCount: num(row.extension_count),
    createdAt: num(row.created_at),
    closedAt: numOrNull(row.closed_at),
  };
}

function auctionParams(s: AuctionState): unknown[] {
  return [
    s.id, s.postId, s.creatorId, s.currency, s.startAt, s.endAt, s.effectiveEndAt, s.startPrice, JSON.stringify(s.increment),
    s.softClose === null ? null : JSON.stringify(s.softClose), s.status, s.currentPrice, s.currentWinnerId, s.version,
    s.bidCount, s.extensionCount, s.createdAt, s.closedAt,
  ];
}

function toBid(row: Row): BidRecord {
  return {
    bidId: row.bid_id as string,
    auctionId: row.auction_id as string,
    bidderId: row.bidder_id as string,
    amount: num(row.amount),
    status: row.status as BidRecord['status'],
    reason: (row.reason as BidRecord['reason']) ?? null,
    version: numOrNull(row.version),
    idempotencyKey: (row.idempotency_key as string | null) ?? null,
    fingerprint: row.fingerprint as string,
    createdAt: num(row.created_at),
    decision: JSON.parse(row.decision as string),
  };
}

const bidParams = (b: BidRecord): unknown[] => [
  b.bidId, b.auctionId, b.bidderId, b.amount, b.status, b.reason, b.version, b.idempotencyKey, b.fingerprint, b.createdAt,
  JSON.stringify(b.decision),
];

async function insertEvents(tx: Queryable, events: AuctionEvent[]): Promise<void> {
  for (const event of events) {
    await tx.query(
      'INSERT INTO outbid_outbox (id, aggregateid, type, payload, created_at) VALUES ($1, $2, $3, $4, $5)',
      [event.eventId, event.auctionId, event.type, JSON.stringify(event), event.occurredAt],
    );
  }
}

/** Arbitrary constant: the advisory lock one database-guard pass holds across instances. */
const GUARD_LOCK = 4_227_032;
const RELAY_LOCK = 4_227_033;

/** The ledger on any {@link Db}: the same SQL for a pg pool and for PGlite. */
export function createSqlLedger(db: Db, name: string): Ledger {
  const ledger: Ledger = {
    specificationVersion: LEDGER_SPECIFICATION_VERSION,
    name,
    async createAuction(state, events) {
      try {
        await db.transaction(async (tx) => {
          await tx.query(
            `INSERT INTO outbid_auctions (${AUCTION_COLUMNS}) VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13,$14,$15,$16,$17,$18)`,
            auctionParams(state),
          );
          await insertEvents(tx, events);
        });
      } catch (error) {
        const violated = uniqueViolation(error);
        if (violated?.includes('one_open_per_post')) {
          throw new OutbidError(ErrorCodes.POST_HAS_ACTIVE_AUCTION, `Post ${state.postId} already has an open auction.`);
        }
        if (violated !== null) throw new OutbidError(ErrorCodes.VALIDATION_FAILED, `Auction ${state.id} exists.`);
        throw error;
      }
    },
    async getAuction(auctionId) {
      const { rows } = await db.query(`SELECT ${AUCTION_COLUMNS} FROM outbid_auctions WHERE id = $1`, [auctionId]);
      return rows[0] ? toAuction(rows[0]) : null;
    },
    async listAuctions(query) {
      const where: string[] = [];
      const params: unknown[] = [];
      const add = (clause: string, value: unknown) => {
        params.push(value);
        where.push(clause.replace('?', `$${params.length}`));
      };
      if (query.cursor !== undefined) add('seq < ?', decodeCursor(query.cursor, isSafeIntegerArray(1))[0]);
      if (query.status !== undefined) add('status = ?', query.status);
      if (query.creatorId !== undefined) add('creator_id = ?', query.creatorId);
      if (query.postId !== undefined) add('post_id = ?', query.postId);
      params.push(query.limit + 1);
      const { rows } = await db.query(
        `SELECT seq, ${AUCTION_COLUMNS} FROM outbid_auctions ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY seq DESC LIMIT $${params.length}`,
        params,
      );
      const page = rows.slice(0, query.limit);
      const last = page.at(-1);
      return { items: page.map(toAuction), nextCursor: rows.length > query.limit && last ? encodeCursor([num(last.seq)]) : null };
    },
    async applyChange(change: LedgerChange) {
      return db.transaction(async (tx) => {
        const { rows } = await tx.query(`SELECT ${AUCTION_COLUMNS} FROM outbid_auctions WHERE id = $1 FOR UPDATE`, [change.state.id]);
        if (!rows[0]) return { ok: false as const, reason: 'not_found' as const };
        const recorded = toAuction(rows[0]);
        const ledgerVersion = recorded.version;
        const expected = change.state.version - 1;
        if (ledgerVersion < expected) return { ok: false as const, reason: 'behind' as const, ledgerVersion };
        if (ledgerVersion > expected) return { ok: false as const, reason: 'conflict' as const, ledgerVersion };
        const bid = change.bid;
        if (bid?.idempotencyKey != null) {
          const existing = await tx.query(`SELECT ${BID_COLUMNS} FROM outbid_bids WHERE auction_id = $1 AND bidder_id = $2 AND idempotency_key = $3`, [
            bid.auctionId,
            bid.bidderId,
            bid.idempotencyKey,
          ]);
          if (existing.rows[0]) return { ok: false as const, reason: 'duplicate_key' as const, existing: toBid(existing.rows[0]) };
        }
        if (!isValidSuccessor(recorded, change.state, bid)) return { ok: false as const, reason: 'conflict' as const, ledgerVersion };
        if (bid) await tx.query(`INSERT INTO outbid_bids (${BID_COLUMNS}) VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11)`, bidParams(bid));
        await tx.query(
          `UPDATE outbid_auctions SET (${AUCTION_COLUMNS}) = ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13,$14,$15,$16,$17,$18) WHERE id = $1`,
          auctionParams(change.state),
        );
        await insertEvents(tx, change.events);
        return { ok: true as const };
      });
    },
    async recordAudit(records) {
      if (records.length === 0) return;
      await db.transaction(async (tx) => {
        for (const record of records) {
          await tx.query(`INSERT INTO outbid_bids (${BID_COLUMNS}) VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11) ON CONFLICT DO NOTHING`, bidParams(record));
        }
      });
    },
    async findBidByIdempotencyKey(auctionId, bidderId, idempotencyKey) {
      const { rows } = await db.query(`SELECT ${BID_COLUMNS} FROM outbid_bids WHERE auction_id = $1 AND bidder_id = $2 AND idempotency_key = $3`, [
        auctionId,
        bidderId,
        idempotencyKey,
      ]);
      return rows[0] ? toBid(rows[0]) : null;
    },
    async listBids(auctionId, query) {
      const params: unknown[] = [auctionId];
      let sql: string;
      if (query.include === 'accepted') {
        let after = '';
        if (query.cursor !== undefined) {
          params.push(decodeCursor(query.cursor, isPositionCursor)[0]);
          after = `AND version < $${params.length}`;
        }
        params.push(query.limit + 1);
        sql = `SELECT ${BID_COLUMNS} FROM outbid_bids WHERE auction_id = $1 AND status = 'accepted' ${after} ORDER BY version DESC LIMIT $${params.length}`;
      } else {
        let after = '';
        if (query.cursor !== undefined) {
          const [createdAt, bidId] = decodeCursor(query.cursor, isPositionCursor);
          params.push(createdAt, bidId);
          after = `AND (created_at, bid_id) < ($2, $3)`;
        }
        params.push(query.limit + 1);
        sql = `SELECT ${BID_COLUMNS} FROM outbid_bids WHERE auction_id = $1 ${after} ORDER BY created_at DESC, bid_id DESC LIMIT $${params.length}`;
      }
      const { rows } = await db.query(sql, params);
      const page = rows.slice(0, query.limit).map(toBid);
      const last = page.at(-1);
      const nextCursor =
        rows.length > query.limit && last
          ? encodeCursor(query.include === 'accepted' ? [last.version!, ''] : [last.createdAt, last.bidId])
          : null;
      return { items: page, nextCursor };
    },
    async readOutbox(limit) {
      const { rows } = await db.query<{ position: unknown; payload: string }>(
        'SELECT position, payload FROM outbid_outbox WHERE published_at IS NULL ORDER BY position LIMIT $1',
        [limit],
      );
      return rows.map((r) => ({ position: num(r.position), event: JSON.parse(r.payload) as AuctionEvent }));
    },
    async markPublished(positions) {
      if (positions.length === 0) return;
      await db.query('UPDATE outbid_outbox SET published_at = $2 WHERE position = ANY($1::bigint[])', [positions, Date.now()]);
    },
    async findDue(now, limit) {
      const { rows } = await db.query(
        `SELECT ${AUCTION_COLUMNS} FROM outbid_auctions
          WHERE (status = 'scheduled' AND start_at <= $1) OR (status IN ('scheduled', 'active') AND effective_end_at <= $1)
          ORDER BY effective_end_at LIMIT $2`,
        [now, limit],
      );
      return rows.map(toAuction);
    },
    async ping() {
      await db.query('SELECT 1');
    },
    async close() {
      await db.close();
    },
  };
  if (db.withConnection) {
    const withConnection = db.withConnection.bind(db);
    // A transaction-level advisory lock held while `fn` runs on other connections: released at commit, also
    // when this process dies, and it works behind a transaction-mode pooler.
    const exclusive = (lock: number) => <T>(fn: () => Promise<T>) =>
      withConnection(async (conn) => {
        await conn.query('BEGIN');
        try {
          const { rows } = await conn.query<{ locked: boolean }>('SELECT pg_try_advisory_xact_lock($1) AS locked', [lock]);
          return rows[0]?.locked ? await fn() : null;
        } finally {
          await conn.query('COMMIT').catch(() => undefined);
        }
      });
    ledger.withGuardLock = exclusive(GUARD_LOCK);
    ledger.withRelayLock = exclusive(RELAY_LOCK);
  }
  return ledger;
}
