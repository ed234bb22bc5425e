import { isSealed, type AuctionEvent, type Outbid } from '@outbid/core';
import { publicOffers, shownWinnerId } from '../views.js';
import { encodeComment, encodeFrame, frameEventOf, liveStateOf, type FrameEvent, type LiveState } from './frames.js';
import { registerHandoff, takeHandoff, SSE_HANDOFF_HEADER } from './handoff.js';
import { ReadableStreamSink, ServerResponseSink, Viewer, type NodeResponse, type ViewerSink } from './viewer.js';

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
  /** Viewers written per event-loop turn in a fan-out (see FAN_OUT_SLICE). Default 32. */
  fanOutSlice?: number;
}

export interface StreamRequest {
  auctionId: string;
  /** `Last-Event-ID` header (or `lastEventId` query parameter): the last version the client has. */
  lastEventId: string | null;
  /** The web-stream path: the request's signal, so a client leaving closes its viewer. */
  signal?: AbortSignal;
  /**
   * The Node path (@hono/node-server's `c.env.outgoing`): frames are written straight to this response, with no web
   * stream per viewer. The returned Response then has no body and carries a hand-off header that `sseHandoff()`
   * (registered first by `createApp`) turns into the written head; the client leaving is seen on its 'close'.
   */
  outgoing?: NodeResponse;
  /** Called once when this request's stream is over, however it ends (also at once for a 204 or an error). */
  onClose?: () => void;
}

export interface RealtimeStats {
  openStreams: number;
  channels: number;
  framesSent: number;
  shedConnections: number;
  /** Of openStreams, those written straight to Node's ServerResponse (no web stream per viewer). */
  directStreams: number;
}

export interface RealtimeGateway {
  /** A `text/event-stream` Response (or 204 when a finished auction has nothing more to say). */
  stream(request: StreamRequest): Promise<Response>;
  stats(): RealtimeStats;
  close(): Promise<void>;
}

const encoder = new TextEncoder();
const heartbeatBytes = encoder.encode(encodeComment('heartbeat'));

/**
 * Viewers written per event-loop turn when a channel fans a frame out (ticks and heartbeats too). A frame to 10,000
 * viewers is 10,000 socket writes (a few hundred ms on a small VM); between slices a bid's next step (a Redis reply,
 * a ledger statement) gets its turn, so each step waits at most one slice. `pnpm bench fanout` with 10,000 viewers
 * on Redis + Postgres: bid p99 79 ms with slices of 256, 56 ms with 64, 29 ms with 32, delivery p99 unchanged
 * (~300 ms). A channel with at most this many viewers is written in one go.
 */
export const FAN_OUT_SLICE = 32;

