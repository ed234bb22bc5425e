import {
  ErrorCodes,
  LEDGER_SPECIFICATION_VERSION,
  OutbidError,
  assertBatchOrder,
  decodeCursor,
  encodeCursor,
  isPositionCursor,
  isSafeIntegerArray,
  isValidSuccessor,
  type ApplyResult,
  type AuctionEvent,
  type AuctionState,
  type BidRecord,
  type Ledger,
  type LedgerChange,
} from '@outbid/core';
import { uniqueViolation, type Db, type Queryable } from './db.js';
import { createStatementRunner, type TextRowsStatement } from './plan-cache.js';

/** Column → type, in the order of {@link auctionParams} and {@link bidParams} (the types cast the values of batch rows). */
const AUCTION_FIELDS = [
  ['id', 'text'], ['post_id', 'text'], ['creator_id', 'text'], ['currency', 'text'], ['start_at', 'bigint'], ['end_at', 'bigint'],
  ['effective_end_at', 'bigint'], ['start_price', 'bigint'], ['increment_rule', 'text'], ['soft_close', 'text'], ['status', 'text'],
  ['current_price', 'bigint'], ['current_winner_id', 'text'], ['version', 'integer'], ['bid_count', 'integer'],
  ['extension_count', 'integer'], ['created_at', 'bigint'], ['closed_at', 'bigint'], ['reserve_price', 'bigint'],
  ['buy_now_price', 'bigint'], ['buy_now_policy', 'text'], ['leader_max', 'bigint'],
] as const;
const BID_FIELDS = [
  ['bid_id', 'text'], ['auction_id', 'text'], ['bidder_id', 'text'], ['amount', 'bigint'], ['status', 'text'], ['reason', 'text'],
  ['version', 'integer'], ['idempotency_key', 'text'], ['fingerprint', 'text'], ['created_at', 'bigint'], ['decision', 'text'],
  ['kind', 'text'], ['max_amount', 'bigint'],
] as const;
/**
 * The columns a change can move, with the id, in the order of {@link stateParams}. A bid or a transition keeps every
 * other column as the auction was created (isValidSuccessor checks it), so a batch sends and compares only these:
 * half of an auction row's bytes, and of the work Postgres does to read them.
 */
const STATE_FIELDS = [
  ['id', 'text'], ['start_at', 'bigint'], ['effective_end_at', 'bigint'], ['status', 'text'], ['current_price', 'bigint'],
  ['current_winner_id', 'text'], ['version', 'integer'], ['bid_count', 'integer'], ['extension_count', 'integer'],
  ['closed_at', 'bigint'], ['leader_max', 'bigint'],
] as const satisfies ReadonlyArray<(typeof AUCTION_FIELDS)[number]>;
const MOVED_FIELDS = STATE_FIELDS.slice(1);
/** `name, …` or, with an alias, `alias.name, …`. */
const columnsOf = (fields: ReadonlyArray<readonly [string, string]>, alias?: string) => fields.map(([name]) => (alias ? `${alias}.${name}` : name)).join(', ');
const AUCTION_COLUMNS = columnsOf(AUCTION_FIELDS);
const BID_COLUMNS = columnsOf(BID_FIELDS);
/** `($1, …, $n)` for one auction row. */
const AUCTION_VALUES = `(${AUCTION_FIELDS.map((_, i) => `$${i + 1}`).join(',')})`;
/**
 * Rows as one jsonb parameter, each row an array of its values in field order: a batch is one statement, whatever
 * its size. Arrays rather than objects: no object built per row, and a third of the bytes for both sides to parse.
 */
