import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  EBAY_USD_INCREMENTS,
  createOutbid,
  incrementAt,
  type AuctionEvent,
  type AuctionState,
  type BidDecision,
  type IncrementRule,
  type Outbid,
} from '@outbid/core';
import { FakeClock, allAcceptedBids } from '@outbid/core/testing';

/**
 * Random interleavings of creates, bids from many bidders (sequential and concurrent), retries with reused
 * keys, clock advances, starts, ends and cancels, run through the whole service on the memory adapters.
 * After every step the correctness contract and the idempotency rules must hold.
 */

type Command =
  | { t: 'create'; startIn: number; duration: number; startPrice: number; table: boolean; soft: 0 | 1 | 2; maxExt: number | null; reserveSteps?: number | null; buyNowSteps?: number | null; reserveMetPolicy?: boolean }
  | { t: 'bid'; auction: number; bidder: number; delta: number; keyMode: 'none' | 'fresh' | 'retry' | 'reuse'; max?: 'none' | 'only' | 'both'; maxSteps?: number }
  | { t: 'buynow'; auction: number; bidder: number }
  | { t: 'burst'; auction: number; size: number; delta: number }
  | { t: 'advance'; ms: number }
  | { t: 'start' | 'end' | 'cancel'; auction: number };

const command: fc.Arbitrary<Command> = fc.oneof(
  { weight: 2, arbitrary: fc.record({ t: fc.constant('create' as const), startIn: fc.integer({ min: -5_000, max: 5_000 }), duration: fc.integer({ min: 1_000, max: 30_000 }), startPrice: fc.integer({ min: 0, max: 2_000 }), table: fc.boolean(), soft: fc.constantFrom(0 as const, 1 as const, 2 as const), maxExt: fc.option(fc.integer({ min: 0, max: 3 }), { nil: null }), reserveSteps: fc.option(fc.integer({ min: 1, max: 8 }), { nil: null }), buyNowSteps: fc.option(fc.integer({ min: 1, max: 12 }), { nil: null }), reserveMetPolicy: fc.boolean() }) },
  { weight: 8, arbitrary: fc.record({ t: fc.constant('bid' as const), auction: fc.nat(), bidder: fc.integer({ min: 0, max: 5 }), delta: fc.integer({ min: -4, max: 4 }), keyMode: fc.constantFrom('none' as const, 'fresh' as const, 'retry' as const, 'reuse' as const), max: fc.constantFrom('none' as const, 'only' as const, 'both' as const), maxSteps: fc.integer({ min: -1, max: 6 }) }) },
  { weight: 1, arbitrary: fc.record({ t: fc.constant('buynow' as const), auction: fc.nat(), bidder: fc.integer({ min: 0, max: 5 }) }) },
  { weight: 2, arbitrary: fc.record({ t: fc.constant('burst' as const), auction: fc.nat(), size: fc.integer({ min: 2, max: 12 }), delta: fc.integer({ min: 0, max: 2 }) }) },
  { weight: 3, arbitrary: fc.record({ t: fc.constant('advance' as const), ms: fc.integer({ min: 1, max: 6_000 }) }) },
  { weight: 1, arbitrary: fc.record({ t: fc.constantFrom('start' as const, 'end' as const, 'cancel' as const), auction: fc.nat() }) },
);

interface Request {
  amount: number | null;
  maxAmount: number | null;
  buyNow: boolean;
}

interface Sent {
  auctionId: string;
  bidderId: string;
  request: Request;
  key: string;
  decision: BidDecision;
}

const samePayload = (a: Request, b: Request) => a.amount === b.amount && a.maxAmount === b.maxAmount && a.buyNow === b.buyNow;

