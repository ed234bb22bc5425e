import pg from 'pg';
import type { History, IncrementRule } from './history.js';

/**
 * Reads the ledger straight from Postgres (schema: packages/adapters/postgres/src/migrations.ts), not through the
 * API: the checker compares what clients were told with what was recorded.
 */
export async function readLedger(databaseUrl: string, auctionIds: string[]): Promise<History['ledger']> {
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    const auctions = await client.query(
      `SELECT id, status, start_price, increment_rule, end_at, effective_end_at, current_price, current_winner_id, version, bid_count, closed_at
         FROM outbid_auctions WHERE id = ANY($1)`,
      [auctionIds],
    );
    const bids = await client.query(
      `SELECT bid_id, auction_id, bidder_id, amount, status, reason, version, idempotency_key, created_at, decision
         FROM outbid_bids WHERE auction_id = ANY($1)`,
      [auctionIds],
    );
    const events = await client.query(`SELECT id, aggregateid, type, payload FROM outbid_outbox WHERE aggregateid = ANY($1) AND type = 'AuctionEnded'`, [auctionIds]);
    return {
      auctions: auctions.rows.map((r) => ({
        id: r.id,
        status: r.status,
        startPrice: Number(r.start_price),
        increment: JSON.parse(r.increment_rule) as IncrementRule,
        endAt: Number(r.end_at),
        effectiveEndAt: Number(r.effective_end_at),
        currentPrice: Number(r.current_price),
        currentWinnerId: r.current_winner_id,
        version: r.version,
        bidCount: r.bid_count,
        closedAt: r.closed_at === null ? null : Number(r.closed_at),
      })),
      bids: bids.rows.map((r) => ({
        bidId: r.bid_id,
        auctionId: r.auction_id,
        bidderId: r.bidder_id,
        amount: Number(r.amount),
        status: r.status,
        reason: r.reason,
        version: r.version,
        idempotencyKey: r.idempotency_key,
        createdAt: Number(r.created_at),
        decision: r.decision,
      })),
      events: events.rows.map((r) => ({ id: r.id, auctionId: r.aggregateid, type: r.type, payload: JSON.parse(r.payload) })),
    };
  } finally {
    await client.end();
  }
}

/** The auctions' rows only, for polling during the heal phase. */
export async function readAuctionRows(databaseUrl: string, auctionIds: string[]) {
  return (await readLedger(databaseUrl, auctionIds)).auctions;
}
