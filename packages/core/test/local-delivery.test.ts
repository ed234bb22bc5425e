import { describe, expect, it, vi } from 'vitest';
import {
  BUS_SPECIFICATION_VERSION,
  createMemoryBus,
  createMemoryLedger,
  createOutbid,
  PURGER_SPECIFICATION_VERSION,
  type AuctionEvent,
  type CachePurger,
  type EventBus,
  type Ledger,
} from '../src/index.js';

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

describe('outbox: false', () => {
  /** An instance with no outbox on `ledger`, one open auction, and every event its listeners get. */
  const withAuction = async (ledger: Ledger) => {
    const outbid = createOutbid({ ledger, outbox: false, guardIntervalMs: 0 });
    const seen: AuctionEvent[] = [];
    outbid.subscribe((e) => seen.push(e));
    const now = await outbid.now();
    const auction = await outbid.createAuction('c', { postId: 'p', startAt: now, endAt: now + 600_000, startPrice: 100, increment: { type: 'fixed', amount: 10 } });
    return { outbid, seen, auction };
  };

  it('writes no event to the ledger and runs no relay; listeners and the purger get every committed event at its commit, in order; the bus none', async () => {
    const memory = createMemoryLedger();
    const written: AuctionEvent[] = [];
    const ledger: Ledger = {
      ...memory,
      async createAuction(state, events) {
        written.push(...events);
        return memory.createAuction(state, events);
      },
      async applyChange(change) {
        written.push(...change.events);
        return memory.applyChange(change);
      },
      async applyChanges(changes) {
        written.push(...changes.flatMap((c) => c.events));
        return memory.applyChanges!(changes);
      },
      async applyChangesAndAudit(changes, audit) {
        written.push(...changes.flatMap((c) => c.events));
        if (changes.length > 0 && audit.length > 0) rode++;
        return memory.applyChangesAndAudit!(changes, audit);
      },
    };
    let rode = 0;
    const bus = createMemoryBus();
    const onBus: AuctionEvent[] = [];
    await bus.subscribe((e) => void onBus.push(e));
    const purged: string[] = [];
    const purger: CachePurger = { specificationVersion: PURGER_SPECIFICATION_VERSION, name: 'spy', purge: (id) => void purged.push(id), flush: async () => {}, close: async () => {} };
    const outbid = createOutbid({ bus, ledger, purger, outbox: false, guardIntervalMs: 0 });
    try {
      const seen: AuctionEvent[] = [];
      outbid.subscribe((e) => seen.push(e));
      const now = await outbid.now();
      const auction = await outbid.createAuction('c', { postId: 'p', startAt: now, endAt: now + 600_000, startPrice: 100, increment: { type: 'fixed', amount: 10 } });
      expect(seen.map((e) => e.type)).toEqual(['AuctionCreated']);
      for (let i = 0; i < 4; i++) {
        // A refusal decided beside each accepted bid goes to the ledger in the same write.
        const [{ decision }, low] = await Promise.all([
          outbid.placeBid({ auctionId: auction.id, bidderId: i % 2 ? 'ann' : 'ben', amount: 100 + i * 10, idempotencyKey: `k${i}` }),
          outbid.placeBid({ auctionId: auction.id, bidderId: 'low', amount: 1, idempotencyKey: `low${i}` }),
        ]);
        expect(decision.status).toBe('accepted');
        expect(low.decision.status).toBe('rejected');
        expect(seen.at(-1)?.version).toBe(decision.version); // delivered at its commit, before the answer
      }
      expect(rode).toBe(4);
      await outbid.endAuction(auction.id, 'c');
      await outbid.idle();
      expect(seen.map((e) => [e.type, e.version])).toEqual([
        ['AuctionCreated', 1],
        ['BidAccepted', 2],
        ['BidAccepted', 3],
        ['BidAccepted', 4],
        ['BidAccepted', 5],
        ['AuctionEnded', 6],
      ]);
      expect(purged).toEqual(seen.map((e) => e.auctionId));
      expect(written).toEqual([]);
      expect(await memory.readOutbox(100)).toEqual([]);
      expect(onBus).toEqual([]);
      // The ledger holds every change all the same.
      expect(await memory.getAuction(auction.id)).toMatchObject({ status: 'ended', version: 6, currentWinnerId: 'ann', currentPrice: 130 });
      expect((await memory.listBids(auction.id, { include: 'accepted', limit: 10 })).items).toHaveLength(4);
    } finally {
      await outbid.close();
    }
  });

  it('a commit whose acknowledgement was lost still reaches the listeners: an accepted bid and an end', async () => {
    const memory = createMemoryLedger();
    let loseAckOf: 'active' | 'ended' | null = null;
    const ledger: Ledger = {
      ...memory,
      async applyChanges(changes) {
        const results = await memory.applyChanges!(changes);
        if (changes.some((c) => c.state.status === loseAckOf)) {
          loseAckOf = null;
          throw new Error('connection reset after COMMIT');
        }
        return results;
      },
    };
    const { outbid, seen, auction } = await withAuction(ledger);
    try {
      loseAckOf = 'active';
      const { decision } = await outbid.placeBid({ auctionId: auction.id, bidderId: 'ann', amount: 100, idempotencyKey: 'k1' });
      expect(decision).toMatchObject({ status: 'accepted', version: 2 });
      expect(seen.at(-1)).toMatchObject({ type: 'BidAccepted', version: 2 });
      loseAckOf = 'ended';
      expect(await outbid.endAuction(auction.id, 'c')).toMatchObject({ status: 'ended', version: 3 });
      expect(loseAckOf).toBeNull(); // the end's acknowledgement was lost indeed
      expect(seen.map((e) => [e.type, e.version])).toEqual([
        ['AuctionCreated', 1],
        ['BidAccepted', 2],
        ['AuctionEnded', 3],
      ]);
    } finally {
      await outbid.close();
    }
  });

  it('writes no events through a ledger without applyChanges either', async () => {
    const memory = createMemoryLedger();
    const written: AuctionEvent[] = [];
    const { applyChanges: _batchWrite, ...oneByOne } = memory;
    const ledger: Ledger = {
      ...oneByOne,
      async applyChange(change) {
        written.push(...change.events);
        return memory.applyChange(change);
      },
    };
    const { outbid, seen, auction } = await withAuction(ledger);
    try {
      expect((await outbid.placeBid({ auctionId: auction.id, bidderId: 'ann', amount: 100, idempotencyKey: 'k1' })).decision.status).toBe('accepted');
      await outbid.endAuction(auction.id, 'c');
      expect(seen.map((e) => e.type)).toEqual(['AuctionCreated', 'BidAccepted', 'AuctionEnded']);
      expect(written).toEqual([]);
      expect(await memory.readOutbox(10)).toEqual([]);
    } finally {
      await outbid.close();
    }
  });

  it('a listener that throws on one event still gets the next event of the same change', async () => {
    const outbid = createOutbid({ outbox: false, guardIntervalMs: 0 });
    try {
      const seen: string[] = [];
      outbid.subscribe((e) => {
        seen.push(e.type);
        if (e.type === 'BidAccepted') throw new Error('listener bug');
      });
      const now = await outbid.now();
      // Every accepted bid lands in the soft-close window: its change carries BidAccepted and AuctionExtended.
      const softClose = { windowMs: 600_000, extendMs: 60_000, mode: 'additive' as const, maxExtensions: null, hardEndAt: null };
      const auction = await outbid.createAuction('c', { postId: 'p', startAt: now, endAt: now + 600_000, startPrice: 100, increment: { type: 'fixed', amount: 10 }, softClose });
      await outbid.placeBid({ auctionId: auction.id, bidderId: 'ann', amount: 100, idempotencyKey: 'k1' });
      expect(seen).toEqual(['AuctionCreated', 'BidAccepted', 'AuctionExtended']);
    } finally {
      await outbid.close();
    }
  });

  it('is refused with any bus but the memory bus, which would never get this instance\'s events', () => {
    expect(() => createOutbid({ bus: heldBus().bus, outbox: false })).toThrow(/outbox: false needs the memory bus: the held bus/);
  });
});
