import type { AuctionEvent } from '../domain/events.js';
import type { EventBus } from '../ports/bus.js';
import type { Ledger } from '../ports/ledger.js';

const CLOSED = Symbol('outbox relay closed');

export interface OutboxRelayOptions {
  ledger: Ledger;
  bus: EventBus;
  /** Poll interval; `kick()` wakes the relay sooner after a local change. */
  pollMs?: number;
  batchSize?: number;
  /** Least time from the end of one pass to the start of the next, so a burst is published in fewer passes. Default 10 ms. */
  coalesceMs?: number;
  onError?: (error: unknown) => void;
}

export interface OutboxRelay {
  /** Publish whatever is pending now (coalesced with a run already under way). */
  kick(): Promise<void>;
  /** Resolves once the outbox is empty or the last pass failed. */
  drain(): Promise<void>;
  close(): Promise<void>;
}

/**
 * Moves outbox entries from the ledger to the bus in order and marks them published: at least once, since a
 * crash between publish and mark publishes again (consumers de-duplicate by version).
 */
export function createOutboxRelay(options: OutboxRelayOptions): OutboxRelay {
  const { ledger, bus } = options;
  const batchSize = options.batchSize ?? 500;
  const coalesceMs = options.coalesceMs ?? 10;
  let running: Promise<void> | null = null;
  let again = false;
  let lastPassEndedAt = -Infinity;
  let urgent = false;
  let closed = false;

  const pass = async () => {
    if (ledger.relayOutbox) {
      // Closed mid-pass: the batch not handed to the bus stays unpublished (the pass rolls its marks back).
      const publish = async (events: AuctionEvent[]) => {
        if (closed) throw CLOSED;
        await bus.publish(events);
      };
      await ledger.relayOutbox(publish, batchSize).catch((error: unknown) => {
        if (error !== CLOSED) throw error;
      });
      return;
    }
    if (ledger.withRelayLock) {
      await ledger.withRelayLock(drainOutbox);
      return;
    }
    await drainOutbox();
  };

  const drainOutbox = async () => {
    for (;;) {
      const entries = await ledger.readOutbox(batchSize);
      if (entries.length === 0 || closed) return;
      await bus.publish(entries.map((e) => e.event));
      await ledger.markPublished(entries.map((e) => e.position));
      if (entries.length < batchSize) return;
    }
  };

  /** `now`: skip the pause (drain: someone waits for the outbox to empty). */
  const kick = (now = false): Promise<void> => {
    if (closed) return Promise.resolve();
    if (now) urgent = true;
    if (running) {
      again = true;
      return running;
    }
    running = (async () => {
      do {
        // A pass starts at most once per coalesceMs: while commits keep coming (each one kicks) they are published
        // a few passes a second in larger batches, instead of one small pass per commit; after a quiet spell the
        // first kick runs at once.
        const wait = urgent ? 0 : lastPassEndedAt + coalesceMs - Date.now();
        if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
        again = false;
        urgent = false;
        try {
          await pass();
        } catch (error) {
          options.onError?.(error);
          return;
        } finally {
          lastPassEndedAt = Date.now();
        }
      } while (again && !closed);
    })().finally(() => {
      running = null;
    });
    return running;
  };

  const timer = setInterval(() => void kick(), options.pollMs ?? 250);
  timer.unref?.();

  return {
    kick: () => kick(),
    async drain() {
      await kick(true);
      while (running) await running;
    },
    async close() {
      closed = true;
      clearInterval(timer);
      if (running) await running;
    },
  };
}