class Channel {
  readonly viewers = new Set<Viewer>();
  latest: LiveState | null = null;
  /**
   * The snapshot read under way for viewers joining now, shared by all of them: a popular auction's viewers
   * reconnecting at once (a deploy, a network blip) make one read, not thousands. Started after the channel
   * subscribed, so an event after it reaches `latest` anyway.
   */
  snapshotRead: ReturnType<Outbid['getAuction']> | null = null;
  /** The auction's Buy It Now price (it never changes; events do not carry it), once a read told it. */
  buyNowPrice: number | null = null;
  pendingEvent: FrameEvent | null = null;
  unsubscribe: () => void = () => {};
  flushTimer: ReturnType<typeof setTimeout> | null = null;
  /** The latest flushed state frame (and its version): what a fan-out pass writes. */
  frame: Uint8Array | null = null;
  frameVersion = 0;
  /** A sliced fan-out pass is running; `fanOutAgain`: a newer frame came meanwhile, viewers already passed need it. */
  fanningOut = false;
  fanOutAgain = false;
  /** Ticks/heartbeats/shedding are going through this channel's viewers in slices. */
  housekeeping = false;
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
  const fanOutSlice = Math.max(1, options.fanOutSlice ?? FAN_OUT_SLICE);
  const retryBytes = encoder.encode(`retry: ${retryMs}\n\n`);
  const channels = new Map<string, Channel>();
  const stats: RealtimeStats = { openStreams: 0, channels: 0, framesSent: 0, shedConnections: 0, directStreams: 0 };
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
    channel.frame = encoder.encode(encodeFrame(channel.pendingEvent, state, serverNow()));
    channel.frameVersion = state.version;
    channel.pendingEvent = null;
    // A running pass writes the new frame to the viewers it has not reached yet; another pass covers the others.
    if (channel.fanningOut) channel.fanOutAgain = true;
    else fanOut(channel);
  };

  /**
   * Runs `each` over a channel's viewers, fanOutSlice of them per event-loop turn, so 10,000 socket writes never
   * hold up the bids queued behind them; then `done`. A channel that fits one slice is done at once, as before.
   * Viewers are taken at the start: one joining meanwhile got a snapshot of its own, one leaving is closed and skips.
   */
  const forEachViewer = (channel: Channel, each: (viewer: Viewer) => void, done: () => void) => {
    if (channel.viewers.size <= fanOutSlice) {
      for (const viewer of channel.viewers) each(viewer);
      done();
      return;
    }
    const viewers = [...channel.viewers];
    let next = 0;
    const slice = () => {
      if (closed) return;
      const end = Math.min(next + fanOutSlice, viewers.length);
      for (; next < end; next++) each(viewers[next]!);
      if (next < viewers.length) setImmediate(slice);
      else done();
    };
    slice();
  };

  /**
   * Writes the channel's latest frame to its viewers; one pass per channel at a time. Each slice writes the frame
   * that is latest then, and a viewer skips a version it already has, so versions only rise for every viewer.
   */
  const fanOut = (channel: Channel) => {
    channel.fanningOut = true;
    channel.fanOutAgain = false;
    forEachViewer(
      channel,
      (viewer) => viewer.sendState(channel.frame!, channel.frameVersion),
      () => {
        channel.fanningOut = false;
        if (channel.fanOutAgain) fanOut(channel);
      },
    );
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
      if (channel.housekeeping) continue; // a big channel's previous round is still going through its slices
      const state = channel.latest;
      const tick = tickMs > 0 && state && state.status !== 'ended' && state.status !== 'cancelled' ? encoder.encode(encodeFrame('tick', state, serverNow())) : null;
      channel.housekeeping = true;
      forEachViewer(
        channel,
        (viewer) => {
          if (viewer.blockedSince !== null && now - viewer.blockedSince > slowConsumerMs) {
            stats.shedConnections++;
            viewer.close(undefined, new Error('slow consumer'));
            return;
          }
          if (tick && viewer.lastVersion === state!.version && viewer.sendDisposable(tick)) stats.framesSent++;
          if (heartbeat) viewer.sendDisposable(heartbeatBytes);
        },
        () => (channel.housekeeping = false),
      );
    }
  }, Math.max(50, Math.min(tickMs || heartbeatMs, heartbeatMs || tickMs, 1_000)));
  housekeeping.unref?.();

  return {
    async stream({ auctionId, lastEventId, signal, outgoing, onClose = () => {} }) {
      const channel = channelFor(auctionId); // subscribe before reading, so nothing falls between
      let snapshot;
      try {
        if (!channel.snapshotRead) {
          const read = outbid.getAuction(auctionId);
          channel.snapshotRead = read;
          const clear = () => {
            if (channel.snapshotRead === read) channel.snapshotRead = null;
          };
          read.then(clear, clear);
        }
        snapshot = await channel.snapshotRead;
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
      const finished = isSealed(state);
      if (finished && resumeFrom !== null && resumeFrom >= state.version) {
        dropIfEmpty(channel);
        onClose();
        return new Response(null, { status: 204 }); // nothing more will ever come: the browser stops reconnecting
      }

      const join = (sink: ViewerSink, direct: boolean) => {
        const viewer = new Viewer(sink, stats, () => {
          channel.viewers.delete(viewer);
          stats.openStreams--;
          if (direct) stats.directStreams--;
          dropIfEmpty(channel);
          onClose();
        });
        stats.openStreams++;
        if (direct) stats.directStreams++;
        if (resumeFrom === state.version) viewer.lastVersion = state.version; // up to date: wait for the next change
        else viewer.sendState(encoder.encode(encodeFrame('snapshot', state, serverNow())), state.version);
        channel.viewers.add(viewer);
        return viewer;
      };
      const headers = {
        'content-type': 'text/event-stream; charset=utf-8',
        'cache-control': 'no-cache, no-transform',
        'x-accel-buffering': 'no',
      };

      if (outgoing) {
        if (outgoing.destroyed) {
          // The client left while the auction was read: its 'close' has come and gone.
          dropIfEmpty(channel);
          onClose();
          return new Response(null, { status: 204 });
        }
        // The viewer joins now (its channel stays subscribed) and sees an unwritable sink until the head is out:
        // its snapshot, or anything newer, waits as its pending frame.
        const sink = new ServerResponseSink(outgoing, highWaterMark);
        const viewer = join(sink, true);
        sink.onWritable = () => viewer.pull();
        const handoff = registerHandoff({
          // Closed before its head went out (the gateway shut down): an empty stream, the client reconnects.
          start: () => (viewer.closed ? outgoing.end() : sink.start(retryBytes)),
          abandon: () => viewer.close(),
        });
        // However the response ends (client gone, hand-off never done because the request failed), both go.
        outgoing.once('close', () => {
          takeHandoff(handoff);
          viewer.close();
        });
        return new Response(null, { status: 200, headers: { ...headers, [SSE_HANDOFF_HEADER]: handoff } });
      }

      let viewer!: Viewer;
      const body = new ReadableStream<Uint8Array>(
        {
          start(controller) {
            controller.enqueue(retryBytes);
            viewer = join(new ReadableStreamSink(controller), false);
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
      signal?.addEventListener('abort', () => viewer.close(), { once: true });
      return new Response(body, { status: 200, headers });
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
