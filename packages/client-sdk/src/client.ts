import { ServerClock } from './clock.js';
import { OutbidClientError, kindOfStatus, retryAfterMs } from './errors.js';
import type { Auction, BidInput, BidPage, BidResult, CreateAuctionInput, WatchSnapshot } from './types.js';
import { watch, type WatchOptions } from './watch.js';

export interface OutbidClientOptions {
  /** e.g. https://auctions.example.com (no trailing slash needed). */
  baseUrl: string;
  /** Returns the bearer token for each request (null: anonymous). */
  getToken?: () => string | null | undefined | Promise<string | null | undefined>;
  /** Defaults to the global fetch (browsers, Node 20). */
  fetch?: typeof fetch;
  /** Bounded retries of a bid or a buy after network failures and 5xx (same Idempotency-Key). Default 4. */
  bidRetries?: number;
}

export interface PlaceBidOptions {
  /** Reuse a key to make your own retries safe; by default one is made per call. */
  idempotencyKey?: string;
}

export interface OutbidClient {
  getAuction(id: string): Promise<Auction>;
  listBids(id: string, query?: { cursor?: string; limit?: number; include?: 'accepted' | 'all' }): Promise<BidPage>;
  createAuction(input: CreateAuctionInput): Promise<Auction & { auctionId: string }>;
  startAuction(id: string): Promise<Auction>;
  endAuction(id: string): Promise<Auction>;
  /**
   * Places a bid (minor units): `{ amount }`, `{ maxAmount }` (a secret maximum the server bids up to for you), or
   * both. Answers accepted, or rejected/late with the `reason` and the state to bid against (`currentPrice`,
   * `minNextBid`); `OUTBID_BY_PROXY` means a standing maximum beat the bid at once and the price moved.
   * One Idempotency-Key per call, reused on its retries. Throws OutbidClientError otherwise (a 400 for an
   * `amount` above `maxAmount` is a `validation` error).
   */
  bid(id: string, input: BidInput, options?: PlaceBidOptions): Promise<BidResult>;
  /** A plain bid: the same as `bid(id, { amount }, options)`. */
  placeBid(id: string, amount: number, options?: PlaceBidOptions): Promise<BidResult>;
  /**
   * Buys the auction at its Buy It Now price, ending it: accepted (`amount` is the price paid), or rejected with
   * `BUY_NOW_UNAVAILABLE` (a bid came first, or the reserve was met) or `AUCTION_ENDED`. Retried safely like a bid.
   */
  buyNow(id: string, options?: PlaceBidOptions): Promise<BidResult>;
  /** Live state of an auction; returns the unsubscribe function. */
  watchAuction(id: string, listener: (snapshot: WatchSnapshot) => void, options?: WatchOptions): () => void;
  /** The server's time now (epoch ms), estimated from response times. */
  serverNow(): number;
  /** Milliseconds until `endAt` (epoch ms or ISO 8601) by the server's clock; never negative. */
  remainingMs(endAt: number | string): number;
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

function newKey(): string {
  const c = globalThis.crypto as Crypto | undefined;
  if (c?.randomUUID) return c.randomUUID();
  return `${Date.now().toString(36)}-${Math.random().toString(36).slice(2)}-${Math.random().toString(36).slice(2)}`;
}

/** The Outbid client: REST calls, bids with safe retries, and live auctions over SSE. Framework-agnostic. */
export function createOutbidClient(options: OutbidClientOptions): OutbidClient {
  const base = options.baseUrl.replace(/\/+$/, '');
  const doFetch: typeof fetch = options.fetch ?? ((...args) => fetch(...args));
  const clock = new ServerClock();
  const bidRetries = options.bidRetries ?? 4;

  const headers = async (): Promise<Record<string, string>> => {
    const token = await options.getToken?.();
    return token ? { authorization: `Bearer ${token}` } : {};
  };

  /** One request; non-2xx answers become OutbidClientError (except the statuses the caller handles). */
  const request = async (method: string, path: string, body?: unknown, extra: Record<string, string> = {}, passThrough: number[] = []) => {
    const sentAt = Date.now();
    let response: Response;
    try {
      response = await doFetch(`${base}${path}`, {
        method,
        // Revalidate: GET /auctions/:id may be cached for a second for CDN edges; the ETag makes this a cheap 304.
        cache: 'no-cache',
        headers: { ...(await headers()), ...(body === undefined ? {} : { 'content-type': 'application/json' }), ...extra },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      });
    } catch (error) {
      throw new OutbidClientError('network', 'NETWORK', error instanceof Error ? error.message : 'network error');
    }
    const text = await response.text();
    const json = text ? (JSON.parse(text) as Record<string, unknown>) : {};
    if (typeof json.serverTime === 'string') clock.observe(Date.parse(json.serverTime), sentAt, Date.now());
    if (!response.ok && !passThrough.includes(response.status)) {
      throw new OutbidClientError(
        kindOfStatus(response.status),
        typeof json.code === 'string' ? json.code : `HTTP_${response.status}`,
        typeof json.detail === 'string' ? json.detail : `HTTP ${response.status}`,
        response.status,
        retryAfterMs(response.headers.get('retry-after')),
      );
    }
    return { response, json };
  };

  const path = (id: string) => `/auctions/${encodeURIComponent(id)}`;

  /** A bid or a buy: one Idempotency-Key for the call, reused by its bounded retries; 409 decisions are results. */
  const decide = async (to: string, body: object, { idempotencyKey }: PlaceBidOptions = {}): Promise<BidResult> => {
    const key = idempotencyKey ?? newKey();
    for (let attempt = 0; ; attempt++) {
      try {
        const { response, json } = await request('POST', to, body, { 'idempotency-key': key }, [409]);
        if (response.status === 409 && json.status !== 'rejected' && json.status !== 'late') {
          // 409 without a decision: the first request with this key is still in progress.
          throw new OutbidClientError('conflict', String(json.code ?? 'IDEMPOTENCY_IN_PROGRESS'), String(json.detail ?? 'in progress'), 409, retryAfterMs(response.headers.get('retry-after')));
        }
        return { ...(json as unknown as BidResult), replayed: response.headers.get('idempotent-replayed') === 'true' };
      } catch (error) {
        const transient =
          error instanceof OutbidClientError && (error.kind === 'network' || error.kind === 'server' || error.code === 'IDEMPOTENCY_IN_PROGRESS');
        if (!transient || attempt >= bidRetries) throw error;
        const backoff = Math.min(4_000, 200 * 2 ** attempt) * (0.5 + Math.random() / 2);
        await sleep(Math.max(backoff, (error as OutbidClientError).retryAfterMs ?? 0));
      }
    }
  };

  const client: OutbidClient = {
    async getAuction(id) {
      return (await request('GET', path(id))).json as unknown as Auction;
    },
    async listBids(id, query = {}) {
      const params = new URLSearchParams(Object.entries(query).filter(([, v]) => v !== undefined).map(([k, v]) => [k, String(v)]));
      const qs = params.toString();
      return (await request('GET', `${path(id)}/bids${qs ? `?${qs}` : ''}`)).json as unknown as BidPage;
    },
    async createAuction(input) {
      return (await request('POST', '/auctions', input)).json as unknown as Auction & { auctionId: string };
    },
    async startAuction(id) {
      return (await request('POST', `${path(id)}/start`)).json as unknown as Auction;
    },
    async endAuction(id) {
      return (await request('POST', `${path(id)}/end`)).json as unknown as Auction;
    },
    bid: (id, input, bidOptions) => decide(`${path(id)}/bids`, { amount: input.amount, maxAmount: input.maxAmount }, bidOptions),
    placeBid: (id, amount, bidOptions) => client.bid(id, { amount }, bidOptions),
    buyNow: (id, bidOptions) => decide(`${path(id)}/buy-now`, {}, bidOptions),
    watchAuction(id, listener, watchOptions) {
      return watch(
        {
          url: `${base}${path(id)}/stream`,
          fetch: doFetch,
          headers,
          clock,
          refetch: () => client.getAuction(id),
        },
        listener,
        watchOptions,
      );
    },
    serverNow: () => clock.now(),
    remainingMs(endAt) {
      const end = typeof endAt === 'number' ? endAt : Date.parse(endAt);
      return Math.max(0, end - clock.now());
    },
  };
  return client;
}
