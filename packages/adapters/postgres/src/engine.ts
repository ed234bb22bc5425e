import {
  ENGINE_SPECIFICATION_VERSION,
  engineIdempotencyTtlMs,
  decideBid,
  decideCancel,
  decideEnd,
  decideStart,
  isStoredDecision,
  keyReusedDecision,
  type AuctionState,
  type BidDecision,
  type BidEngine,
  type EngineTransitionResult,
  type TransitionOutcome,
} from '@outbid/core';
import type { Db, Queryable } from './db.js';

const ADDED_FIELDS = ['reservePrice', 'buyNowPrice', 'buyNowPolicy', 'leaderMax'] as const;
/**
 * A stored hot state. One saved before proxy bids, reserve and Buy It Now existed (or by an older instance during a
 * rolling upgrade) lacks their fields: it had none of them, and the rules and the ledger's fence need them as null.
 */
const parseState = (text: string): AuctionState => {
  const state = JSON.parse(text) as AuctionState;
  for (const field of ADDED_FIELDS) state[field] ??= null;
  return state;
};

/**
 * The bid engine inside Postgres: the same rules as every engine (core's decide functions) applied under the
 * auction's row lock, timed by the database clock (`clock_timestamp()`), with its own copy of the hot state — the
 * degraded mode when Redis is down. Slower than Redis, never wrong.
 */
