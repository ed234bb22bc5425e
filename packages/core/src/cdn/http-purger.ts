import { PURGER_SPECIFICATION_VERSION, type CachePurger } from '../ports/purger.js';

export interface HttpPurgerOptions {
  /**
   * The URLs to purge for one auction, e.g. `(id) => [`https://edge.example.com/auctions/${id}`]`.
   * Each gets a request with `method` (default `PURGE`, as Varnish, Fastly and nginx's purge module take).
   */
  urlsFor?: (auctionId: string) => string[];
  method?: string;
  /**
   * Alternatively one purge endpoint taking a batch (Cloudflare-style): a POST of `{ files: [...] }` with the
   * URLs from `urlsFor`. When set, `method` is ignored.
   */
  batchEndpoint?: string;
  headers?: Record<string, string>;
  /** Changes within this window are sent together, each auction once. Default 200 ms (well under 1 s). */
  batchWindowMs?: number;
  /** At most this many purge requests per second; the rest wait for the next window. Default 50. */
  maxRequestsPerSecond?: number;
  timeoutMs?: number;
  fetch?: typeof fetch;
  onError?: (error: unknown, url: string) => void;
}

/** An HTTP cache purger: batched per window, de-duplicated per auction, rate-limited. */
export function createHttpPurger(options: HttpPurgerOptions): CachePurger {
  const urlsFor = options.urlsFor ?? (() => []);
  const doFetch = options.fetch ?? fetch;
  const windowMs = options.batchWindowMs ?? 200;
  const perSecond = options.maxRequestsPerSecond ?? 50;
  const pending = new Set<string>();
  let timer: ReturnType<typeof setTimeout> | null = null;
  let sentThisSecond = 0;
  let secondStartedAt = 0;
  let inFlight: Promise<void> = Promise.resolve();
  let closed = false;

  const request = async (url: string, init: RequestInit) => {
    try {
      const response = await doFetch(url, { ...init, signal: AbortSignal.timeout(options.timeoutMs ?? 5_000) });
      if (!response.ok) throw new Error(`purge answered ${response.status}`);
    } catch (error) {
      options.onError?.(error, url);
    }
  };

  /** Takes up to the rate limit's worth of auctions; the rest stay queued for the next window. */
  const take = (): string[] => {
    const now = Date.now();
    if (now - secondStartedAt >= 1_000) {
      secondStartedAt = now;
      sentThisSecond = 0;
    }
    const ids: string[] = [];
    for (const id of pending) {
      const cost = options.batchEndpoint ? (ids.length === 0 ? 1 : 0) : urlsFor(id).length;
      if (sentThisSecond + cost > perSecond) break;
      sentThisSecond += cost;
      ids.push(id);
      pending.delete(id);
    }
    return ids;
  };

  const send = async () => {
    timer = null;
    const ids = take();
    if (ids.length > 0) {
      if (options.batchEndpoint) {
        const files = ids.flatMap(urlsFor);
        await request(options.batchEndpoint, {
          method: 'POST',
          headers: { 'content-type': 'application/json', ...options.headers },
          body: JSON.stringify({ files }),
        });
      } else {
        await Promise.all(ids.flatMap(urlsFor).map((url) => request(url, { method: options.method ?? 'PURGE', headers: options.headers ?? {} })));
      }
    }
    if (pending.size > 0 && !closed) schedule();
  };

  const schedule = () => {
    if (timer || closed) return;
    timer = setTimeout(() => {
      inFlight = inFlight.then(send);
    }, windowMs);
    timer.unref?.();
  };

  return {
    specificationVersion: PURGER_SPECIFICATION_VERSION,
    name: 'http',
    purge(auctionId) {
      if (closed) return;
      pending.add(auctionId);
      schedule();
    },
    async flush() {
      if (timer) clearTimeout(timer);
      timer = null;
      await inFlight;
      while (pending.size > 0) {
        const before = pending.size;
        await send();
        if (pending.size === before) break; // rate limit reached: the timer sends the rest
      }
    },
    async close() {
      closed = true;
      if (timer) clearTimeout(timer);
      await inFlight;
    },
  };
}
