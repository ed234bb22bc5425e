/**
 * The comparison servers of `pnpm bench bids`, each in its own process behind the same HTTP stack as Outbid
 * (Hono on @hono/node-server). BENCH_MODE=bare: parse the JSON body, answer 201 (the HTTP ceiling).
 * BENCH_MODE=peer: the obvious alternative to Outbid, a pg pool of 20 and per bid one transaction
 * `BEGIN; SELECT … FOR UPDATE; INSERT bid; UPDATE auction; COMMIT`, a bid not above the price + increment rolled
 * back and answered 409.
 * BENCH_MODE=floor: the least any server that decides in Redis and records in Postgres does per bid, and nothing
 * else: one script call that raises the auction's price if the bid is above it (REDIS_URL), then the bid, accepted
 * or refused, inserted in its own durable commit (DATABASE_URL), then the answer (201 or 409). No rules beyond the
 * price, no idempotency, no events, no batching.
 * BENCH_MODE=floor-batched: the same decision, but the way Outbid batches: script calls auto-pipelined (the calls of
 * one event-loop turn leave in one write), and the bids recorded by group commit, every bid that arrives while a
 * write is in flight (two at most) joining the next one-statement INSERT, each answered once its batch committed.
 * The least a server that decides in Redis and durably records every decision before answering does at its best.
 * None verifies the bearer token (the load generator sends one anyway).
 * Prints one JSON line `{"listening":PORT}` once it listens; stops on SIGTERM.
 */
import { serve } from '@hono/node-server';
import { Hono } from 'hono';
import { Redis } from 'ioredis';
import pg from 'pg';
import { FLOOR_INSERT_BATCH, FLOOR_TABLE } from './floor-sql.js';

const mode = process.env.BENCH_MODE;
const app = new Hono();
let pool: pg.Pool | null = null;
let redis: Redis | null = null;

/** KEYS[1] the auction's price; ARGV[1] the bid. Returns {1, price} when the bid became the price, else {0, price}. */
const RAISE_PRICE = `local price = tonumber(redis.call('GET', KEYS[1]) or '0')
local amount = tonumber(ARGV[1])
if amount > price then redis.call('SET', KEYS[1], ARGV[1]) return {1, amount} end
return {0, price}`;

type FloorRow = [auctionId: string, bidderId: string, amount: number, accepted: boolean, idempotencyKey: string];
/** floor-batched's group commit: rows waiting for the next write, and how many writes are in flight (two at most). */
let waiting: { row: FloorRow; done: (error?: unknown) => void }[] = [];
let writesInFlight = 0;
function record(row: FloorRow): Promise<void> {
  return new Promise((resolve, reject) => {
    waiting.push({ row, done: (error) => (error === undefined ? resolve() : reject(error)) });
    writeWaiting();
  });
}
function writeWaiting() {
  if (writesInFlight >= 2 || waiting.length === 0) return;
  const batch = waiting;
  waiting = [];
  writesInFlight += 1;
  const column = (i: number) => batch.map((b) => b.row[i]);
  pool!
    .query(FLOOR_INSERT_BATCH, [column(0), column(1), column(2), column(3), column(4)])
    .then(
      () => batch.forEach((b) => b.done()),
      (error: unknown) => batch.forEach((b) => b.done(error ?? new Error('write failed'))),
    )
    .finally(() => {
      writesInFlight -= 1;
      writeWaiting();
    });
}

