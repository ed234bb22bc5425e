/**
 * The floor's table and its batched write: `floor-batched` in `pnpm bench bids` (bids-peer.ts) and `floor` in
 * `pnpm bench ledger-cpu` write the same rows the same way, so the two benches' floors can be compared.
 */
export const FLOOR_TABLE = `CREATE TABLE IF NOT EXISTS floor_bids (id bigserial PRIMARY KEY, auction_id text NOT NULL, bidder_id text NOT NULL,
  amount bigint NOT NULL, accepted boolean NOT NULL, idempotency_key text NOT NULL, created_at timestamptz NOT NULL DEFAULT now())`;
/** $1..$5: the batch's auction ids, bidder ids, amounts, accepted flags and idempotency keys, one array each. */
export const FLOOR_INSERT_BATCH = `INSERT INTO floor_bids (auction_id, bidder_id, amount, accepted, idempotency_key)
  SELECT * FROM unnest($1::text[], $2::text[], $3::bigint[], $4::boolean[], $5::text[])`;
