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
 * BENCH_MODE=floor-contract: floor-batched plus the least each guarantee of the contract needs, and nothing else:
 * the Idempotency-Key's first answer kept in Redis and durably in Postgres (a retry gets it back, byte for byte); the
 * decision judged by Redis TIME against the auction's end, with a soft-close extension; the accepted bids' gapless
 * versions (unique per auction; the key is the Idempotency-Key); the answer carrying the latest state (price,
 * leader, version, end); and per batch, per auction, a fence on the auction's row (its version must be the batch's first version − 1, so no
 * write lands on stale state). Every decision, accepted or refused, is recorded before its answer leaves. No rules
 * beyond price and end, no events, no token check, no recovery: a measuring stick, not a server.
 * The three floors read the request straight from Node's, as Outbid's server does (see nodeRequest below).
 * None verifies the bearer token (the load generator sends one anyway).
 * Prints one JSON line `{"listening":PORT}` once it listens; stops on SIGTERM.
 */
import type { IncomingMessage } from 'node:http';
import { serve } from '@hono/node-server';
import { Hono, type Context } from 'hono';
import { Redis } from 'ioredis';
import pg from 'pg';
import { requestHeader } from '../../../packages/server/src/node-http.js';
import { CONTRACT_FLOOR_TABLES, CONTRACT_FLOOR_WRITE, FLOOR_INSERT_BATCH, FLOOR_TABLE } from './floor-sql.js';

const mode = process.env.BENCH_MODE;
const app = new Hono();
let pool: pg.Pool | null = null;
let redis: Redis | null = null;

/** KEYS[1] the auction's price; ARGV[1] the bid. Returns {1, price} when the bid became the price, else {0, price}. */
const RAISE_PRICE = `local price = tonumber(redis.call('GET', KEYS[1]) or '0')
local amount = tonumber(ARGV[1])
if amount > price then redis.call('SET', KEYS[1], ARGV[1]) return {1, amount} end
return {0, price}`;

/**
 * floor-contract's decision. KEYS[1] the auction's state (hash: price, version, leader, endsAt), KEYS[2] the
 * Idempotency-Key's answer. ARGV[1] amount, ARGV[2] bidder, ARGV[3] soft-close window ms, ARGV[4] the key's lifetime ms.
 * Returns {0 replay | 1 accepted | 2 refused, answer, version, endsAt}.
 */
const DECIDE = `local prior = redis.call('GET', KEYS[2])
if prior then return {0, prior, 0, 0} end
local s = redis.call('HMGET', KEYS[1], 'price', 'version', 'leader', 'endsAt')
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local price, version, endsAt = tonumber(s[1]), tonumber(s[2]), tonumber(s[4])
local amount = tonumber(ARGV[1])
local leader, code, reason = s[3], 2, nil
if now >= endsAt then reason = 'AUCTION_ENDED'
elseif amount < price + 1 then reason = 'BID_TOO_LOW'
else
  code, price, version, leader = 1, amount, version + 1, ARGV[2]
  local window = tonumber(ARGV[3])
  if endsAt - now < window then endsAt = now + window end
  redis.call('HSET', KEYS[1], 'price', ARGV[1], 'version', version, 'leader', leader, 'endsAt', endsAt)
end
local answer = '{"status":"' .. (code == 1 and 'accepted' or 'rejected') .. '"' .. (reason and (',"reason":"' .. reason .. '"') or '')
  .. ',"amount":' .. ARGV[1] .. ',"currentPrice":' .. price .. ',"minNextBid":' .. (price + 1) .. ',"leaderId":"' .. leader
  .. '","version":' .. version .. ',"endsAt":' .. endsAt .. ',"ended":' .. (now >= endsAt and 'true' or 'false') .. '}'
redis.call('SET', KEYS[2], answer, 'PX', ARGV[4])
return {code, answer, version, endsAt}`;

