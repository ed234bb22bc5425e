import { afterEach, describe, expect, it, vi } from 'vitest';
import { minNextBid } from '../src/domain/auction.js';
import { makeEvent, type AuctionEvent } from '../src/domain/events.js';
import { createMemoryBus } from '../src/memory/bus.js';
import { createMemoryLedger } from '../src/memory/ledger.js';
import type { Ledger } from '../src/ports/ledger.js';
import { createOutboxRelay } from '../src/service/relay.js';
import { auctionFixture } from '../src/testing/fixtures.js';

const NOW = Date.UTC(2030, 0, 1);

/** A memory ledger offering relayOutbox (as the Postgres ledger does), counting how the relay reached it. */
function ledgerWithRelayPass() {
  const memory = createMemoryLedger();
  const calls = { relayOutbox: 0, readOutbox: 0 };
  const ledger: Ledger = {
    ...memory,
    readOutbox(limit) {
      calls.readOutbox++;
      return memory.readOutbox(limit);
    },
    async relayOutbox(publish, limit) {
      calls.relayOutbox++;
      let published = 0;
      for (;;) {
        const entries = await memory.readOutbox(limit);
        if (entries.length === 0) return published;
        await publish(entries.map((e) => e.event));
        await memory.markPublished(entries.map((e) => e.position));
        published += entries.length;
      }
    },
  };
  return { ledger, memory, calls };
}

const createdAuction = async (ledger: Ledger) => {
  const state = auctionFixture(NOW);
  const event = makeEvent('AuctionCreated', state, minNextBid(state), NOW, { creatorId: state.creatorId, postId: state.postId });
  await ledger.createAuction(state, [event]);
  return event;
};

describe('createOutboxRelay', () => {
  it('hands a whole pass to a ledger that offers relayOutbox, and the events reach the bus', async () => {
    const { ledger, memory, calls } = ledgerWithRelayPass();
    const bus = createMemoryBus();
    const seen: AuctionEvent[] = [];
    await bus.subscribe((e) => void seen.push(e));
    const relay = createOutboxRelay({ ledger, bus, pollMs: 60_000 });
    const events = [await createdAuction(ledger), await createdAuction(ledger)];
    await relay.drain();
    await bus.idle?.();
    expect(seen).toEqual(events);
    expect(calls.relayOutbox).toBeGreaterThan(0);
    expect(calls.readOutbox).toBe(0);
    expect(memory.outboxSize()).toBe(0);
    await relay.close();
  });

  it('closed in the middle of a pass: the batch not yet published stays in the outbox, and no error is reported', async () => {
    const { ledger, memory } = ledgerWithRelayPass();
    const errors: unknown[] = [];
    let release!: () => void;
    let closing!: Promise<void>;
    const published: AuctionEvent[][] = [];
    const bus = {
      ...createMemoryBus(),
      async publish(events: AuctionEvent[]) {
        published.push(events);
        // The first batch holds the pass until close() has been called.
        if (published.length === 1) await new Promise<void>((r) => (release = r));
      },
    };
    const relay = createOutboxRelay({ ledger, bus, pollMs: 60_000, batchSize: 1, onError: (e) => errors.push(e) });
    await createdAuction(ledger);
    await createdAuction(ledger);
    const pass = relay.kick();
    await new Promise((r) => setTimeout(r, 10));
    closing = relay.close();
    release();
    await Promise.all([pass, closing]);
    expect(published).toHaveLength(1);
    expect(memory.outboxSize()).toBe(1);
    expect(errors).toEqual([]);
  });

  describe('with fake timers', () => {
    afterEach(() => {
      vi.useRealTimers();
    });

    it('while commits keep kicking it, a pass starts at most once per coalesceMs; after a quiet spell a kick runs at once', async () => {
      vi.useFakeTimers();
      const { ledger, calls } = ledgerWithRelayPass();
      const relay = createOutboxRelay({ ledger, bus: createMemoryBus(), pollMs: 60_000, coalesceMs: 10 });
      await relay.kick();
      expect(calls.relayOutbox).toBe(1);
      // Three commits right after the pass: they wait for one pass together, 10 ms after the last one ended.
      const kicks = [relay.kick(), relay.kick(), relay.kick()];
      await vi.advanceTimersByTimeAsync(9);
      expect(calls.relayOutbox).toBe(1);
      await vi.advanceTimersByTimeAsync(1);
      await Promise.all(kicks);
      expect(calls.relayOutbox).toBe(2);
      await vi.advanceTimersByTimeAsync(1_000);
      await relay.kick();
      expect(calls.relayOutbox).toBe(3);
      await relay.close();
    });
  });
});
