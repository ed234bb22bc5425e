import { describe, expect, it } from 'vitest';
import { ENGINE_RETENTION, createMemoryEngine, engineIdempotencyTtlMs, type OutbidOptions } from '@outbid/core';
import { FakeClock, auctionFixture, bidCommand, buyNowCommand } from '@outbid/core/testing';
import { setup } from './service-setup.js';

describe('memory engine: sealed auctions are forgotten after sealedRetentionMs', () => {
  it('an ended auction and its stored answers go after the retention; a retry then replays from the ledger, byte for byte, and a new bid rebuilds the copy', async () => {
    const clock = new FakeClock();
    const engine = createMemoryEngine({ clock, sealedRetentionMs: 60_000 });
    const { outbid, create } = setup({ clock, engine } as Partial<OutbidOptions>);
    const auction = await create();
    const open = await create();
    const accepted = await outbid.placeBid({ auctionId: auction.id, bidderId: 'b1', amount: 1_000, idempotencyKey: 'k1' });
    expect(accepted.decision).toMatchObject({ status: 'accepted', version: 2 });
    await outbid.placeBid({ auctionId: open.id, bidderId: 'b1', amount: 1_000 });
    await outbid.endAuction(auction.id, 'seller');
    const late = await outbid.placeBid({ auctionId: auction.id, bidderId: 'b2', amount: 1_100, idempotencyKey: 'k2' });
    expect(late.decision).toMatchObject({ status: 'late', reason: 'AUCTION_ENDED' });
    await outbid.idle();

    await clock.advance(59_999);
    expect(await engine.getState(auction.id)).not.toBeNull();
    await clock.advance(1);
    expect(await engine.getState(auction.id)).toBeNull();
    // An auction still open is never forgotten.
    expect(await engine.getState(open.id)).not.toBeNull();

    const retried = await outbid.placeBid({ auctionId: auction.id, bidderId: 'b1', amount: 1_000, idempotencyKey: 'k1' });
    expect(retried.replayed).toBe(true);
    expect(JSON.stringify(retried.decision)).toBe(JSON.stringify(accepted.decision));
    const lateAgain = await outbid.placeBid({ auctionId: auction.id, bidderId: 'b2', amount: 1_100, idempotencyKey: 'k2' });
    expect(lateAgain.replayed).toBe(true);
    expect(JSON.stringify(lateAgain.decision)).toBe(JSON.stringify(late.decision));
    // A new bid rebuilds the copy from the ledger and is answered late, as before.
    const after = await outbid.placeBid({ auctionId: auction.id, bidderId: 'b3', amount: 1_200, idempotencyKey: 'k3' });
    expect(after.decision).toMatchObject({ status: 'late', reason: 'AUCTION_ENDED', version: 3 });
    expect((await engine.getState(auction.id))?.status).toBe('ended');
  });

  it('a Buy It Now seals the auction too; a cancelled one likewise; the retention is checked', async () => {
    const clock = new FakeClock();
    const engine = createMemoryEngine({ clock, sealedRetentionMs: 1_000 });
    const bought = auctionFixture(clock.now(), { buyNowPrice: 5_000, buyNowPolicy: 'first-bid' });
    const cancelled = auctionFixture(clock.now());
    await engine.hydrate(bought);
    await engine.hydrate(cancelled);
    const result = await engine.placeBid(buyNowCommand(bought.id, 'b1'));
    expect(result.kind === 'decided' && result.state?.status).toBe('ended');
    expect((await engine.cancel(cancelled.id)).kind).toBe('applied');
    await clock.advance(1_000);
    expect(await engine.getState(bought.id)).toBeNull();
    expect(await engine.getState(cancelled.id)).toBeNull();
    expect((await engine.placeBid(bidCommand(bought.id, 'b2', 6_000))).kind).toBe('needs_hydration');
    // A sealed state hydrated from the ledger is forgotten likewise; a dropped one is no longer counted.
    const ended = auctionFixture(clock.now(), { status: 'ended', closedAt: clock.now(), version: 3 });
    await engine.hydrate(ended);
    const dropped = auctionFixture(clock.now());
    await engine.hydrate(dropped);
    await engine.cancel(dropped.id);
    await engine.drop(dropped.id);
    await engine.hydrate({ ...dropped, version: 1 }); // open again (a rebuild from a ledger that never saw the cancel)
    await clock.advance(1_000);
    expect(await engine.getState(ended.id)).toBeNull();
    expect((await engine.getState(dropped.id))?.status).toBe('active');
    expect(() => createMemoryEngine({ sealedRetentionMs: -1 })).toThrow(RangeError);
  });

  it("keeps a sealed auction for the retention every engine shares by default: one day", async () => {
    expect(ENGINE_RETENTION).toEqual({ idempotencyTtlMs: 7 * 86_400_000, minIdempotencyTtlMs: 86_400_000, sealedRetentionMs: 86_400_000 });
    const clock = new FakeClock();
    const engine = createMemoryEngine({ clock });
    const sealed = auctionFixture(clock.now());
    await engine.hydrate(sealed);
    await engine.cancel(sealed.id);
    await clock.advance(ENGINE_RETENTION.sealedRetentionMs - 1);
    expect(await engine.getState(sealed.id)).not.toBeNull();
    await clock.advance(1);
    expect(await engine.getState(sealed.id)).toBeNull();
  });
});

describe("engines' idempotency TTL", () => {
  it('is the shared default when none is asked for, what is asked for above a day, and never less than a day', () => {
    expect(engineIdempotencyTtlMs()).toBe(7 * 86_400_000);
    expect(engineIdempotencyTtlMs(3 * 86_400_000)).toBe(3 * 86_400_000);
    expect(engineIdempotencyTtlMs(60_000)).toBe(86_400_000);
    expect(engineIdempotencyTtlMs(0)).toBe(86_400_000);
  });
});
