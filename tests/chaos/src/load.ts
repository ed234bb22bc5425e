import { request } from 'node:http';
import type { BidAttempt, ViewerRecord } from './history.js';
import type { Rng } from './rng.js';

export type Instance = 'a' | 'b';
const INSTANCES: readonly Instance[] = ['a', 'b'];

export interface LoadContext {
  url(instance: Instance): string;
  record(attempt: Omit<BidAttempt, 'seq'>): BidAttempt;
  /** Auctions to bid on, with the end the client last heard of. */
  auctions: Array<{ id: string; endAt: number }>;
  timeoutMs: number;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** One HTTP attempt of a bid, never throwing: the outcome is what the client saw. */
async function sendBid(ctx: LoadContext, instance: Instance, token: string, auctionId: string, key: string, amount: number): Promise<BidAttempt['outcome']> {
  try {
    const res = await fetch(`${ctx.url(instance)}/auctions/${encodeURIComponent(auctionId)}/bids`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json', 'idempotency-key': key },
      body: JSON.stringify({ amount }),
      signal: AbortSignal.timeout(ctx.timeoutMs),
    });
    const body = await res.text();
    return { type: 'response', status: res.status, body, replayed: res.headers.get('idempotent-replayed') === 'true' };
  } catch (error) {
    const e = error as Error & { cause?: { code?: string } };
    return { type: 'error', error: e.name === 'TimeoutError' ? 'timeout' : (e.cause?.code ?? e.message) };
  }
}

function isTransient(outcome: BidAttempt['outcome']): { transient: boolean; retryAfterMs: number } {
  if (outcome.type === 'error') return { transient: true, retryAfterMs: 0 };
  if (outcome.status === 201 || outcome.status === 422) return { transient: false, retryAfterMs: 0 };
  if (outcome.status === 409 && /"status":"(rejected|late)"/.test(outcome.body)) return { transient: false, retryAfterMs: 0 };
  return { transient: outcome.status >= 500 || outcome.status === 409 || outcome.status === 429, retryAfterMs: 0 };
}

export interface SentKey {
  auctionId: string;
  key: string;
  amount: number;
  decided: boolean;
}

/**
 * A bid as the SDK places it: the same Idempotency-Key on every retry after a network error, a timeout, a 5xx or
 * a 409 in progress, with exponential backoff; a load balancer picks the instance for every attempt.
 */
export async function placeBid(
  ctx: LoadContext,
  rng: Rng,
  who: { client: string; bidderId: string; token: string },
  bid: { auctionId: string; key: string; amount: number },
  why: 'first' | 'resend' | 'probe',
  options: { maxAttempts: number; expectVersion?: number; instance?: Instance },
): Promise<BidAttempt | null> {
  for (let attempt = 0; attempt < options.maxAttempts; attempt++) {
    const instance = options.instance ?? rng.pick(INSTANCES);
    const sentAt = Date.now();
    const outcome = await sendBid(ctx, instance, who.token, bid.auctionId, bid.key, bid.amount);
    const recorded = ctx.record({
      client: who.client,
      bidderId: who.bidderId,
      auctionId: bid.auctionId,
      key: bid.key,
      amount: bid.amount,
      attempt,
      why: attempt === 0 ? why : why === 'probe' ? 'probe' : 'retry',
      ...(options.expectVersion !== undefined ? { expectVersion: options.expectVersion } : {}),
      instance,
      sentAt,
      receivedAt: Date.now(),
      outcome,
    });
    if (!isTransient(outcome).transient) return recorded;
    const backoff = Math.min(2_000, 100 * 2 ** attempt) * (0.5 + rng() / 2);
    await sleep(backoff);
  }
  return null;
}

export async function getAuction(ctx: LoadContext, instance: Instance, token: string, auctionId: string): Promise<{ status: number; body: Record<string, unknown> | null }> {
  try {
    const res = await fetch(`${ctx.url(instance)}/auctions/${encodeURIComponent(auctionId)}`, {
      headers: { authorization: `Bearer ${token}`, 'cache-control': 'no-cache' },
      signal: AbortSignal.timeout(ctx.timeoutMs),
    });
    const text = await res.text();
    return { status: res.status, body: res.ok ? (JSON.parse(text) as Record<string, unknown>) : null };
  } catch {
    return { status: 0, body: null };
  }
}