type FloorRow = [auctionId: string, bidderId: string, amount: number, accepted: boolean, idempotencyKey: string];
/**
 * Group commit as floor-batched and floor-contract use it: rows that arrive while a write is in flight (two at most)
 * join the next write; each caller is answered when the write holding its row committed. With `auctionOf`, as
 * Outbid's group commit does, a row whose auction is in a write in flight waits for the next write, so two writes
 * never hold one auction (its fence would otherwise race the write before it).
 */
function groupCommit<Row>(write: (rows: Row[]) => Promise<void>, auctionOf?: (row: Row) => string | null): (row: Row) => Promise<void> {
  let waiting: { row: Row; done: (error?: unknown) => void }[] = [];
  let writesInFlight = 0;
  const auctionsInFlight = new Set<string>();
  const writeWaiting = () => {
    if (writesInFlight >= 2 || waiting.length === 0) return;
    let batch = waiting;
    waiting = [];
    const held: string[] = [];
    if (auctionOf) {
      const taken: typeof batch = [];
      for (const b of batch) {
        const auction = auctionOf(b.row);
        if (auction !== null && auctionsInFlight.has(auction)) waiting.push(b);
        else {
          taken.push(b);
          if (auction !== null && !auctionsInFlight.has(auction)) held.push(auction);
        }
      }
      if (taken.length === 0) return;
      batch = taken;
      for (const auction of held) auctionsInFlight.add(auction);
    }
    writesInFlight += 1;
    write(batch.map((b) => b.row))
      .then(
        () => batch.forEach((b) => b.done()),
        (error: unknown) => batch.forEach((b) => b.done(error ?? new Error('write failed'))),
      )
      .finally(() => {
        writesInFlight -= 1;
        for (const auction of held) auctionsInFlight.delete(auction);
        writeWaiting();
      });
  };
  return (row) =>
    new Promise((resolve, reject) => {
      waiting.push({ row, done: (error) => (error === undefined ? resolve() : reject(error)) });
      writeWaiting();
    });
}
const record = groupCommit<FloorRow>(async (rows) => {
  const column = (i: number) => rows.map((r) => r[i]);
  await pool!.query(FLOOR_INSERT_BATCH, [column(0), column(1), column(2), column(3), column(4)]);
});

/**
 * The floors read a bid as Outbid's server does on Node: headers with the server's own `requestHeader`
 * (packages/server's node-http.ts), the body as its json-body.ts reads it, straight from Node's request. Hono's
 * `c.req.json()` and `c.req.header()` first build a WHATWG Request and Headers around it (about 0.1 ms of server CPU
 * per bid here). So a floor's HTTP side costs no more than Outbid's, and the setups differ in the rest. The bare
 * route and the peer keep Hono's plain way, as issue 14 set them.
 */
function nodeRequest(c: Context): IncomingMessage {
  return (c.env as { incoming: IncomingMessage }).incoming;
}
/**
 * The body as JSON, read as json-body.ts's `bodyText` reads it. That one is not imported: json-body.ts imports
 * @outbid/core, which this process (plain tsx, without the @outbid/source condition) would resolve to an unbuilt dist.
 */
function leanJson(c: Context): Promise<unknown> {
  const incoming = nodeRequest(c);
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    incoming.on('data', (chunk: Buffer) => chunks.push(chunk));
    incoming.once('end', () => {
      try {
        resolve(JSON.parse(Buffer.concat(chunks).toString('utf8')));
      } catch (error) {
        reject(error);
      }
    });
    incoming.once('error', reject);
  });
}

