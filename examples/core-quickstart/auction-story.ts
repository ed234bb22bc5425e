import { createOutbid, EBAY_USD_INCREMENTS, FakeClock, type AuctionEvent } from '@outbid/core';

/**
 * A whole auction in a few lines: created, a bidding war with a sniper in the last minute (soft close extends
 * the end), a retried request that is not placed twice, and the automatic end. A fake clock drives time so the
 * story runs instantly; use `systemClock` (the default) in a real app.
 */
const usd = (minor: number) => `$${(minor / 100).toFixed(2)}`;

export async function auctionStory(log: (line: string) => void = console.log) {
  const clock = new FakeClock(Date.UTC(2030, 0, 1, 12));
  const outbid = createOutbid({ clock });
  const events: AuctionEvent[] = [];
  outbid.subscribe((event) => events.push(event));

  const auction = await outbid.createAuction('seller', {
    postId: 'vintage-camera',
    startAt: clock.now(),
    endAt: clock.now() + 10 * 60_000,
    startPrice: 2_000, // $20.00
    increment: { type: 'table', tiers: [...EBAY_USD_INCREMENTS] },
    softClose: { windowMs: 60_000, extendMs: 120_000, mode: 'reset' },
  });
  log(`created ${auction.postId}: starts at ${usd(auction.startPrice)}, ends ${new Date(auction.effectiveEndAt).toISOString()}`);

  const bid = async (bidderId: string, amount: number, idempotencyKey?: string) => {
    const { decision, replayed } = await outbid.placeBid({ auctionId: auction.id, bidderId, amount, idempotencyKey: idempotencyKey ?? null });
    log(`${bidderId} bids ${usd(amount)}: ${decision.status}${decision.reason ? ` (${decision.reason})` : ''}${replayed ? ' [replayed]' : ''} → leader ${decision.currentWinnerId ?? 'none'} at ${usd(decision.currentPrice)}, next ≥ ${usd(decision.minNextBid)}`);
    return decision;
  };

  await bid('alice', 2_000);
  await bid('bob', 2_050);
  await bid('alice', 2_100, 'alice-1');
  await bid('alice', 2_100, 'alice-1'); // the network retried: same answer, no second bid
  await clock.advance(9 * 60_000 + 30_000); // 30 s before the end
  const snipe = await bid('carol', 5_000);
  log(`carol's bid extended the end to ${new Date(snipe.endAt).toISOString()}`);
  await clock.advance(60_000); // the original end passes: the auction is still open
  await bid('alice', 5_100);
  await clock.advance(5 * 60_000); // well past every end
  await outbid.idle();

  const final = await outbid.getAuction(auction.id);
  log(`final: ${final.status}, winner ${final.currentWinnerId} at ${usd(final.currentPrice)}, ${final.bidCount} bids`);
  log(`events: ${events.filter((e) => e.auctionId === auction.id).map((e) => e.type).join(', ')}`);
  await outbid.close();
  return { final, events };
}