const asRows = (rows: unknown[][]) => JSON.stringify(rows);
/** The rows of such a parameter as a typed table: `(SELECT (r->>0)::text AS id, … FROM jsonb_array_elements($n::jsonb) r) AS alias`. */
const rowsOf = (fields: ReadonlyArray<readonly [string, string]>, param: string, alias: string) =>
  `(SELECT ${fields.map(([name, type], i) => `(r->>${i})::${type} AS ${name}`).join(', ')} FROM jsonb_array_elements(${param}::jsonb) AS r) AS ${alias}`;

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
    reservePrice: numOrNull(row.reserve_price),
    buyNowPrice: numOrNull(row.buy_now_price),
    buyNowPolicy: (row.buy_now_policy as AuctionState['buyNowPolicy']) ?? null,
    leaderMax: numOrNull(row.leader_max),
  };
}

function auctionParams(s: AuctionState): unknown[] {
  return [
    s.id, s.postId, s.creatorId, s.currency, s.startAt, s.endAt, s.effectiveEndAt, s.startPrice, JSON.stringify(s.increment),
    s.softClose === null ? null : JSON.stringify(s.softClose), s.status, s.currentPrice, s.currentWinnerId, s.version,
    s.bidCount, s.extensionCount, s.createdAt, s.closedAt, s.reservePrice, s.buyNowPrice, s.buyNowPolicy, s.leaderMax,
  ];
}

/** An auction's columns that a change can move (see STATE_FIELDS), in that order. */
const stateParams = (s: AuctionState): unknown[] => [
  s.id, s.startAt, s.effectiveEndAt, s.status, s.currentPrice, s.currentWinnerId, s.version, s.bidCount, s.extensionCount, s.closedAt, s.leaderMax,
];

function toBid(row: Row): BidRecord {
  return {
    bidId: row.bid_id as string,
    auctionId: row.auction_id as string,
    bidderId: row.bidder_id as string,
    amount: num(row.amount),
    status: row.status as BidRecord['status'],
    reason: (row.reason as BidRecord['reason']) ?? null,
    kind: row.kind as BidRecord['kind'],
    maxAmount: numOrNull(row.max_amount),
    version: numOrNull(row.version),
    idempotencyKey: (row.idempotency_key as string | null) ?? null,
    fingerprint: row.fingerprint as string,
    createdAt: num(row.created_at),
    decision: JSON.parse(row.decision as string),
  };
}

const bidParams = (b: BidRecord): unknown[] => [
  b.bidId, b.auctionId, b.bidderId, b.amount, b.status, b.reason, b.version, b.idempotencyKey, b.fingerprint, b.createdAt,
  JSON.stringify(b.decision), b.kind, b.maxAmount,
];

/** Outbox rows from a JSON array (only those passing `where`, if given); positions are taken in the order given. */
const INSERT_OUTBOX_ROWS = (param: string, where = '') => `INSERT INTO outbid_outbox (id, aggregateid, type, payload, created_at)
       SELECT e->>'id', e->>'aggregateid', e->>'type', e->>'payload', (e->>'created_at')::bigint
         FROM jsonb_array_elements(${param}::jsonb) WITH ORDINALITY AS t(e, n) ${where && `WHERE ${where}`} ORDER BY n`;
const outboxRows = (events: AuctionEvent[]) =>
  JSON.stringify(events.map((e) => ({ id: e.eventId, aggregateid: e.auctionId, type: e.type, payload: JSON.stringify(e), created_at: e.occurredAt })));

/** Outbox rows in one statement; positions are taken in the order given. */
async function insertEvents(tx: Queryable, events: AuctionEvent[]): Promise<void> {
  if (events.length > 0) await tx.query(INSERT_OUTBOX_ROWS('$1'), [outboxRows(events)]);
}

/** The bid records of $1 (a JSON array), only those passing `where` if given. */
const INSERT_BIDS = (where = '') =>
  `INSERT INTO outbid_bids (${BID_COLUMNS}) SELECT ${BID_COLUMNS} FROM ${rowsOf(BID_FIELDS, '$1', 'v')} ${where && `WHERE ${where}`}`;