/** floor-contract's rows: key, auction, version (null when refused), amount, bidder, answer, accepted, ends at. */
type ContractRow = [key: string, auctionId: string, version: number | null, amount: number, bidderId: string, answer: string, accepted: boolean, endsAt: number];
const contractWriter = groupCommit<ContractRow>(async (rows) => {
  const column = (i: number) => rows.map((r) => r[i]);
  // A fence that does not hold fails the statement (a write on stale state): the batch rolls back, none answered.
  await pool!.query(CONTRACT_FLOOR_WRITE, [0, 1, 2, 3, 4, 5, 6, 7].map(column));
}, (row) => (row[6] ? row[1] : null));

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
    const { amount } = (await leanJson(c)) as { amount: number };
    const id = c.req.param('id');
    const [raised, price] = await raisePrice(`{${id}}:price`, amount);
    const row: FloorRow = [id, requestHeader(c, 'x-bench-bidder') ?? 'anonymous', amount, raised === 1, requestHeader(c, 'idempotency-key') ?? crypto.randomUUID()];
    await (batched ? record(row) : pool!.query('INSERT INTO floor_bids (auction_id, bidder_id, amount, accepted, idempotency_key) VALUES ($1, $2, $3, $4, $5)', row));
    return raised === 1
      ? c.json({ status: 'accepted', amount, currentPrice: price, minNextBid: price + 1 }, 201)
      : c.json({ status: 'rejected', reason: 'BID_TOO_LOW', amount, currentPrice: price, minNextBid: price + 1 }, 409);
  });
} else if (mode === 'floor-contract') {
  const SOFT_CLOSE_MS = 30_000;
  const KEY_LIFETIME_MS = 86_400_000;
  pool = new pg.Pool({ connectionString: process.env.DATABASE_URL, max: 20 });
  redis = new Redis(process.env.REDIS_URL!, { enableAutoPipelining: true });
  redis.defineCommand('decide', { numberOfKeys: 2, lua: DECIDE });
  type Decision = [code: number, answer: string, version: number, endsAt: number];
  const decide = (id: string, key: string, amount: number, bidder: string) =>
    (redis as unknown as { decide(...a: (string | number)[]): Promise<Decision> }).decide(`{${id}}:state`, `{${id}}:key:${key}`, amount, bidder, SOFT_CLOSE_MS, KEY_LIFETIME_MS);
  await pool.query(CONTRACT_FLOOR_TABLES);
  app.post('/auctions', async (c) => {
    const { startPrice, endAt } = (await c.req.json()) as { startPrice: number; endAt: string };
    const id = crypto.randomUUID();
    const endsAt = Date.parse(endAt);
    await pool!.query('INSERT INTO contract_auctions (id, price, version, ends_at) VALUES ($1, $2, 0, $3)', [id, startPrice - 1, endsAt]);
    await redis!.hset(`{${id}}:state`, 'price', startPrice - 1, 'version', 0, 'leader', '', 'endsAt', endsAt);
    return c.json({ auctionId: id, currentPrice: startPrice }, 201);
  });
  const answer = (body: string, status: 201 | 409) => new Response(body, { status, headers: { 'content-type': 'application/json' } });
  app.post('/auctions/:id/bids', async (c) => {
    const { amount } = (await leanJson(c)) as { amount: number };
    if (!Number.isSafeInteger(amount) || amount <= 0) return c.json({ title: 'amount must be a positive integer' }, 400);
    const id = c.req.param('id');
    const key = requestHeader(c, 'idempotency-key');
    if (!key) return c.json({ title: 'Idempotency-Key is required' }, 400);
    const bidder = requestHeader(c, 'x-bench-bidder') ?? 'anonymous';
    const [code, body, version, endsAt] = await decide(id, key, amount, bidder);
    // A replay: the first answer as stored (a replay of a decision not yet committed is not handled here).
    if (code === 0) return answer(body, body.startsWith('{"status":"accepted"') ? 201 : 409);
    await contractWriter([key, id, code === 1 ? version : null, amount, bidder, body, code === 1, endsAt]);
    return answer(body, code === 1 ? 201 : 409);
  });
} else {
  throw new Error(`BENCH_MODE must be bare, peer, floor, floor-batched or floor-contract, not ${mode}`);
}

const server = serve({ fetch: app.fetch, port: 0, hostname: '127.0.0.1' }, (info) => console.log(JSON.stringify({ listening: info.port })));
process.once('SIGTERM', () => {
  server.close();
  (server as { closeAllConnections?: () => void }).closeAllConnections?.();
  redis?.disconnect();
  void (pool?.end() ?? Promise.resolve()).finally(() => process.exit(0));
});
