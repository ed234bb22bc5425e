import { OutbidError, type BidDecision, type Outbid } from '@outbid/core';
import { allAcceptedBids } from '@outbid/core/testing';

export interface Seen {
  accepted: BidDecision[];
  errors: Map<string, number>;
  attempts: number;
}

/**
 * `bidders` clients, each placing up to `bidsEach` bids at the minimum it last saw, retrying transient failures
 * (503s, in-progress) with the SAME Idempotency-Key like a real client, a bounded number of times.
 */
export async function stampede(outbid: Outbid, auctionId: string, options: { bidders: number; bidsEach: number; startPrice: number; pauseMs?: number }): Promise<Seen> {
  const seen: Seen = { accepted: [], errors: new Map(), attempts: 0 };
  const bidder = async (i: number) => {
    let next = options.startPrice;
    for (let n = 0; n < options.bidsEach; n++) {
      const key = `bidder-${i}-bid-${n}`;
      for (let retry = 0; retry < 40; retry++) {
        seen.attempts++;
        try {
          const { decision } = await outbid.placeBid({ auctionId, bidderId: `bidder-${i}`, amount: next, idempotencyKey: key });
          if (decision.status === 'accepted') seen.accepted.push(decision);
          next = decision.minNextBid + (i % 7) * 10; // spread the next bids so more than one can win per round
          break;
        } catch (error) {
          const code = OutbidError.isInstance(error) ? error.code : `raw:${(error as Error).message}`;
          seen.errors.set(code, (seen.errors.get(code) ?? 0) + 1);
          if (!OutbidError.isInstance(error)) throw error; // only typed errors are acceptable
          await new Promise((r) => setTimeout(r, 25 + Math.random() * 50));
        }
      }
      if (options.pauseMs) await new Promise((r) => setTimeout(r, Math.random() * options.pauseMs!));
    }
  };
  await Promise.all(Array.from({ length: options.bidders }, (_, i) => bidder(i)));
  return seen;
}

/** The contract after a run: gapless versions, rising prices, every seen accept recorded, one leader. */
export async function expectConsistent(outbid: Outbid, auctionId: string, seen: Seen, increment: number, expect: (v: unknown, m?: string) => any) {
  const history = await allAcceptedBids(outbid, auctionId);
  const ledger = await outbid.ledger.getAuction(auctionId);
  expect(history.map((b) => b.version)).toEqual(history.map((_, i) => i + 2));
  for (let i = 1; i < history.length; i++) expect(history[i]!.amount - history[i - 1]!.amount).toBeGreaterThanOrEqual(increment);
  const recorded = new Set(history.map((b) => b.bidId));
  const missing = seen.accepted.filter((d) => !recorded.has(d.bidId));
  expect(missing, 'accepted answers missing from the ledger').toEqual([]);
  expect(new Set(seen.accepted.map((d) => d.bidId)).size).toBe(seen.accepted.length);
  expect(ledger).toMatchObject({ version: history.length + 1, bidCount: history.length, currentPrice: history.at(-1)!.amount, currentWinnerId: history.at(-1)!.bidderId });
  return history;
}