/**
 * Each auction row moved to its state in $2 (a JSON array of STATE_FIELDS rows), only those passing `where`. The
 * condition must name the rows some other way than by the JSON rows alone: joined only to them, the planner (which
 * counts 100 rows for any jsonb_array_elements) hashes the whole auctions table, a cost that grows with every auction
 * the table holds.
 */
const UPDATE_AUCTIONS = (where: string) => `UPDATE outbid_auctions AS a SET (${columnsOf(MOVED_FIELDS)}) = (${columnsOf(MOVED_FIELDS, 'v')})
      FROM ${rowsOf(STATE_FIELDS, '$2', 'v')} WHERE a.id = v.id AND ${where}`;
/**
 * A fenced batch's writes as one statement: $1 the bid records, $2 the auctions' states, $3 the outbox entries
 * (JSON arrays; any may be empty; the states as STATE_FIELDS rows), $4 the auctions' ids (a text array: each row
 * found through the primary key).
 * Data-modifying CTEs all run, on different tables, in one round trip.
 */
const WRITE_BATCH = `WITH bids AS (${INSERT_BIDS()}), auctions AS (${UPDATE_AUCTIONS('a.id = ANY($4::text[])')}) ${INSERT_OUTBOX_ROWS('$3')}`;

/**
 * A fenced batch in one statement and one round trip, for when this ledger knows each auction's recorded state
 * (`expected`, $4: the rows as it last wrote or locked them) and has judged the batch against it. Each auction's
 * row is locked, in id order like the locked path, and only if every column a change can move still equals the
 * expected row (the others never change after creation, see STATE_FIELDS) are its state, bids and outbox rows
 * written: per auction all or nothing. Returns the ids written; an auction missing from them was changed behind this
 * ledger's back and goes the locked way. A key another bid already holds breaks the unique index and fails the whole
 * statement, which then writes nothing.
 *
 * Each row is found through the primary key, one lookup per expected row (the LATERAL subquery with its own
 * FOR UPDATE is never flattened into a join), and the expected rows are sorted, so the locks come in id order. A
 * row that no longer matches is locked too, and is left as it is. A plain join let the planner, which counts 100
 * rows for any jsonb_array_elements, hash the whole auctions table on every batch: a cost that grew with every
 * auction ever held.
 */
const AS_EXPECTED_CTES = `WITH expected AS MATERIALIZED (
    SELECT * FROM ${rowsOf(STATE_FIELDS, '$4', 'e')} ORDER BY id
  ), locked AS MATERIALIZED (
    SELECT a.id FROM expected AS e CROSS JOIN LATERAL (SELECT * FROM outbid_auctions AS r WHERE r.id = e.id FOR UPDATE) AS a
     WHERE (${columnsOf(MOVED_FIELDS, 'a')}) IS NOT DISTINCT FROM (${columnsOf(MOVED_FIELDS, 'e')})
  ), auctions AS (${UPDATE_AUCTIONS('a.id IN (SELECT id FROM locked)')} RETURNING a.id),
  bids AS (${INSERT_BIDS('v.auction_id IN (SELECT id FROM auctions)')}),
  outbox AS (${INSERT_OUTBOX_ROWS('$3', "e->>'aggregateid' IN (SELECT id FROM auctions)")})`;
const WRITE_BATCH_AS_EXPECTED = `${AS_EXPECTED_CTES} SELECT id FROM auctions`;

/** The one-statement write, run with a plan kept for the session (see createStatementRunner). */
export const BATCH_AS_EXPECTED: TextRowsStatement = { name: 'outbid_write_batch_as_expected', sql: WRITE_BATCH_AS_EXPECTED, params: 4, column: 'id' };
/**
 * Audit records ($n, a JSON array) that are not there yet: a record already written (same bid id) or whose key
 * another bid holds is skipped. Rows in auction order: each insert takes a key-share lock on its auction, and
 * fenced writes lock auctions in id order too, so the two never wait on each other in a circle (a deadlock was
 * measured).
 */
