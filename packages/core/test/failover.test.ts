import { describe, expect, it } from 'vitest';
import { createFailoverEngine, createMemoryEngine, createOutbid, type BidEngine } from '@outbid/core';
import { describeEngineConformance, eventually } from '@outbid/core/testing';

/** A memory engine that can be "unplugged": every call then fails like a refused connection. */
function unpluggable(): BidEngine & { down: boolean } {
  const inner = createMemoryEngine();
  const wrapper = { down: false } as BidEngine & { down: boolean };
  for (const key of Object.keys(inner) as Array<keyof BidEngine>) {
    const value = inner[key];
    (wrapper as unknown as Record<string, unknown>)[key] =
      typeof value === 'function'
        ? (...args: unknown[]) => (wrapper.down ? Promise.reject(Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' })) : (value as (...a: unknown[]) => unknown).apply(inner, args))
        : value;
  }
  return wrapper;
}

describeEngineConformance('failover(memory→memory)', {
  create: async () => createFailoverEngine({ primary: createMemoryEngine(), fallback: createMemoryEngine() }),
});

describe('failover engine', () => {
  it('decides on the fallback while the primary is down and returns to the primary; the ledger stays consistent', async () => {
    const primary = unpluggable();
    const switches: string[] = [];
    const engine = createFailoverEngine({ primary, fallback: createMemoryEngine(), probeIntervalMs: 20, onSwitch: (to) => switches.push(to) });
    const outbid = createOutbid({ engine, guardIntervalMs: 0 });
    try {
      const auction = await outbid.createAuction('seller', { postId: 'p', startAt: Date.now(), endAt: Date.now() + 60_000, startPrice: 100, increment: { type: 'fixed', amount: 10 } });
      expect((await outbid.placeBid({ auctionId: auction.id, bidderId: 'a', amount: 100 })).decision.version).toBe(2);
      primary.down = true;
      expect((await outbid.placeBid({ auctionId: auction.id, bidderId: 'b', amount: 110 })).decision).toMatchObject({ status: 'accepted', version: 3 });
      expect(engine.active()).toBe('fallback');
      expect((await outbid.placeBid({ auctionId: auction.id, bidderId: 'a', amount: 120 })).decision).toMatchObject({ status: 'accepted', version: 4 });
      primary.down = false;
      await eventually(() => expect(engine.active()).toBe('primary'), 2_000);
      // The primary still had version 2: it was dropped on the way back, so it rebuilds from the ledger.
      expect((await outbid.placeBid({ auctionId: auction.id, bidderId: 'b', amount: 120 })).decision).toMatchObject({ status: 'rejected', reason: 'BID_TOO_LOW', minNextBid: 130 });
      expect((await outbid.placeBid({ auctionId: auction.id, bidderId: 'b', amount: 130 })).decision).toMatchObject({ status: 'accepted', version: 5 });
      expect(switches).toEqual(['fallback', 'primary']);
      const history = (await outbid.listBids(auction.id)).items.map((b) => [b.version, b.amount]);
      expect(history).toEqual([[5, 130], [4, 120], [3, 110], [2, 100]]);
    } finally {
      await outbid.close();
    }
  });

  it('drops from the fallback, when it takes over, what it decided in this process, and tracks nothing while the primary decides', async () => {
    const primary = unpluggable();
    const fallback = createMemoryEngine();
    const dropped: string[] = [];
    const dropOnFallback = fallback.drop.bind(fallback);
    fallback.drop = async (id) => {
      dropped.push(id);
      await dropOnFallback(id);
    };
    const engine = createFailoverEngine({ primary, fallback, probeIntervalMs: 20 });
    const outbid = createOutbid({ engine, guardIntervalMs: 0 });
    try {
      const ids: string[] = [];
      for (const postId of ['p1', 'p2', 'p3']) {
        const auction = await outbid.createAuction('seller', { postId, startAt: Date.now(), endAt: Date.now() + 60_000, startPrice: 100, increment: { type: 'fixed', amount: 10 } });
        ids.push(auction.id);
        await outbid.placeBid({ auctionId: auction.id, bidderId: 'a', amount: 100 });
      }
      const p2 = ids[1]!;
      // First outage: nothing on the fallback to drop, however many auctions the primary decided.
      primary.down = true;
      expect((await outbid.placeBid({ auctionId: p2, bidderId: 'b', amount: 110 })).decision).toMatchObject({ status: 'accepted', version: 3 });
      expect(dropped).toEqual([]);
      primary.down = false;
      await eventually(() => expect(engine.active()).toBe('primary'), 2_000);
      // The primary moves p2 on: 'a' leads again. The fallback's copy still has 'b' leading.
      expect((await outbid.placeBid({ auctionId: p2, bidderId: 'a', amount: 120 })).decision).toMatchObject({ status: 'accepted', version: 4 });
      // Second outage: the fallback's copy of p2 goes first, so 'b' is not refused as the leader it no longer is.
      primary.down = true;
      expect((await outbid.placeBid({ auctionId: p2, bidderId: 'b', amount: 130 })).decision).toMatchObject({ status: 'accepted', version: 5 });
      expect(dropped).toEqual([p2]);
    } finally {
      await outbid.close();
    }
  });

  it('a read that fails once (a timeout after the process was frozen) is asked again and does not switch; a write that fails does', async () => {
    const primary = createMemoryEngine();
    let failNext = 0;
    const flaky = { ...primary } as BidEngine;
    for (const key of ['now', 'getState', 'placeBid'] as const) {
      const real = primary[key].bind(primary) as (...args: unknown[]) => Promise<unknown>;
      (flaky as unknown as Record<string, unknown>)[key] = (...args: unknown[]) => (failNext-- > 0 ? Promise.reject(new Error('Command timed out')) : real(...args));
    }
    const switches: string[] = [];
    const engine = createFailoverEngine({ primary: flaky, fallback: createMemoryEngine(), probeIntervalMs: 60_000, onSwitch: (to) => switches.push(to) });
    try {
      failNext = 1;
      expect(typeof (await engine.now())).toBe('number');
      failNext = 1;
      expect(await engine.getState('nope')).toBeNull();
      expect(switches).toEqual([]);
      expect(engine.active()).toBe('primary');
      // Twice in a row is an outage.
      failNext = 2;
      await engine.now();
      expect(engine.active()).toBe('fallback');
      expect(switches).toEqual(['fallback']);
    } finally {
      await engine.close();
    }
  });

  it('a bid whose call fails is not sent to the primary again: the fallback decides it', async () => {
    const primary = createMemoryEngine();
    let calls = 0;
    const flaky = { ...primary, placeBid: (cmd: Parameters<BidEngine['placeBid']>[0]) => (calls++ === 0 ? Promise.reject(new Error('Command timed out')) : primary.placeBid(cmd)) } as BidEngine;
    const engine = createFailoverEngine({ primary: flaky, fallback: createMemoryEngine(), probeIntervalMs: 60_000 });
    const outbid = createOutbid({ engine, guardIntervalMs: 0 });
    try {
      const auction = await outbid.createAuction('seller', { postId: 'p', startAt: Date.now(), endAt: Date.now() + 60_000, startPrice: 100, increment: { type: 'fixed', amount: 10 } });
      calls = 0;
      expect((await outbid.placeBid({ auctionId: auction.id, bidderId: 'a', amount: 100, idempotencyKey: 'k' })).decision).toMatchObject({ status: 'accepted', version: 2 });
      expect(calls).toBe(1);
      expect(engine.active()).toBe('fallback');
    } finally {
      await outbid.close();
    }
  });
});
