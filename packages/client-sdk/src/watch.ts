import { createParser } from 'eventsource-parser';
import type { ServerClock } from './clock.js';
import { OutbidClientError, kindOfStatus } from './errors.js';
import type { Auction, AuctionOffers, ConnectionStatus, LiveAuction, WatchSnapshot } from './types.js';

export interface WatchOptions {
  /** The server's heartbeat interval; no bytes for twice this means a dead connection. Default 15 s. */
  heartbeatMs?: number;
  /** Reconnect backoff: full jitter over min(maxDelayMs, baseDelayMs · 2^attempt). Defaults 500 ms and 15 s. */
  baseDelayMs?: number;
  maxDelayMs?: number;
}

export interface WatchDeps {
  url: string;
  fetch: typeof fetch;
  headers: () => Promise<Record<string, string>>;
  clock: ServerClock;
  /** Refetches the auction (GET /auctions/:id) when the stream cannot fill a gap. */
  refetch: () => Promise<Auction>;
  random?: () => number;
}

const FRAME_EVENTS = new Set(['snapshot', 'bid', 'extended', 'ended', 'tick']);

/** The reserve and Buy It Now fields, copied only when the auction has them (absent means "not offered"). */
function offers(from: AuctionOffers): AuctionOffers {
  const out: AuctionOffers = {};
  if (typeof from.reserveMet === 'boolean') out.reserveMet = from.reserveMet;
  if (typeof from.buyNowPrice === 'number') out.buyNowPrice = from.buyNowPrice;
  if (typeof from.buyNowAvailable === 'boolean') out.buyNowAvailable = from.buyNowAvailable;
  return out;
}

function liveFromAuction(a: Auction): LiveAuction {
  return { auctionId: a.id, status: a.status, currentPrice: a.currentPrice, winnerId: a.currentWinnerId, version: a.version, endAt: Date.parse(a.endAt), ...offers(a) };
}

/**
 * One live view of an auction over Server-Sent Events, read with fetch so it can send Authorization. Applies frames
 * by version (last version wins, older and duplicate frames dropped), resumes with Last-Event-ID after any drop,
 * treats silence longer than two heartbeats as a dead connection, and refetches when a gap cannot be filled.
 */
export function watch(deps: WatchDeps, listener: (snapshot: WatchSnapshot) => void, options: WatchOptions = {}): () => void {
  const heartbeatMs = options.heartbeatMs ?? 15_000;
  const baseDelayMs = options.baseDelayMs ?? 500;
  const maxDelayMs = options.maxDelayMs ?? 15_000;
  const random = deps.random ?? Math.random;
  let snapshot: WatchSnapshot = { auction: null, connection: 'connecting', error: null };
  let controller: AbortController | null = null;
  let watchdog: ReturnType<typeof setTimeout> | null = null;
  let retry: ReturnType<typeof setTimeout> | null = null;
  let attempt = 0;
  let stopped = false;
  /** After a reconnect the first frame must be a snapshot or continue the version sequence. */
  let resumed = false;

  const emit = (patch: Partial<WatchSnapshot>) => {
    const next = { ...snapshot, ...patch };
    if (next.auction === snapshot.auction && next.connection === snapshot.connection && next.error === snapshot.error) return;
    snapshot = next;
    listener(snapshot);
  };

  const apply = (incoming: LiveAuction) => {
    if (snapshot.auction && incoming.version <= snapshot.auction.version) return; // older or duplicate
    emit({ auction: incoming });
  };

  const resetWatchdog = () => {
    if (watchdog) clearTimeout(watchdog);
    watchdog = setTimeout(() => controller?.abort(new Error('heartbeat missed')), heartbeatMs * 2);
  };

  const close = (error: Error | null) => {
    stopped = true;
    if (watchdog) clearTimeout(watchdog);
    if (retry) clearTimeout(retry);
    controller?.abort();
    emit({ connection: 'closed', error });
  };

  const scheduleReconnect = () => {
    if (stopped) return;
    if (watchdog) clearTimeout(watchdog);
    emit({ connection: 'reconnecting' });
    const delay = random() * Math.min(maxDelayMs, baseDelayMs * 2 ** attempt);
    attempt++;
    retry = setTimeout(() => void connect(), delay);
  };

  const refill = async () => {
    try {
      apply(liveFromAuction(await deps.refetch()));
    } catch {
      // the stream carries on; the next frame or reconnect catches up
    }
  };

  const onFrame = (event: string, data: string, receivedAt: number) => {
    if (!FRAME_EVENTS.has(event)) return;
    let frame: { auctionId: string; status: LiveAuction['status']; currentPrice: number; winnerId: string | null; version: number; endAt: string; serverTime: string } & AuctionOffers;
    try {
      frame = JSON.parse(data);
    } catch {
      return;
    }
    deps.clock.observeOneWay(Date.parse(frame.serverTime), receivedAt);
    if (event === 'tick') return;
    const incoming: LiveAuction = { auctionId: frame.auctionId, status: frame.status, currentPrice: frame.currentPrice, winnerId: frame.winnerId, version: frame.version, endAt: Date.parse(frame.endAt), ...offers(frame) };
    const current = snapshot.auction;
    if (resumed && event !== 'snapshot' && current && incoming.version > current.version + 1) {
      // A jump right after reconnecting: the frames in between are gone. Start again from the server's state.
      resumed = false;
      apply(incoming);
      void refill();
      return;
    }
    resumed = false;
    apply(incoming);
    if (event === 'ended') close(null);
  };

  const connect = async () => {
    if (stopped) return;
    controller = new AbortController();
    const headers: Record<string, string> = { accept: 'text/event-stream', ...(await deps.headers()) };
    if (snapshot.auction) headers['last-event-id'] = String(snapshot.auction.version);
    resumed = snapshot.auction !== null;
    resetWatchdog();
    let response: Response;
    try {
      response = await deps.fetch(deps.url, { headers, signal: controller.signal, cache: 'no-store' });
    } catch {
      return scheduleReconnect();
    }
    if (response.status === 204) return close(null); // finished, and we have its final state
    if (!response.ok || !response.body) {
      if ([401, 403, 404].includes(response.status)) {
        return close(new OutbidClientError(kindOfStatus(response.status), `HTTP_${response.status}`, `The stream answered ${response.status}.`, response.status));
      }
      return scheduleReconnect();
    }
    attempt = 0;
    emit({ connection: 'live', error: null });
    const parser = createParser({
      onEvent: (e) => onFrame(e.event ?? 'message', e.data, Date.now()),
    });
    const reader = response.body.getReader();
    const decoder = new TextDecoder();
    try {
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        resetWatchdog(); // any bytes, heartbeats included, prove the connection alive
        parser.feed(decoder.decode(value, { stream: true }));
        if (stopped) return;
      }
    } catch {
      // aborted (watchdog, unsubscribe) or the network dropped
    }
    if (!stopped) scheduleReconnect();
  };

  void connect();
  return () => {
    // Unsubscribing stops quietly: the listener asked to hear nothing more.
    stopped = true;
    if (watchdog) clearTimeout(watchdog);
    if (retry) clearTimeout(retry);
    controller?.abort();
  };
}

export type { ConnectionStatus };