const INSERT_AUDIT = (param: string) =>
  `INSERT INTO outbid_bids (${BID_COLUMNS}) SELECT ${BID_COLUMNS} FROM ${rowsOf(BID_FIELDS, param, 'v')} ORDER BY v.auction_id ON CONFLICT DO NOTHING RETURNING bid_id`;
/** Audit records in one statement ($1); returns the ids of those written. */
export const RECORD_AUDIT: TextRowsStatement = { name: 'outbid_record_audit', sql: INSERT_AUDIT('$1'), params: 1, column: 'bid_id' };
/**
 * The one-statement write with audit records ($5) beside it, one commit for both. The records are written whatever
 * happens to the auctions' rows; they come after the rows' locks (the Append runs its branches in order). Returns
 * `a:<auction id>` for each auction written and `b:<bid id>` for each record written.
 */
export const BATCH_AS_EXPECTED_WITH_AUDIT: TextRowsStatement = {
  name: 'outbid_write_batch_as_expected_with_audit',
  sql: `${AS_EXPECTED_CTES}, audit AS (${INSERT_AUDIT('$5')})
  SELECT 'a:' || id AS tagged FROM auctions UNION ALL SELECT 'b:' || bid_id FROM audit`,
  params: 5,
  column: 'tagged',
};

/** Unpublished outbox entries, oldest first (the limit follows). */
const READ_UNPUBLISHED = 'SELECT position, payload FROM outbid_outbox WHERE published_at IS NULL ORDER BY position LIMIT';
const toOutboxEntry = (r: Row) => ({ position: num(r.position), event: JSON.parse(r.payload as string) as AuctionEvent });
/** Marks entries published; checked integers inlined, for the multi-statement (simple protocol) queries it goes in. */
const markPublishedSql = (positions: number[]) => {
  if (!positions.every(Number.isSafeInteger)) throw new TypeError('outbox positions are integers');
  return `UPDATE outbid_outbox SET published_at = ${Date.now()} WHERE position = ANY('{${positions.join(',')}}'::bigint[]);`;
};
/** Each auction's last state in a batch (one row per auction), in first-seen order. */
const lastStates = (changes: readonly LedgerChange[]) => [...new Map(changes.map((c) => [c.state.id, c.state])).values()];

/** The records a change writes: the rival's refused bid that triggered an automatic one first, then the bid. */
const recordsOf = (change: LedgerChange): BidRecord[] => [change.trigger, change.bid].filter((r): r is BidRecord => r !== undefined);

/**
 * The fence for one change against the auction as recorded, judged inside the transaction that holds the auction's
 * row lock: `change` is written only on top of its own predecessor (see isValidSuccessor, which re-derives an
 * automatic bid from its trigger), and each idempotency key only once. `existing` is the record already holding
 * the key of the change's bid or trigger, if any.
 */
function judge(recorded: AuctionState | undefined, change: LedgerChange, existing: BidRecord | undefined): ApplyResult {
  if (!recorded) return { ok: false, reason: 'not_found' };
  const ledgerVersion = recorded.version;
  const expected = change.state.version - 1;
  if (ledgerVersion < expected) return { ok: false, reason: 'behind', ledgerVersion };
  if (ledgerVersion > expected) return { ok: false, reason: 'conflict', ledgerVersion };
  if (existing) return { ok: false, reason: 'duplicate_key', existing };
  if (!isValidSuccessor(recorded, change.state, change.bid, change.trigger)) return { ok: false, reason: 'conflict', ledgerVersion };
  return { ok: true };
}

const keySlot = (auctionId: string, bidderId: string, key: string) => JSON.stringify([auctionId, bidderId, key]);
/**
 * The bids holding the keys in $1 (a JSON array of `[auctionId, bidderId, key]`), one lookup in the key's index per
 * key: `LIMIT 1` (a key has one holder) keeps the subquery from being flattened into a join, which the planner,
 * counting 100 rows for any JSON array, would run as a hash over the whole bids table.
 */
