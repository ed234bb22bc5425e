import type { AuctionEvent, Outbid } from '@outbid/core';
import { publicOffers, shownWinnerId } from '../views.js';
import { encodeComment, encodeFrame, frameEventOf, liveStateOf, type FrameEvent, type LiveState } from './frames.js';

export interface RealtimeOptions {
  /** Comment heartbeat interval; clients treat 2× this without bytes as a dead connection. Default 15 s. */
  heartbeatMs?: number;
  /** `tick` frames (server time, remaining time) per channel. Default 1 s; 0 = off. */
  tickMs?: number;
  /** Coalescing window: within it only the latest state of an auction is sent. Default 50 ms; 0 = off. */
  flushMs?: number;
  /** The `retry:` hint for reconnecting browsers. Default 2 s. */
  retryMs?: number;
  /** A connection that cannot take bytes for this long is closed (it reconnects and gets a snapshot). Default 10 s. */
  slowConsumerMs?: number;
  /** Bytes buffered per connection before it counts as unwritable. Default 64 KiB. */
  highWaterMarkBytes?: number;
}

export interface StreamRequest {
  auctionId: string;
  /** `Last-Event-ID` header (or `lastEventId` query parameter): the last version the client has. */
  lastEventId: string | null;
  signal: AbortSignal;
  /** Called once when this request's stream is over, however it ends (also at once for a 204 or an error). */
  onClose?: () => void;
}

export interface RealtimeStats {
  openStreams: number;
  channels: number;
  framesSent: number;
  shedConnections: number;
}

export interface RealtimeGateway {
  /** A `text/event-stream` Response (or 204 when a finished auction has nothing more to say). */
  stream(request: StreamRequest): Promise<Response>;
  stats(): RealtimeStats;
  close(): Promise<void>;
}

const encoder = new TextEncoder();
const heartbeatBytes = encoder.encode(encodeComment('heartbeat'));

class Viewer {
  lastVersion = 0;
  /** Latest state frame that could not be written yet (slow reader): only the newest is kept. */
  pending: Uint8Array | null = null;
  blockedSince: number | null = null;
  closed = false;
  constructor(
    readonly controller: ReadableStreamDefaultController<Uint8Array>,
    private readonly onClose: () => void,
  ) {}

  private writable() {
    return (this.controller.desiredSize ?? 1) > 0;
  }

  /**
   * State frames: never an older one after a newer one; a blocked reader keeps only the latest. The frame is
   * encoded once per channel and the same bytes are enqueued to every viewer (never mutated afterwards).
   */
  sendState(frame: Uint8Array, version: number): boolean {
    if (this.closed || version <= this.lastVersion) return false;
    this.lastVersion = version;
    if (!this.writable()) {
      this.pending = frame;
      this.blockedSince ??= Date.now();
      return false;
    }
    this.controller.enqueue(frame);
    return true;
  }

  /** Ticks and heartbeats are disposable: dropped when the reader is behind. */
  sendDisposable(frame: Uint8Array): boolean {
    if (this.closed || !this.writable() || this.pending !== null) return false;
    this.controller.enqueue(frame);
    return true;
  }

  pull() {
    if (this.pending !== null && !this.closed) {
      this.controller.enqueue(this.pending);
      this.pending = null;
    }
    this.blockedSince = null;
  }

  close(finalComment?: string, error?: Error) {
    if (this.closed) return;
    this.closed = true;
    try {
      if (error) this.controller.error(error);
      else {
        if (finalComment) this.controller.enqueue(encoder.encode(encodeComment(finalComment)));
        this.controller.close();
      }
    } catch {
      // already closed by the other side
    }
    this.onClose();
  }
}

class Channel {
  readonly viewers = new Set<Viewer>();
  latest: LiveState | null = null;
  /** The auction's Buy It Now price (it never changes; events do not carry it), once a read told it. */
  buyNowPrice: number | null = null;
  pendingEvent: FrameEvent | null = null;
  unsubscribe: () => void = () => {};
  flushTimer: ReturnType<typeof setTimeout> | null = null;
  constructor(readonly auctionId: string) {}
}