if (mode === 'bare') {
  app.post('/auctions/:id/bids', async (c) => {
    const { amount } = (await c.req.json()) as { amount: number };
    return c.json({ status: 'accepted', amount, currentPrice: amount, minNextBid: amount + 1 }, 201);
  });
} else if (mode === 'peer') {
  pool = new pg.Pool({ connectionString: process.env.DATABASE_URL, max: 20 });
  await pool.query(`CREATE TABLE IF NOT EXISTS auctions (id text PRIMARY KEY, price bigint NOT NULL, increment bigint NOT NULL, version int NOT NULL)`);
  await pool.query(`CREATE TABLE IF NOT EXISTS bids (id bigserial PRIMARY KEY, auction_id text NOT NULL REFERENCES auctions, bidder_id text NOT NULL,
    amount bigint NOT NULL, idempotency_key text NOT NULL UNIQUE, created_at timestamptz NOT NULL DEFAULT now())`);
  app.post('/auctions', async (c) => {
    const { startPrice, minIncrement } = (await c.req.json()) as { startPrice: number; minIncrement: number };
    const id = crypto.randomUUID();
    await pool!.query('INSERT INTO auctions (id, price, increment, version) VALUES ($1, $2, $3, 1)', [id, startPrice, minIncrement]);
    return c.json({ auctionId: id, currentPrice: startPrice }, 201);
  });
  app.post('/auctions/:id/bids', async (c) => {
    const { amount } = (await c.req.json()) as { amount: number };
    const key = c.req.header('idempotency-key') ?? crypto.randomUUID();
    const bidder = c.req.header('x-bench-bidder') ?? 'anonymous';
    const client = await pool!.connect();
    try {
      await client.query('BEGIN');
      const { rows } = await client.query<{ price: string; increment: string; version: number }>(
        'SELECT price, increment, version FROM auctions WHERE id = $1 FOR UPDATE',
        [c.req.param('id')],
      );
      const row = rows[0];
      if (!row) {
        await client.query('ROLLBACK');
        return c.json({ status: 'rejected', reason: 'AUCTION_NOT_FOUND' }, 404);
      }
      const price = Number(row.price);
      const minNextBid = price + Number(row.increment);
      if (amount < minNextBid) {
        await client.query('ROLLBACK');
        return c.json({ status: 'rejected', reason: 'BID_TOO_LOW', amount, currentPrice: price, minNextBid, version: row.version }, 409);
      }
      await client.query('INSERT INTO bids (auction_id, bidder_id, amount, idempotency_key) VALUES ($1, $2, $3, $4)', [c.req.param('id'), bidder, amount, key]);
      await client.query('UPDATE auctions SET price = $2, version = version + 1 WHERE id = $1', [c.req.param('id'), amount]);
      await client.query('COMMIT');
      return c.json({ status: 'accepted', amount, currentPrice: amount, minNextBid: amount + Number(row.increment), version: row.version + 1 }, 201);
    } catch (error) {
      await client.query('ROLLBACK').catch(() => {});
      throw error;
    } finally {
      client.release();
    }
  });
} else if (mode === 'floor' || mode === 'floor-batched') {
  const batched = mode === 'floor-batched';
  pool = new pg.Pool({ connectionString: process.env.DATABASE_URL, max: 20 });
  redis = new Redis(process.env.REDIS_URL!, { enableAutoPipelining: batched });
  redis.defineCommand('raisePrice', { numberOfKeys: 1, lua: RAISE_PRICE });
  const raisePrice = (key: string, amount: number) => (redis as unknown as { raisePrice(k: string, a: number): Promise<[number, number]> }).raisePrice(key, amount);
  await pool.query(FLOOR_TABLE);
  app.post('/auctions', async (c) => {
    const { startPrice } = (await c.req.json()) as { startPrice: number };
    const id = crypto.randomUUID();
    await redis!.set(`{${id}}:price`, startPrice - 1);
    return c.json({ auctionId: id, currentPrice: startPrice }, 201);
  });
  app.post('/auctions/:id/bids', async (c) => {
    const { amount } = (await c.req.json()) as { amount: number };
    const id = c.req.param('id');
    const [raised, price] = await raisePrice(`{${id}}:price`, amount);
    const row: FloorRow = [id, c.req.header('x-bench-bidder') ?? 'anonymous', amount, raised === 1, c.req.header('idempotency-key') ?? crypto.randomUUID()];
    await (batched ? record(row) : pool!.query('INSERT INTO floor_bids (auction_id, bidder_id, amount, accepted, idempotency_key) VALUES ($1, $2, $3, $4, $5)', row));
    return raised === 1
      ? c.json({ status: 'accepted', amount, currentPrice: price, minNextBid: price + 1 }, 201)
      : c.json({ status: 'rejected', reason: 'BID_TOO_LOW', amount, currentPrice: price, minNextBid: price + 1 }, 409);
  });
} else {
  throw new Error(`BENCH_MODE must be bare, peer, floor or floor-batched, not ${mode}`);
}

const server = serve({ fetch: app.fetch, port: 0, hostname: '127.0.0.1' }, (info) => console.log(JSON.stringify({ listening: info.port })));
process.once('SIGTERM', () => {
  server.close();
  (server as { closeAllConnections?: () => void }).closeAllConnections?.();
  redis?.disconnect();
  void (pool?.end() ?? Promise.resolve()).finally(() => process.exit(0));
});