const BIDS_HOLDING_KEYS = `SELECT b.* FROM jsonb_array_elements($1::jsonb) AS k
  CROSS JOIN LATERAL (SELECT ${BID_COLUMNS} FROM outbid_bids
                       WHERE auction_id = k->>0 AND bidder_id = k->>1 AND idempotency_key = k->>2 LIMIT 1) AS b`;
const heldKeys = (records: readonly BidRecord[]) => JSON.stringify(records.map((r) => [r.auctionId, r.bidderId, r.idempotencyKey]));

/** The bids already holding the idempotency keys of these changes (bids and triggers), in one query. */
async function existingKeys(tx: Queryable, changes: readonly LedgerChange[]): Promise<Map<string, BidRecord>> {
  const keyed = changes.flatMap(recordsOf).filter((r) => r.idempotencyKey !== null);
  const found = new Map<string, BidRecord>();
  if (keyed.length === 0) return found;
  const { rows } =
    keyed.length === 1
      ? await tx.query(`SELECT ${BID_COLUMNS} FROM outbid_bids WHERE auction_id = $1 AND bidder_id = $2 AND idempotency_key = $3`, [
          keyed[0]!.auctionId,
          keyed[0]!.bidderId,
          keyed[0]!.idempotencyKey,
        ])
      : await tx.query(BIDS_HOLDING_KEYS, [heldKeys(keyed)]);
  for (const row of rows) {
    const bid = toBid(row);
    found.set(keySlot(bid.auctionId, bid.bidderId, bid.idempotencyKey!), bid);
  }
  return found;
}
/**
 * The bids holding the keys of the audit records that were not written (`written`: the bid ids that were). Such a
 * record is already there (a retry recorded it) or its key is another bid's; only the second is news, and it is
 * rare, so this read happens only when a keyed record was skipped.
 */
async function heldKeysOf(q: Queryable, records: readonly BidRecord[], written: ReadonlySet<string>): Promise<BidRecord[]> {
  const missed = records.filter((r) => r.idempotencyKey !== null && !written.has(r.bidId));
  if (missed.length === 0) return [];
  const held = await q.query(BIDS_HOLDING_KEYS, [heldKeys(missed)]);
  const missedIds = new Set(missed.map((r) => r.bidId));
  return held.rows.map(toBid).filter((b) => !missedIds.has(b.bidId));
}
/** The record already holding the key of the change's bid, else of its trigger (the memory ledger's order). */
const existingFor = (keys: Map<string, BidRecord>, change: LedgerChange): BidRecord | undefined => {
  for (const record of [change.bid, change.trigger]) {
    if (record?.idempotencyKey == null) continue;
    const existing = keys.get(keySlot(record.auctionId, record.bidderId, record.idempotencyKey));
    if (existing) return existing;
  }
  return undefined;
};
/** A change judged ok within a batch holds its keys for the changes after it. */
const holdKeys = (keys: Map<string, BidRecord>, change: LedgerChange) => {
  for (const record of recordsOf(change)) {
    if (record.idempotencyKey !== null) keys.set(keySlot(record.auctionId, record.bidderId, record.idempotencyKey), record);
  }
};

/** The rows of one statement's result in a multi-statement (simple protocol) answer, counted from the end. */
const resultRows = (results: unknown, fromEnd: number): Row[] => {
  const list = Array.isArray(results) ? results : [results];
  return ((list.at(fromEnd) as { rows?: Row[] } | undefined)?.rows ?? []);
};

/**
 * Arbitrary constants, the advisory locks behind withGuardLock (one database-guard pass at a time across
 * instances) and withRelayLock (one outbox relay at a time). Only on pg: PGlite has one connection, one process.
 */
