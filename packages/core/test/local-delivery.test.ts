import { describe, expect, it, vi } from 'vitest';
import { BUS_SPECIFICATION_VERSION, createMemoryBus, createMemoryLedger, createOutbid, type AuctionEvent, type EventBus, type Ledger } from '../src/index.js';

/** A remote-like bus that holds published events until `release()`: what a slow broker looks like. */
function heldBus() {
  const held: AuctionEvent[] = [];
  const handlers: Array<(e: AuctionEvent) => void | Promise<void>> = [];
  let joined!: () => void;
  const join = new Promise<void>((r) => (joined = r));
  const bus: EventBus = {
    specificationVersion: BUS_SPECIFICATION_VERSION,
    name: 'held',
    async publish(events) {
      held.push(...events);
    },
    async subscribe(handler) {
      handlers.push(handler);
      return { close: async () => {} };
    },
    async close() {},
  };
  return { bus, held, joined, join, release: async () => { for (const e of held.splice(0)) for (const h of handlers) await h(e); } };
}

describe('local delivery of committed events', () => {
  it('listeners of the committing process get each event right after its commit, in order, before the bus has it; the bus copy comes again', async () => {
    const { bus, held, release } = heldBus();
    const outbid = createOutbid({ bus, guardIntervalMs: 0 });
    try {
      const seen: AuctionEvent[] = [];
      const now = await outbid.now();
      const auction = await outbid.createAuction('c', { postId: 'p', startAt: now, endAt: now + 600_000, startPrice: 100, increment: { type: 'fixed', amount: 10 } });
      outbid.subscribe((e) => seen.push(e), { auctionId: auction.id });
      for (let i = 0; i < 5; i++) {
        const { decision } = await outbid.placeBid({ auctionId: auction.id, bidderId: i % 2 ? 'ann' : 'ben', amount: 100 + i * 10, idempotencyKey: `k${i}` });
        expect(decision.status).toBe('accepted');
        // Already here when placeBid answers: no bus round trip.
        expect(seen.at(-1)?.version).toBe(decision.version);
      }
      expect(seen.map((e) => e.version)).toEqual([2, 3, 4, 5, 6]);
      await outbid.idle();
      expect(held.length).toBeGreaterThan(0); // the relay still published everything
      await release();
      // The bus copies follow (AuctionCreated, v1, was committed before this listener subscribed): duplicates only.
      expect(new Set(seen.map((e) => e.version))).toEqual(new Set([1, 2, 3, 4, 5, 6]));
    } finally {
      await outbid.close();
    }
  });

  it('is off for the memory bus (its delivery is already immediate) and when localDelivery is false', async () => {
    const { bus, release } = heldBus();
    const outbid = createOutbid({ bus, localDelivery: false, guardIntervalMs: 0 });
    try {
      const seen: AuctionEvent[] = [];
      const now = await outbid.now();
      const auction = await outbid.createAuction('c', { postId: 'p', startAt: now, endAt: now + 600_000, startPrice: 100, increment: { type: 'fixed', amount: 10 } });
      outbid.subscribe((e) => seen.push(e), { auctionId: auction.id });
      await outbid.placeBid({ auctionId: auction.id, bidderId: 'ann', amount: 100, idempotencyKey: 'k' });
      expect(seen).toEqual([]);
      await outbid.idle();
      await release();
      expect(seen.map((e) => e.version)).toEqual([1, 2]); // only from the bus
      expect(outbid.waitingFor()).toEqual([]);
    } finally {
      await outbid.close();
    }
  });

  it('with the memory bus and local delivery on, the relay is off the listeners\' path: commits during a pass wait 50 ms for the next one', async () => {
    const memory = createMemoryLedger();
    const passStarts: number[] = [];
    let hold: Promise<void> | null = null;
    let heldUntil = 0;
    const ledger: Ledger = {
      ...memory,
      async readOutbox(limit) {
        passStarts.push(performance.now());
        if (hold) {
          await hold;
          heldUntil = performance.now();
        }
        return memory.readOutbox(limit);
      },
    };
    const bus = createMemoryBus();
    const published: AuctionEvent[] = [];
    await bus.subscribe((e) => void published.push(e));
    const outbid = createOutbid({ bus, ledger, localDelivery: true, guardIntervalMs: 0 });
    try {
      const now = await outbid.now();
      const auction = await outbid.createAuction('c', { postId: 'p', startAt: now, endAt: now + 600_000, startPrice: 100, increment: { type: 'fixed', amount: 10 } });
      await outbid.idle();
      let release!: () => void;
      hold = new Promise<void>((r) => (release = r));
      passStarts.length = 0;
      const bid = (i: number) => outbid.placeBid({ auctionId: auction.id, bidderId: i % 2 ? 'ann' : 'ben', amount: 100 + i * 10, idempotencyKey: `k${i}` });
      await bid(0); // its commit starts a pass, held in its outbox read
      await vi.waitFor(() => expect(passStarts).toHaveLength(1));
      for (let i = 1; i <= 5; i++) await bid(i); // committed while that pass runs
      hold = null;
      release();
      await vi.waitFor(() => expect(passStarts).toHaveLength(2), { timeout: 2_000 });
      // The next pass waited (without local delivery, or with Kafka, it waits 10 ms); everything reached the bus, in order.
      expect(passStarts[1]! - heldUntil).toBeGreaterThanOrEqual(45);
      await outbid.idle();
      expect(published.filter((e) => e.type === 'BidAccepted').map((e) => e.version)).toEqual([2, 3, 4, 5, 6, 7]);
    } finally {
      await outbid.close();
    }
  });
});