async function runScenario(commands: Command[]) {
  const clock = new FakeClock();
  const outbid: Outbid = createOutbid({ clock, guardIntervalMs: 0, persistTimeoutMs: 50 });
  const events: AuctionEvent[] = [];
  outbid.subscribe((e) => events.push(e));
  const auctions: AuctionState[] = [];
  const sent: Sent[] = [];
  let keys = 0;
  const bidderName = (i: number) => (i === 0 ? 'seller' : `bidder-${i}`);

  const place = async (auctionId: string, bidderId: string, request: Request, key: string) => {
    const { decision, replayed } = await outbid.placeBid({ auctionId, bidderId, ...request, idempotencyKey: key });
    return { decision, replayed };
  };

  /** Sends one request in a key mode; checks replays and reuses. Returns the fresh decision, if one was made. */
  const sendOne = async (auction: AuctionState, bidderId: string, request: Request, keyMode: 'none' | 'fresh' | 'retry' | 'reuse'): Promise<BidDecision | null> => {
    if (request.amount !== null && request.maxAmount !== null && request.amount > request.maxAmount) {
      // A maximum below the amount is bad input: refused before any decision, nothing changes.
      await expect(place(auction.id, bidderId, request, `k${keys++}`)).rejects.toMatchObject({ code: 'VALIDATION_FAILED' });
      return null;
    }
    const previous = [...sent].reverse().find((s) => s.auctionId === auction.id && s.bidderId === bidderId);
    if (keyMode === 'retry' && previous) {
      const again = await place(auction.id, bidderId, previous.request, previous.key);
      if (previous.decision.status === 'invalid') return null; // invalid answers are not stored: a retry is processed anew
      expect(again.replayed).toBe(true);
      expect(JSON.stringify(again.decision)).toBe(JSON.stringify(previous.decision));
      return null;
    }
    if (keyMode === 'reuse' && previous && previous.decision.status !== 'invalid' && !samePayload(previous.request, request)) {
      const reused = await place(auction.id, bidderId, request, previous.key);
      expect(reused.decision.reason).toBe('IDEMPOTENCY_KEY_REUSED');
      return null;
    }
    const key = `k${keys++}`;
    const { decision, replayed } = await place(auction.id, bidderId, request, key);
    expect(replayed).toBe(false);
    sent.push({ auctionId: auction.id, bidderId, request, key, decision });
    return decision;
  };

  try {
    for (const cmd of commands) {
      const pick = (n: number) => auctions[n % Math.max(auctions.length, 1)];
      switch (cmd.t) {
        case 'create': {
          const increment: IncrementRule = cmd.table ? { type: 'table', tiers: [...EBAY_USD_INCREMENTS] } : { type: 'fixed', amount: 50 };
          const endAt = clock.now() + Math.max(cmd.startIn, 0) + cmd.duration;
          const softClose =
            cmd.soft === 0 ? null : { windowMs: 3_000, extendMs: 2_000, mode: cmd.soft === 1 ? ('reset' as const) : ('additive' as const), maxExtensions: cmd.maxExt };
          // Reserve and Buy It Now a few increments above the start (Buy It Now above the reserve).
          const step = incrementAt(increment, cmd.startPrice);
          const reservePrice = cmd.reserveSteps == null ? null : cmd.startPrice + cmd.reserveSteps * step;
          const buyNowPrice = cmd.buyNowSteps == null ? null : (reservePrice ?? cmd.startPrice) + cmd.buyNowSteps * step;
          const created = await outbid.createAuction('seller', {
            postId: `post-${auctions.length}`,
            startAt: clock.now() + cmd.startIn,
            endAt,
            startPrice: cmd.startPrice,
            increment,
            softClose,
            reservePrice,
            buyNowPrice,
            buyNowPolicy: cmd.reserveMetPolicy ? 'reserve-met' : 'first-bid',
          });
          auctions.push(created);
          break;
        }
        case 'bid': {
          const auction = pick(cmd.auction);
          if (!auction) break;
          const current = await outbid.getAuction(auction.id);
          const step = incrementAt(auction.increment, current.currentPrice);
          // -4 probes the boundary (one minor unit short), -3 an invalid amount, the rest whole steps around minNextBid.
          const amount = cmd.delta === -4 ? current.minNextBid - 1 : cmd.delta === -3 ? 10.5 : current.minNextBid + cmd.delta * step;
          // A maximum some increments above the amount (-1: one minor unit below it, which must be refused).
          const maxAmount = cmd.max === undefined || cmd.max === 'none' ? null : cmd.maxSteps === -1 ? amount - 1 : amount + (cmd.maxSteps ?? 0) * step;
          const request: Request = { amount: cmd.max === 'only' ? null : amount, maxAmount, buyNow: false };
          await sendOne(auction, bidderName(cmd.bidder), request, cmd.keyMode);
          break;
        }
        case 'buynow': {
          const auction = pick(cmd.auction);
          if (!auction) break;
          const before = await outbid.getAuction(auction.id);
          const decision = await sendOne(auction, bidderName(cmd.bidder), { amount: null, maxAmount: null, buyNow: true }, 'fresh');
          if (decision?.status === 'accepted') {
            expect(before.buyNowPrice).not.toBeNull();
            expect(decision).toMatchObject({ auctionStatus: 'ended', currentPrice: before.buyNowPrice, buyNowAvailable: false });
          }
          break;
        }
        case 'burst': {
          const auction = pick(cmd.auction);
          if (!auction) break;
          const current = await outbid.getAuction(auction.id);
          const step = incrementAt(auction.increment, current.currentPrice);
          const results = await Promise.all(
            Array.from({ length: cmd.size }, (_, i) => {
              const key = `k${keys++}`;
              const bidderId = bidderName(1 + (i % 5));
              const request: Request = { amount: current.minNextBid + cmd.delta * step, maxAmount: null, buyNow: false };
              return place(auction.id, bidderId, request, key).then((r) => ({ ...r, key, bidderId, request }));
            }),
          );
          for (const r of results) sent.push({ auctionId: auction.id, bidderId: r.bidderId, request: r.request, key: r.key, decision: r.decision });
          // Same amount, same instant: at most one of them can win.
          expect(results.filter((r) => r.decision.status === 'accepted').length).toBeLessThanOrEqual(1);
          break;
        }
        case 'advance':
          await clock.advance(cmd.ms);
          break;
        default: {
          const auction = pick(cmd.auction);
          if (!auction) break;
          const action = cmd.t === 'start' ? outbid.startAuction : cmd.t === 'end' ? outbid.endAuction : outbid.cancelAuction;
          await action(auction.id, 'seller').catch((e: { code?: string }) => {
            expect(e.code).toBe('INVALID_TRANSITION');
          });
        }
      }
      await outbid.idle();
      await checkContract(outbid, auctions, sent, events, clock.now());
    }
  } finally {
    await outbid.close();
  }
}

