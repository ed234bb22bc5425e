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
});
