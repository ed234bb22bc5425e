/**
 * The floor's table and its batched write: `floor-batched` in `pnpm bench bids` (bids-peer.ts) and `floor` in
 * `pnpm bench ledger-cpu` write the same rows the same way, so the two benches' floors can be compared.
 */
export const FLOOR_TABLE = `CREATE TABLE IF NOT EXISTS floor_bids (id bigserial PRIMARY KEY, auction_id text NOT NULL, bidder_id text NOT NULL,
  amount bigint NOT NULL, accepted boolean NOT NULL, idempotency_key text NOT NULL, created_at timestamptz NOT NULL DEFAULT now())`;
/** $1..$5: the batch's auction ids, bidder ids, amounts, accepted flags and idempotency keys, one array each. */
export const FLOOR_INSERT_BATCH = `INSERT INTO floor_bids (auction_id, bidder_id, amount, accepted, idempotency_key)
  SELECT * FROM unnest($1::text[], $2::text[], $3::bigint[], $4::boolean[], $5::text[])`;

/**
 * floor-contract's tables (bids-peer.ts): an auction's row holds the version the ledger has (the fence); a bid's row
 * is keyed by its Idempotency-Key (a retry finds the first answer) and holds that answer; accepted bids have gapless
 * versions, unique per auction (refused ones have none).
 */
export const CONTRACT_FLOOR_TABLES = `CREATE TABLE IF NOT EXISTS contract_auctions (id text PRIMARY KEY, price bigint NOT NULL,
    version integer NOT NULL, ends_at bigint NOT NULL);
  CREATE TABLE IF NOT EXISTS contract_bids (idempotency_key text PRIMARY KEY, auction_id text NOT NULL, version integer,
    amount bigint NOT NULL, bidder_id text NOT NULL, answer text NOT NULL, created_at timestamptz NOT NULL DEFAULT now(),
    UNIQUE (auction_id, version))`;
/**
 * One statement per batch, $1..$8 one array each (key, auction, version or null, amount, bidder, answer, accepted,
 * ends at): every decision recorded, and per auction with accepted bids its row moved to the batch's last version
 * only where it still holds the version before the batch's first (the fence). If the fence stops any auction the
 * statement fails (a text that is no integer: the raise of plain SQL, never folded at plan time as `1 / 0` would
 * be), so its one implicit transaction rolls back and no bid of the batch is recorded or answered. Returns the count
 * of fenced auctions.
 */
export const CONTRACT_FLOOR_WRITE = `WITH b AS (
    SELECT * FROM unnest($1::text[], $2::text[], $3::integer[], $4::bigint[], $5::text[], $6::text[], $7::boolean[], $8::bigint[])
      AS b(idempotency_key, auction_id, version, amount, bidder_id, answer, accepted, ends_at)),
  heads AS (
    SELECT auction_id, min(version) AS first, max(version) AS last,
      (array_agg(amount ORDER BY version DESC))[1] AS price, (array_agg(ends_at ORDER BY version DESC))[1] AS ends_at
    FROM b WHERE accepted GROUP BY auction_id),
  fenced AS (
    UPDATE contract_auctions AS a SET version = h.last, price = h.price, ends_at = h.ends_at
    FROM heads AS h WHERE a.id = h.auction_id AND a.version = h.first - 1 RETURNING a.id),
  inserted AS (
    INSERT INTO contract_bids (idempotency_key, auction_id, version, amount, bidder_id, answer)
    SELECT idempotency_key, auction_id, version, amount, bidder_id, answer FROM b RETURNING 1)
  SELECT CASE WHEN (SELECT count(*) FROM fenced) = (SELECT count(*) FROM heads) AND (SELECT count(*) FROM inserted) > 0
    THEN (SELECT count(*) FROM fenced)::int ELSE ('fence stopped the batch: ' || (SELECT count(*) FROM heads))::int END AS fenced`;