async function checkContract(outbid: Outbid, auctions: AuctionState[], sent: Sent[], events: AuctionEvent[], now: number) {
  for (const created of auctions) {
    const state = await outbid.getAuction(created.id);
    const hot = await outbid.engine.getState(created.id);
    if (hot) expect(hot).toEqual({ ...state, minNextBid: undefined, serverTime: undefined, ...hot }); // engine = ledger
    if (hot) expect(hot.version).toBe(state.version);

    const history = await allAcceptedBids(outbid, created.id);
    // A leader's raised maximum takes a version and shows nowhere public (no bid, no event).
    const audit = await outbid.listBids(created.id, { include: 'all', limit: 100, actorId: 'seller' });
    const raises = new Set(audit.items.filter((b) => b.kind === 'maximum').map((b) => b.version!));
    const hidden = (from: number, to: number) => Array.from({ length: Math.max(0, to - from - 1) }, (_, k) => from + 1 + k).every((v) => raises.has(v));
    // 1. Versions gapless but for raised maximums, strictly rising prices that obey the increment (a Buy It Now
    //    only rises), one leader: the last accepted bid.
    let price = -1;
    for (let i = 0; i < history.length; i++) {
      const bid = history[i]!;
      if (i > 0) {
        expect(hidden(history[i - 1]!.version!, bid.version!)).toBe(true);
        if (bid.kind === 'buy_now') expect(bid.amount).toBeGreaterThan(price);
        else expect(bid.amount).toBeGreaterThanOrEqual(price + incrementAt(created.increment, price));
      } else expect(bid.amount).toBeGreaterThanOrEqual(created.startPrice);
      expect(bid.maxAmount === null || bid.maxAmount >= bid.amount).toBe(true);
      expect(bid.decision.status).toBe('accepted');
      price = bid.amount;
    }
    if (history.length > 0) {
      expect(state.currentPrice).toBe(history.at(-1)!.amount);
      expect(state.currentWinnerId).toBe(history.at(-1)!.bidderId);
    } else expect(state.currentWinnerId).toBeNull();
    expect(state.bidCount).toBe(history.length);
    // 2. Every bid a client saw accepted is in the ledger.
    const inLedger = new Set(audit.items.filter((b) => b.status === 'accepted').map((b) => b.decision.bidId));
    for (const s of sent.filter((x) => x.auctionId === created.id && x.decision.status === 'accepted')) {
      expect(inLedger.has(s.decision.bidId)).toBe(true);
    }
    // 3. Nothing accepted at or after the effective end it had when decided.
    for (const s of sent.filter((x) => x.auctionId === created.id && x.decision.status === 'accepted')) {
      // (A Buy It Now ends the auction at its own instant: its answer carries that end.)
      if (s.request.buyNow) expect(s.decision.decidedAt).toBe(s.decision.endAt);
      else expect(s.decision.decidedAt).toBeLessThan(s.decision.endAt);
    }
    // 4. Ended once: at most one AuctionEnded, and an ended auction is past its end or was ended early.
    const ended = events.filter((e) => e.auctionId === created.id && e.type === 'AuctionEnded');
    expect(ended.length).toBe(state.status === 'ended' ? 1 : 0);
    // No winner below a hidden reserve.
    for (const e of ended) {
      if (e.type !== 'AuctionEnded') continue;
      const unmet = state.reservePrice !== null && state.currentPrice < state.reservePrice;
      expect(e.winnerId).toBe(unmet ? null : state.currentWinnerId);
      if (unmet && state.currentWinnerId !== null) expect(e.noWinnerReason).toBe('RESERVE_NOT_MET');
    }
    // The leader's secret maximum never sits below the price it leads at.
    if (state.leaderMax !== null) expect(state.leaderMax).toBeGreaterThanOrEqual(state.currentPrice);
    // Events of one auction arrive in version order, gapless but for raised maximums.
    const versions = events.filter((e) => e.auctionId === created.id).map((e) => e.version);
    const distinct = versions.filter((v, i) => i === 0 || v !== versions[i - 1]);
    const expected = Array.from({ length: state.version }, (_, i) => i + 1).filter((v) => !raises.has(v));
    expect(distinct).toEqual(expected);
    if (state.status !== 'ended' && state.status !== 'cancelled') expect(now).toBeLessThan(state.effectiveEndAt + 1);
  }
}

describe('the correctness contract holds for random interleavings (memory engine, fake clock)', () => {
  it('holds after every step of 300 random scenarios', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(command, { minLength: 5, maxLength: 40 }), async (commands) => {
        await runScenario([{ t: 'create', startIn: 0, duration: 20_000, startPrice: 100, table: false, soft: 1, maxExt: null }, ...commands]);
      }),
      {
        numRuns: 300,
        examples: [
          // Seed 56210784: a first maximum-only bid on a start price of 0 opened at 0, which the ledger's fence
          // (rightly) refused to re-derive, until retries ran out. A bid opens at one minor unit at least.
          [[{ t: 'create', startIn: 0, duration: 1_000, startPrice: 0, table: false, soft: 0, maxExt: null, reserveSteps: null, buyNowSteps: null, reserveMetPolicy: false }, { t: 'bid', auction: 1, bidder: 1, delta: 1, keyMode: 'none', max: 'only', maxSteps: 0 }, { t: 'buynow', auction: 1, bidder: 0 }]],
        ],
      },
    );
  });
});
