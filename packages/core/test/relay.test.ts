import { describe, expect, it } from 'vitest';
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
      const entries = await memory.readOutbox(limit);
      if (entries.length > 0) await publish(entries.map((e) => e.event));
      await memory.markPublished(entries.map((e) => e.position));
      return entries.length;
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

  it('asks again while a call publishes a full batch: a backlog goes out batch by batch, in order', async () => {
    const { ledger, memory, calls } = ledgerWithRelayPass();
    const bus = createMemoryBus();
    const seen: AuctionEvent[] = [];
    await bus.subscribe((e) => void seen.push(e));
    const relay = createOutboxRelay({ ledger, bus, pollMs: 60_000, batchSize: 2 });
    const events: AuctionEvent[] = [];
    for (let i = 0; i < 5; i++) events.push(await createdAuction(ledger));
    await relay.drain();
    await bus.idle?.();
    expect(seen).toEqual(events);
    expect(calls.relayOutbox).toBe(3); // 2 + 2 + 1: the short batch ends the pass
    expect(memory.outboxSize()).toBe(0);
    await relay.close();
  });

  it('closed while a batch is being read: the batch is not published, stays in the outbox, and no error is reported', async () => {
    const memory = createMemoryLedger();
    let release!: () => void;
    let reading!: () => void;
    const readingStarted = new Promise<void>((r) => (reading = r));
    const ledger: Ledger = {
      ...memory,
      async relayOutbox(publish, limit) {
        const entries = await memory.readOutbox(limit);
        reading();
        await new Promise<void>((r) => (release = r));
        if (entries.length > 0) await publish(entries.map((e) => e.event));
        await memory.markPublished(entries.map((e) => e.position));
        return entries.length;
      },
    };
    const published: AuctionEvent[][] = [];
    const bus = { ...createMemoryBus(), publish: async (events: AuctionEvent[]) => void published.push(events) };
    const errors: unknown[] = [];
    const relay = createOutboxRelay({ ledger, bus, pollMs: 60_000, onError: (e) => errors.push(e) });
    await createdAuction(ledger);
    const pass = relay.kick();
    await readingStarted;
    const closing = relay.close();
    release();
    await Promise.all([pass, closing]);
    expect(published).toEqual([]);
    expect(memory.outboxSize()).toBe(1);
    expect(errors).toEqual([]);
  });
});