export function createSqlEngine(db: Db, options: { idempotencyTtlMs?: number } = {}): BidEngine {
  const ttl = engineIdempotencyTtlMs(options.idempotencyTtlMs);
  const dbNow = async (q: Queryable) =>
    Number((await q.query<{ now: unknown }>(`SELECT floor(extract(epoch FROM clock_timestamp()) * 1000)::bigint AS now`)).rows[0]!.now);
  /**
   * The engine's copy, unless the ledger in the same database already has a later version: then the copy missed
   * decisions another engine made (Redis, another instance, an earlier process) and is rebuilt before it decides.
   * An accept on a stale copy would be caught by the ledger's fence; a refusal would not be, and a keyed one is
   * replayed to every retry. A copy ahead of the ledger is normal: its last accepts are still being written.
   */
  const currentCopy = async (q: Queryable, auctionId: string, lock: boolean): Promise<AuctionState | null> => {
    const { rows } = await q.query<{ state: string; ledger_version: unknown }>(
      `SELECT e.state, a.version AS ledger_version FROM outbid_engine_state AS e LEFT JOIN outbid_auctions AS a ON a.id = e.auction_id
        WHERE e.auction_id = $1${lock ? ' FOR UPDATE OF e' : ''}`,
      [auctionId],
    );
    const row = rows[0];
    if (!row) return null;
    const state = parseState(row.state);
    return row.ledger_version !== null && Number(row.ledger_version) > state.version ? null : state;
  };
  const lockState = (tx: Queryable, auctionId: string) => currentCopy(tx, auctionId, true);
  const save = (tx: Queryable, state: AuctionState) =>
    tx.query('UPDATE outbid_engine_state SET version = $2, state = $3 WHERE auction_id = $1', [state.id, state.version, JSON.stringify(state)]);

  const transition = (auctionId: string, decide: (s: AuctionState, now: number) => TransitionOutcome): Promise<EngineTransitionResult> =>
    db.transaction(async (tx) => {
      const state = await lockState(tx, auctionId);
      if (!state) return { kind: 'needs_hydration' as const };
      const outcome = decide(state, await dbNow(tx));
      if (outcome.kind === 'applied') await save(tx, outcome.state);
      return outcome;
    });

  return {
    specificationVersion: ENGINE_SPECIFICATION_VERSION,
    name: 'postgres',
    placeBid: (cmd) =>
      db.transaction(async (tx) => {
        const state = await lockState(tx, cmd.auctionId);
        if (!state) return { kind: 'needs_hydration' as const };
        const now = await dbNow(tx);
        const refused = (decision: BidDecision, replayed: boolean) => ({ kind: 'decided' as const, decision, replayed, state: null, previousEndAt: null, bidKind: null });
        if (cmd.idempotencyKey !== null) {
          const { rows } = await tx.query<{ fingerprint: string; decision: string }>(
            'SELECT fingerprint, decision FROM outbid_engine_idempotency WHERE auction_id = $1 AND bidder_id = $2 AND key = $3 AND expires_at > $4',
            [cmd.auctionId, cmd.bidderId, cmd.idempotencyKey, now],
          );
          if (rows[0]) {
            return rows[0].fingerprint === cmd.fingerprint ? refused(JSON.parse(rows[0].decision), true) : refused(keyReusedDecision(state, cmd, now), false);
          }
        }
        const { decision, next, kind } = decideBid(state, cmd, now);
        if (next) await save(tx, next);
        if (cmd.idempotencyKey !== null && isStoredDecision(decision)) {
          await tx.query(
            `INSERT INTO outbid_engine_idempotency (auction_id, bidder_id, key, fingerprint, decision, expires_at) VALUES ($1, $2, $3, $4, $5, $6)
             ON CONFLICT (auction_id, bidder_id, key) DO UPDATE SET fingerprint = EXCLUDED.fingerprint, decision = EXCLUDED.decision, expires_at = EXCLUDED.expires_at`,
            [cmd.auctionId, cmd.bidderId, cmd.idempotencyKey, cmd.fingerprint, JSON.stringify(decision), (next ?? state).effectiveEndAt + ttl],
          );
        }
        if (!next) return refused(decision, false);
        return { kind: 'decided' as const, decision, replayed: false, state: next, previousEndAt: decision.extended ? state.effectiveEndAt : null, bidKind: kind };
      }),
    start: (auctionId, mode) => transition(auctionId, (s, now) => decideStart(s, now, mode)),
    end: (auctionId, mode) => transition(auctionId, (s, now) => decideEnd(s, now, mode)),
    cancel: (auctionId) => transition(auctionId, decideCancel),
    getState: (auctionId) => currentCopy(db, auctionId, false),
    hydrate: (state, records = []) =>
      db.transaction(async (tx) => {
        // Insert-or-lock, so two hydrations of one auction serialise on its row.
        await tx.query('INSERT INTO outbid_engine_state (auction_id, version, state) VALUES ($1, 0, $2) ON CONFLICT DO NOTHING', [state.id, JSON.stringify(state)]);
        const { rows } = await tx.query<{ version: number }>('SELECT version FROM outbid_engine_state WHERE auction_id = $1 FOR UPDATE', [state.id]);
        const current = Number(rows[0]!.version);
        if (current > state.version) return { applied: false as const, currentVersion: current };
        if (current < state.version) await tx.query('DELETE FROM outbid_engine_idempotency WHERE auction_id = $1', [state.id]);
        // The ledger's records come back with the state (a copy of the same version keeps what it has).
        const kept = records.filter((r) => r.idempotencyKey !== null && isStoredDecision(r.decision));
        if (kept.length > 0) {
          await tx.query(
            `INSERT INTO outbid_engine_idempotency (auction_id, bidder_id, key, fingerprint, decision, expires_at)
             SELECT $1, r.bidder_id, r.key, r.fingerprint, r.decision, $2 FROM jsonb_to_recordset($3::jsonb) AS r(bidder_id text, key text, fingerprint text, decision text)
             ON CONFLICT (auction_id, bidder_id, key) DO NOTHING`,
            [state.id, state.effectiveEndAt + ttl, JSON.stringify(kept.map((r) => ({ bidder_id: r.bidderId, key: r.idempotencyKey, fingerprint: r.fingerprint, decision: JSON.stringify(r.decision) })))],
          );
        }
        await save(tx, state);
        return { applied: true as const };
      }),
    async drop(auctionId) {
      await db.transaction(async (tx) => {
        await tx.query('DELETE FROM outbid_engine_idempotency WHERE auction_id = $1', [auctionId]);
        await tx.query('DELETE FROM outbid_engine_state WHERE auction_id = $1', [auctionId]);
      });
    },
    now: () => dbNow(db),
    async close() {
      await db.close();
    },
  };
}