const GUARD_LOCK = 4_227_032;
const RELAY_LOCK = 4_227_033;
/** Auctions whose recorded state a ledger keeps for the one-statement write. */
const KNOWN_AUCTIONS_MAX = 10_000;

/** The ledger on any {@link Db}: the same SQL for a pg pool and for PGlite. */
export function createSqlLedger(db: Db, name: string): Ledger {
  const run = createStatementRunner(db);
  /**
   * Each auction's state as this ledger last wrote, locked or created it, the most recent few thousand. It only
   * decides whether a batch may take the one-statement write; that statement checks every column a change can move
   * against the recorded row, so an entry made stale by another instance costs a round trip, never a wrong verdict.
   */
  const known = new Map<string, AuctionState>();
  const remember = (state: AuctionState) => {
    known.delete(state.id);
    known.set(state.id, state);
    if (known.size > KNOWN_AUCTIONS_MAX) known.delete(known.keys().next().value!);
  };

  /** The rows the batch expects, if each change is ok on top of the known state and no key repeats; else null. */
  const expectedRows = (changes: readonly LedgerChange[]): AuctionState[] | null => {
    const current = new Map<string, AuctionState>();
    const expected: AuctionState[] = [];
    const keys = new Set<string>();
    for (const change of changes) {
      const id = change.state.id;
      let base = current.get(id);
      if (!base) {
        base = known.get(id);
        if (!base) return null;
        expected.push(base);
      }
      if (!judge(base, change, undefined).ok) return null;
      for (const record of recordsOf(change)) {
        if (record.idempotencyKey === null) continue;
        const slot = keySlot(record.auctionId, record.bidderId, record.idempotencyKey);
        if (keys.has(slot)) return null;
        keys.add(slot);
      }
      current.set(id, change.state);
    }
    return expected;
  };

  /**
   * The one-statement write (see WRITE_BATCH_AS_EXPECTED), with audit records beside it when there are any (see
   * BATCH_AS_EXPECTED_WITH_AUDIT): the ids of the auctions and of the records written, or null if nothing was.
   */
  const writeAsExpected = async (
    changes: readonly LedgerChange[],
    expected: AuctionState[],
    audit: readonly BidRecord[],
  ): Promise<{ auctions: Set<string>; audited: Set<string> } | null> => {
    const last = lastStates(changes);
    const params = [
      asRows(changes.flatMap(recordsOf).map(bidParams)),
      asRows(last.map(stateParams)),
      outboxRows(changes.flatMap((c) => c.events)),
      asRows(expected.map(stateParams)),
    ];
    try {
      const auctions = new Set<string>();
      const audited = new Set<string>();
      if (audit.length === 0) {
        for (const { id } of (await run<{ id: string }>(BATCH_AS_EXPECTED, params)).rows) auctions.add(id);
      } else {
        const { rows } = await run<{ tagged: string }>(BATCH_AS_EXPECTED_WITH_AUDIT, [...params, asRows(audit.map(bidParams))]);
        for (const { tagged } of rows) (tagged.startsWith('a:') ? auctions : audited).add(tagged.slice(2));
      }
      for (const state of last) if (auctions.has(state.id)) remember(state);
      return { auctions, audited };
    } catch (error) {
      // A key another bid holds: nothing was written, and the locked way says which bid holds it.
      if (uniqueViolation(error) !== null) return null;
      throw error;
    }
  };

  /**
   * The exact way: the auctions' rows locked and read, every change judged against them and the keys held. Audit
   * records given are written in the same transaction, after the changes (see recordAuditIn).
   */
  const writeLocked = async (changes: readonly LedgerChange[], audit: readonly BidRecord[] = []): Promise<{ results: ApplyResult[]; held: BidRecord[] }> => {
    const { verdicts, recorded, held } = await db.transaction(async (tx) => {
      // Rows locked in id order, so two batches (or a batch and a single write) never deadlock.
      const { rows } = await tx.query(`SELECT ${AUCTION_COLUMNS} FROM outbid_auctions WHERE id = ANY($1::text[]) ORDER BY id FOR UPDATE`, [
        [...new Set(changes.map((c) => c.state.id))],
      ]);
      // Each change is judged against the auction as the batch has left it so far (consecutive versions of a hot
      // auction), and against the keys the ledger and the batch's earlier changes hold.
      const current = new Map(rows.map((row) => [row.id as string, toAuction(row)]));
      const keys = await existingKeys(tx, changes);
      const verdicts: ApplyResult[] = [];
      for (const change of changes) {
        const verdict = judge(current.get(change.state.id), change, existingFor(keys, change));
        if (verdict.ok) {
          current.set(change.state.id, change.state);
          holdKeys(keys, change);
        }
        verdicts.push(verdict);
      }
      const accepted = changes.filter((_, i) => verdicts[i]!.ok);
      if (accepted.length > 0) {
        // The bids, the auctions' new states (one row per auction: the last the batch wrote) and the outbox entries
        // in one statement: each round trip to Postgres is a system call on both sides, and a batch has three writes.
        const last = lastStates(accepted);
        await tx.query(WRITE_BATCH, [
          asRows(accepted.flatMap(recordsOf).map(bidParams)),
          asRows(last.map(stateParams)),
          outboxRows(accepted.flatMap((c) => c.events)),
          last.map((state) => state.id),
        ]);
      }
      const held = audit.length === 0 ? [] : await recordAuditIn(tx, audit);
      return { verdicts, recorded: current, held };
    });
    for (const state of recorded.values()) remember(state);
    return { results: verdicts, held };
  };

  /**
   * A batch goes to the ledger in one round trip when this ledger knows what it is writing on top of; an auction
   * changed meanwhile by someone else (or a key already held, or anything the known state does not settle) goes
   * the locked way, which judges it exactly.
   */
  const writeChanges = async (changes: LedgerChange[], audit: readonly BidRecord[] = []): Promise<{ results: ApplyResult[]; held: BidRecord[] }> => {
    assertBatchOrder(changes);
    if (changes.length === 0) return { results: [], held: audit.length === 0 ? [] : await recordAuditIn(db, audit) };
    const expected = expectedRows(changes);
    const written = expected && (await writeAsExpected(changes, expected, audit));
    if (!written) return writeLocked(changes, audit);
    // The records are in: only a keyed one that was not written can be news (see heldKeysOf).
    const held = audit.length === 0 ? [] : await heldKeysOf(db, audit, written.audited);
    const { auctions } = written;
    if (auctions.size === expected.length) return { results: changes.map(() => ({ ok: true })), held };
    for (const state of expected) if (!auctions.has(state.id)) known.delete(state.id);
    const rest = (await writeLocked(changes.filter((c) => !auctions.has(c.state.id)))).results;
    let next = 0;
    return { results: changes.map((c) => (auctions.has(c.state.id) ? { ok: true } : rest[next++]!)), held };
  };

  /** Audit records written on `q` (a transaction, or the pool for a statement of its own): see recordAudit. */
  const recordAuditIn = async (q: Queryable, records: readonly BidRecord[]): Promise<BidRecord[]> => {
    const params = [asRows(records.map(bidParams))];
    const { rows } = q === db ? await run<{ bid_id: string }>(RECORD_AUDIT, params) : await q.query(RECORD_AUDIT.sql, params);
    return heldKeysOf(q, records, new Set(rows.map((r) => r.bid_id as string)));
  };

  const ledger: Ledger = {
    specificationVersion: LEDGER_SPECIFICATION_VERSION,
    name,
    async createAuction(state, events) {
      try {
        await db.transaction(async (tx) => {
          await tx.query(
            `INSERT INTO outbid_auctions (${AUCTION_COLUMNS}) VALUES ${AUCTION_VALUES}`,
            auctionParams(state),
          );
          await insertEvents(tx, events);
        });
        remember(state);
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
      return (await writeChanges([change])).results[0]!;
    },
    applyChanges: async (changes: LedgerChange[]) => (await writeChanges(changes)).results,
    applyChangesAndAudit: (changes: LedgerChange[], audit: BidRecord[]) => writeChanges(changes, audit),
    async recordAudit(records) {
      if (records.length === 0) return;
      return recordAuditIn(db, records);
    },
    async findBidByIdempotencyKey(auctionId, bidderId, idempotencyKey) {
      const { rows } = await db.query(`SELECT ${BID_COLUMNS} FROM outbid_bids WHERE auction_id = $1 AND bidder_id = $2 AND idempotency_key = $3`, [
        auctionId,
        bidderId,
        idempotencyKey,
      ]);
      return rows[0] ? toBid(rows[0]) : null;
    },
    async idempotencyRecords(auctionId) {
      const { rows } = await db.query(`SELECT ${BID_COLUMNS} FROM outbid_bids WHERE auction_id = $1 AND idempotency_key IS NOT NULL`, [auctionId]);
      return rows.map(toBid);
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
        // A raised maximum changes nothing visible: it is not a bid in the history (the audit trail has it).
        sql = `SELECT ${BID_COLUMNS} FROM outbid_bids WHERE auction_id = $1 AND status = 'accepted' AND kind <> 'maximum' ${after} ORDER BY version DESC LIMIT $${params.length}`;
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
      const { rows } = await db.query(`${READ_UNPUBLISHED} $1`, [limit]);
      return rows.map(toOutboxEntry);
    },
    async markPublished(positions) {
      if (positions.length === 0) return;
      // A mark lost in a crash only means those entries are published again (at least once), so this commit
      // does not wait for the WAL flush: under a burst the relay then never queues behind the ledger's fsyncs.
      await db.exec(`BEGIN; SET LOCAL synchronous_commit TO OFF; ${markPublishedSql(positions)} COMMIT;`);
    },
    async pruneOutbox(publishedBefore, limit) {
      // Only the oldest `limit` rows are looked at, a primary-key range however large the table is.
      const { rows } = await db.query(
        `WITH oldest AS (SELECT position, published_at FROM outbid_outbox ORDER BY position LIMIT $2)
         DELETE FROM outbid_outbox AS o USING oldest WHERE o.position = oldest.position AND oldest.published_at < $1 RETURNING o.position`,
        [publishedBefore, limit],
      );
      return rows.length;
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
    ledger.relayOutbox = (publish, limit) => {
      if (!Number.isSafeInteger(limit) || limit < 1) throw new TypeError('the relay batch limit is a positive integer');
      // Simple-protocol statements (no parameters: every value inlined is a checked integer), so a batch is two round
      // trips: the transaction, the lock and the read together; the marks and the commit together. The commit does
      // not wait for the WAL flush: a mark lost in a crash only means those entries are published again.
      return withConnection(async (conn) => {
        try {
          const results = await conn.exec(
            `BEGIN; SET LOCAL synchronous_commit TO OFF; SELECT pg_try_advisory_xact_lock(${RELAY_LOCK}) AS locked; ${READ_UNPUBLISHED} ${limit}`,
          );
          // The read ran after the lock was taken, so it sees every mark the previous holder committed. Without the
          // lock its rows are dropped unread.
          if (resultRows(results, -2)[0]?.locked !== true) {
            await conn.exec('COMMIT');
            return null;
          }
          const entries = resultRows(results, -1).map(toOutboxEntry);
          if (entries.length > 0) await publish(entries.map((e) => e.event));
          await conn.exec(`${entries.length > 0 ? markPublishedSql(entries.map((e) => e.position)) : ''} COMMIT`);
          return entries.length;
        } catch (error) {
          await conn.exec('ROLLBACK').catch(() => undefined);
          throw error;
        }
      });
    };
  }
  return ledger;
}
