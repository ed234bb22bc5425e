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
  /** Pause before a pass that follows a busy one, so a burst is published in fewer passes. Default 10 ms. */
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
  let closed = false;

  const pass = async () => {
    if (ledger.relayOutbox) {
      // Closed mid-pass: a batch not yet handed to the bus is refused, and stays unpublished.
      const publish = async (events: AuctionEvent[]) => {
        if (closed) throw CLOSED;
        await bus.publish(events);
      };
      try {
        // A batch per call, each committed on its own: a long backlog never holds one transaction open.
        while ((await ledger.relayOutbox(publish, batchSize)) === batchSize && !closed);
      } catch (error) {
        if (error !== CLOSED) throw error;
      }
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

  const kick = (): Promise<void> => {
    if (closed) return Promise.resolve();
    if (running) {
      again = true;
      return running;
    }
    running = (async () => {
      do {
        // Changes that arrived while a pass ran are published together after a short pause: under a burst of
        // commits this keeps the relay to a few large passes instead of one small pass per commit.
        if (again) await new Promise((resolve) => setTimeout(resolve, coalesceMs));
        again = false;
        try {
          await pass();
        } catch (error) {
          options.onError?.(error);
          return;
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
    kick,
    async drain() {
      await kick();
      while (running) await running;
    },
    async close() {
      closed = true;
      clearInterval(timer);
      if (running) await running;
    },
  };
}