/**
 * Fans auction events out to Server-Sent Events viewers: one subscription and one set of timers per auction
 * channel however many viewers it has; frames versioned, coalesced and never out of order.
 */
export function createRealtimeGateway(outbid: Outbid, options: RealtimeOptions = {}): RealtimeGateway {
  const heartbeatMs = options.heartbeatMs ?? 15_000;
  const tickMs = options.tickMs ?? 1_000;
  const flushMs = options.flushMs ?? 50;
  const retryMs = options.retryMs ?? 2_000;
  const slowConsumerMs = options.slowConsumerMs ?? 10_000;
  const highWaterMark = options.highWaterMarkBytes ?? 64 * 1024;
  const channels = new Map<string, Channel>();
  const stats: RealtimeStats = { openStreams: 0, channels: 0, framesSent: 0, shedConnections: 0 };
  /** Authoritative (engine) time minus local time, refreshed by the tick timer. */
  let clockOffset = 0;
  let closed = false;
  const serverNow = () => Date.now() + clockOffset;
  const refreshClock = async () => {
    const before = Date.now();
    const authoritative = await outbid.now();
    clockOffset = authoritative - Math.round((before + Date.now()) / 2);
  };

  const flush = (channel: Channel) => {
    channel.flushTimer = null;
    const state = channel.latest;
    if (!state || channel.pendingEvent === null) return;
    const frame = encoder.encode(encodeFrame(channel.pendingEvent, state, serverNow()));
    channel.pendingEvent = null;
    for (const viewer of channel.viewers) if (viewer.sendState(frame, state.version)) stats.framesSent++;
  };

  const onEvent = (channel: Channel, event: AuctionEvent) => {
    const current = channel.latest;
    if (current && event.version < current.version) return; // older than what we have: a redelivery
    if (current && event.version === current.version) {
      // BidAccepted and AuctionExtended share a version: upgrade a frame not sent yet, else it is a duplicate.
      if (event.type === 'AuctionExtended' && channel.pendingEvent === 'bid') channel.pendingEvent = 'extended';
      return;
    }
    channel.latest = liveStateOf(event, channel.buyNowPrice);
    const type = frameEventOf(event);
    // `ended` wins over anything coalesced with it and goes out at once.
    channel.pendingEvent = type;
    if (type === 'ended' || flushMs === 0) {
      if (channel.flushTimer) clearTimeout(channel.flushTimer);
      flush(channel);
    } else {
      channel.flushTimer ??= setTimeout(() => flush(channel), flushMs);
    }
  };

  const channelFor = (auctionId: string): Channel => {
    let channel = channels.get(auctionId);
    if (!channel) {
      const created = new Channel(auctionId);
      created.unsubscribe = outbid.subscribe((event) => onEvent(created, event), { auctionId });
      channels.set(auctionId, created);
      stats.channels = channels.size;
      channel = created;
    }
    return channel;
  };

  const dropIfEmpty = (channel: Channel) => {
    if (channel.viewers.size > 0 || channels.get(channel.auctionId) !== channel) return;
    channel.unsubscribe();
    if (channel.flushTimer) clearTimeout(channel.flushTimer);
    channels.delete(channel.auctionId);
    stats.channels = channels.size;
  };

  // One timer for every channel: ticks, heartbeats and shedding of readers that stopped reading.
  let lastHeartbeat = Date.now();
  const housekeeping = setInterval(async () => {
    if (closed) return;
    const now = Date.now();
    const heartbeat = heartbeatMs > 0 && now - lastHeartbeat >= heartbeatMs;
    if (heartbeat) lastHeartbeat = now;
    if (tickMs > 0) await refreshClock().catch(() => undefined);
    for (const channel of channels.values()) {
      const state = channel.latest;
      const tick = tickMs > 0 && state && state.status !== 'ended' && state.status !== 'cancelled' ? encoder.encode(encodeFrame('tick', state, serverNow())) : null;
      for (const viewer of channel.viewers) {
        if (viewer.blockedSince !== null && now - viewer.blockedSince > slowConsumerMs) {
          stats.shedConnections++;
          viewer.close(undefined, new Error('slow consumer'));
          continue;
        }
        if (tick && viewer.lastVersion === state!.version && viewer.sendDisposable(tick)) stats.framesSent++;
        if (heartbeat) viewer.sendDisposable(heartbeatBytes);
      }
    }
  }, Math.max(50, Math.min(tickMs || heartbeatMs, heartbeatMs || tickMs, 1_000)));
  housekeeping.unref?.();

  return {
    async stream({ auctionId, lastEventId, signal, onClose = () => {} }) {
      const channel = channelFor(auctionId); // subscribe before reading, so nothing falls between
      let snapshot;
      try {
        snapshot = await outbid.getAuction(auctionId);
      } catch (error) {
        dropIfEmpty(channel);
        onClose();
        throw error;
      }
      const durable: LiveState = {
        auctionId,
        status: snapshot.status,
        currentPrice: snapshot.currentPrice,
        winnerId: shownWinnerId(snapshot),
        version: snapshot.version,
        endAt: snapshot.effectiveEndAt,
        ...publicOffers(snapshot),
      };
      channel.buyNowPrice = snapshot.buyNowPrice;
      clockOffset = snapshot.serverTime - Date.now();
      if (!channel.latest || channel.latest.version < durable.version) channel.latest = durable;
      // An event may have come in before the read told the price: complete it.
      else if (snapshot.buyNowPrice !== null && channel.latest.buyNowPrice === undefined) channel.latest = { ...channel.latest, buyNowPrice: snapshot.buyNowPrice };
      const state = channel.latest;
      const resumeFrom = lastEventId !== null && /^\d{1,15}$/.test(lastEventId.trim()) ? Number(lastEventId.trim()) : null;
      const finished = state.status === 'ended' || state.status === 'cancelled';
      if (finished && resumeFrom !== null && resumeFrom >= state.version) {
        dropIfEmpty(channel);
        onClose();
        return new Response(null, { status: 204 }); // nothing more will ever come: the browser stops reconnecting
      }

      let viewer!: Viewer;
      const body = new ReadableStream<Uint8Array>(
        {
          start(controller) {
            viewer = new Viewer(controller, () => {
              channel.viewers.delete(viewer);
              stats.openStreams--;
              dropIfEmpty(channel);
              onClose();
            });
            stats.openStreams++;
            controller.enqueue(encoder.encode(`retry: ${retryMs}\n\n`));
            if (resumeFrom === state.version) viewer.lastVersion = state.version; // up to date: wait for the next change
            else if (viewer.sendState(encoder.encode(encodeFrame('snapshot', state, serverNow())), state.version)) stats.framesSent++;
            channel.viewers.add(viewer);
          },
          pull() {
            viewer.pull();
          },
          cancel() {
            viewer.close();
          },
        },
        new ByteLengthQueuingStrategy({ highWaterMark }),
      );
      signal.addEventListener('abort', () => viewer?.close(), { once: true });
      return new Response(body, {
        status: 200,
        headers: {
          'content-type': 'text/event-stream; charset=utf-8',
          'cache-control': 'no-cache, no-transform',
          'x-accel-buffering': 'no',
        },
      });
    },
    stats: () => ({ ...stats }),
    async close() {
      closed = true;
      clearInterval(housekeeping);
      for (const channel of [...channels.values()]) {
        for (const viewer of [...channel.viewers]) viewer.close('server shutting down; reconnect with Last-Event-ID');
        dropIfEmpty(channel);
      }
    },
  };
}
