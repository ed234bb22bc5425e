import { encodeComment } from './frames.js';

const encoder = new TextEncoder();

/** Where a viewer's bytes go: a web `ReadableStream` (any runtime) or Node's `ServerResponse` directly. */
export interface ViewerSink {
  /** Queues bytes; false when the sink would rather take no more for now (the viewer asks `writable()` anyway). */
  write(bytes: Uint8Array): boolean;
  /** Whether the reader keeps up: below the high-water mark and still open. */
  writable(): boolean;
  /** A normal end, after the last bytes if any. */
  end(finalBytes?: Uint8Array): void;
  /** An abrupt end (slow consumer, error): the client reconnects with Last-Event-ID. */
  destroy(error: Error): void;
}

/**
 * One SSE connection's versioning: state frames only ever rise in version, a reader that cannot keep up keeps only
 * the latest one (written when the sink can take bytes again, see `pull`), disposable frames are dropped instead.
 */
export class Viewer {
  lastVersion = 0;
  /** Latest state frame that could not be written yet (slow reader): only the newest is kept. */
  pending: Uint8Array | null = null;
  blockedSince: number | null = null;
  closed = false;
  constructor(
    private readonly sink: ViewerSink,
    private readonly counters: { framesSent: number },
    private readonly onClose: () => void,
  ) {}

  /**
   * State frames: never an older one after a newer one; a blocked reader keeps only the latest. The frame is
   * encoded once per channel and the same bytes are written to every viewer (never mutated afterwards).
   */
  sendState(frame: Uint8Array, version: number): void {
    if (this.closed || version <= this.lastVersion) return;
    this.lastVersion = version;
    if (!this.sink.writable()) {
      this.pending = frame;
      this.blockedSince ??= Date.now();
      return;
    }
    this.sink.write(frame);
    this.counters.framesSent++;
  }

  /** Ticks and heartbeats are disposable: dropped when the reader is behind. */
  sendDisposable(frame: Uint8Array): boolean {
    if (this.closed || this.pending !== null || !this.sink.writable()) return false;
    this.sink.write(frame);
    return true;
  }

  /** The sink can take bytes again: the latest state frame that waited goes out. */
  pull() {
    if (this.closed || !this.sink.writable()) return;
    if (this.pending !== null) {
      const frame = this.pending;
      this.pending = null;
      this.sink.write(frame);
      this.counters.framesSent++;
    }
    this.blockedSince = null;
  }

  close(finalComment?: string, error?: Error) {
    if (this.closed) return;
    this.closed = true;
    this.pending = null;
    try {
      if (error) this.sink.destroy(error);
      else this.sink.end(finalComment ? encoder.encode(encodeComment(finalComment)) : undefined);
    } catch {
      // already closed by the other side
    }
    this.onClose();
  }
}

/** The web-stream path (`app.request`, other runtimes): a `ReadableStream` controller with a byte-length queue. */
export class ReadableStreamSink implements ViewerSink {
  constructor(private readonly controller: ReadableStreamDefaultController<Uint8Array>) {}
  writable() {
    return (this.controller.desiredSize ?? 1) > 0;
  }
  write(bytes: Uint8Array) {
    this.controller.enqueue(bytes);
    return this.writable();
  }
  end(finalBytes?: Uint8Array) {
    if (finalBytes) this.controller.enqueue(finalBytes);
    this.controller.close();
  }
  destroy(error: Error) {
    this.controller.error(error);
  }
}

/** What the Node path needs of `http.ServerResponse` (which satisfies it; so does a `stream.Writable`, for tests). */
export interface NodeResponse {
  readonly writableLength: number;
  readonly destroyed: boolean;
  readonly writableEnded: boolean;
  write(chunk: Uint8Array, callback?: (error?: Error | null) => void): boolean;
  end(chunk?: Uint8Array): unknown;
  destroy(): unknown;
  once(event: 'drain' | 'close', listener: () => void): unknown;
}

/**
 * The Node path: frames written straight to the `ServerResponse`, no web stream, reader loop or promise per chunk.
 * Nothing is written before `start` (the head is written by the hand-off middleware, after every other
 * middleware set its headers): until then the viewer sees an unwritable sink and keeps its snapshot pending.
 */
export class ServerResponseSink implements ViewerSink {
  private started = false;
  private awaitingDrain = false;
  /** Called when the response can take bytes again: set to the viewer's `pull`. */
  onWritable: () => void = () => {};
  constructor(
    private readonly res: NodeResponse,
    private readonly highWaterMark: number,
  ) {}

  /** The head is written: the preamble, then what waited. */
  start(preamble: Uint8Array) {
    if (this.started) return;
    this.started = true;
    this.write(preamble);
    this.onWritable();
  }

  private open() {
    return this.started && !this.res.destroyed && !this.res.writableEnded;
  }

  writable() {
    return this.open() && this.res.writableLength < this.highWaterMark;
  }

  write(bytes: Uint8Array) {
    if (!this.open()) return false;
    // Our mark may sit below the socket's, where write() still answers true and no 'drain' will come: the flush of
    // the chunk that crosses it is then when the viewer can take bytes again (nothing is written after it meanwhile).
    const crossing = this.res.writableLength + bytes.byteLength >= this.highWaterMark;
    const accepted = crossing ? this.res.write(bytes, this.flushed) : this.res.write(bytes);
    if (!accepted && !this.awaitingDrain) {
      this.awaitingDrain = true;
      this.res.once('drain', this.drained);
    }
    return accepted && !crossing;
  }

  private readonly flushed = (error?: Error | null) => {
    if (!error) this.onWritable();
  };

  private readonly drained = () => {
    this.awaitingDrain = false;
    this.onWritable();
  };

  end(finalBytes?: Uint8Array) {
    // Before the hand-off the response is not ours to end (the request failed or was abandoned).
    if (!this.open()) return;
    if (finalBytes) this.res.end(finalBytes);
    else this.res.end();
  }

  destroy() {
    if (!this.res.destroyed) this.res.destroy();
  }
}