/**
 * A bidder: reads the auction, bids the minimum or a step or two above it, retries as the SDK does; now and then
 * sends an already answered key again (a client whose answer was lost in transit), which is how a changed replay
 * after a restart shows.
 */
export async function bidder(ctx: LoadContext, rng: Rng, who: { client: string; bidderId: string; token: string }, until: () => boolean, options: { resendChance: number; pauseMs: [number, number] }) {
  const sent: SentKey[] = [];
  let n = 0;
  while (!until()) {
    if (sent.length > 0 && rng.chance(options.resendChance)) {
      const old = rng.pick(sent);
      const result = await placeBid(ctx, rng, who, old, 'resend', { maxAttempts: 4 });
      if (result) old.decided = true;
    } else {
      const now = Date.now();
      const open = ctx.auctions.filter((a) => a.endAt > now - 2_000); // a few bids land just after the end: they must be late
      if (open.length === 0) break;
      const auction = rng.pick(open);
      const state = await getAuction(ctx, rng.pick(INSTANCES), who.token, auction.id);
      if (state.body && typeof state.body.minNextBid === 'number') {
        if (typeof state.body.endAt === 'string') auction.endAt = Date.parse(state.body.endAt);
        const step = typeof state.body.minIncrement === 'number' ? state.body.minIncrement : 10;
        const bid = { auctionId: auction.id, key: `${who.client}-${++n}`, amount: state.body.minNextBid + step * rng.int(0, 2), decided: false };
        sent.push(bid);
        const result = await placeBid(ctx, rng, who, bid, 'first', { maxAttempts: 6 });
        if (result) bid.decided = true;
      }
    }
    await sleep(rng.int(options.pauseMs[0], options.pauseMs[1]));
  }
  return sent;
}

/**
 * An SSE viewer of one auction through one instance: records every frame's version; on a dropped stream it
 * reconnects with Last-Event-ID, as a browser does. Stops when told, or after a 204 (the auction is over and its
 * final state was delivered).
 */
export function viewer(ctx: LoadContext, record: ViewerRecord, token: string, rng: Rng) {
  let stopped = false;
  let current: { destroy(): void } | null = null;
  let lastId = 0;
  const done = (async () => {
    while (!stopped) {
      record.connects++;
      const status = await new Promise<number>((finish) => {
        const url = new URL(`${ctx.url(record.instance as Instance)}/auctions/${encodeURIComponent(record.auctionId)}/stream`);
        const req = request(
          { host: url.hostname, port: url.port, path: url.pathname, headers: { authorization: `Bearer ${token}`, accept: 'text/event-stream', ...(lastId > 0 ? { 'last-event-id': String(lastId) } : {}) } },
          (res) => {
            if (res.statusCode !== 200) {
              res.resume();
              res.on('end', () => finish(res.statusCode ?? 0));
              return;
            }
            let buffer = '';
            res.setEncoding('utf8');
            res.on('data', (chunk: string) => {
              buffer += chunk;
              let cut: number;
              while ((cut = buffer.indexOf('\n\n')) >= 0) {
                const block = buffer.slice(0, cut);
                buffer = buffer.slice(cut + 2);
                let id: number | null = null;
                let event = 'message';
                let data = '';
                for (const line of block.split('\n')) {
                  if (line.startsWith('id: ')) id = Number(line.slice(4));
                  else if (line.startsWith('event: ')) event = line.slice(7);
                  else if (line.startsWith('data: ')) data += line.slice(6);
                }
                if (id === null || !Number.isFinite(id)) continue;
                let status = '';
                try {
                  status = String((JSON.parse(data) as { status?: string }).status ?? '');
                } catch {
                  status = 'unparsable';
                }
                record.frames.push({ at: Date.now(), version: id, event, status });
                lastId = Math.max(lastId, id);
              }
            });
            res.on('end', () => finish(200));
            res.on('error', () => finish(0));
            res.on('close', () => finish(0));
          },
        );
        req.on('error', () => finish(0));
        // Heartbeats come every 2 s: a silent stream (stalled, or its server gone) is dropped and reopened.
        req.setTimeout(8_000, () => req.destroy());
        req.end();
        current = req;
      });
      current = null;
      if (status === 204) break;
      if (!stopped) await sleep(rng.int(200, 600));
    }
  })();
  return {
    get lastVersion() {
      return lastId;
    },
    async stop() {
      stopped = true;
      current?.destroy();
      await done;
    },
  };
}
