import type { AuctionState } from '../domain/auction.js';
import { bidRecordFromDecision, type BidDecision, type BidRecord } from '../domain/bid.js';
import { makeEvent, type AuctionEvent } from '../domain/events.js';
import { minNextBid, publicBuyNow, publicReserveMet } from '../domain/auction.js';
import { bidFingerprint, decideBid, type PlaceBidCommand } from '../rules/place-bid.js';
import type { Outbid } from '../service/api.js';
import { automaticBid } from '../service/bids.js';

let counter = 0;
/** A unique id for test data, readable in failures. */
export function testId(prefix = 'id'): string {
  counter += 1;
  return `${prefix}-${Date.now().toString(36)}-${counter}-${Math.random().toString(36).slice(2, 8)}`;
}

/** A complete, valid auction state around `now`: active from now - 1 s to now + 60 s, fixed 100 increment. */
export function auctionFixture(now: number, overrides: Partial<AuctionState> = {}): AuctionState {
  const startAt = overrides.startAt ?? now - 1_000;
  const endAt = overrides.endAt ?? now + 60_000;
  return {
    id: testId('auction'),
    postId: testId('post'),
    creatorId: 'creator-1',
    currency: 'USD',
    startAt,
    endAt,
    effectiveEndAt: overrides.effectiveEndAt ?? endAt,
    startPrice: 1_000,
    increment: { type: 'fixed', amount: 100 },
    softClose: null,
    status: 'active',
    currentPrice: overrides.startPrice ?? 1_000,
    currentWinnerId: null,
    version: 1,
    bidCount: 0,
    extensionCount: 0,
    createdAt: now - 2_000,
    closedAt: null,
    reservePrice: null,
    buyNowPrice: null,
    buyNowPolicy: null,
    leaderMax: null,
    ...overrides,
  } as AuctionState;
}

/** A bid command with a fresh bid id and the canonical fingerprint of its amount. */
export function bidCommand(
  auctionId: string,
  bidderId: string,
  amount: number,
  idempotencyKey: string | null = null,
): PlaceBidCommand {
  return { auctionId, bidderId, amount, bidId: testId('bid'), idempotencyKey, fingerprint: JSON.stringify({ amount }) };
}

/** A proxy bid: `maxAmount` with an optional floor `amount`, fingerprinted like the service does. */
export function maxBidCommand(
  auctionId: string,
  bidderId: string,
  maxAmount: number,
  amount: number | null = null,
  idempotencyKey: string | null = null,
): PlaceBidCommand {
  return { auctionId, bidderId, amount, maxAmount, bidId: testId('bid'), idempotencyKey, fingerprint: bidFingerprint({ amount, maxAmount }) };
}

/** A Buy It Now command, fingerprinted like the service does. */
export function buyNowCommand(auctionId: string, bidderId: string, idempotencyKey: string | null = null): PlaceBidCommand {
  return { auctionId, bidderId, amount: null, buyNow: true, bidId: testId('bid'), idempotencyKey, fingerprint: bidFingerprint({ buyNow: true }) };
}

/** The state and records that an accepted bid on `state` produces, for ledger tests. */
export function acceptedChange(
  state: AuctionState,
  bidderId: string,
  amount: number,
  at: number,
  idempotencyKey: string | null = testId('key'),
): { state: AuctionState; bid: BidRecord; events: AuctionEvent[] } {
  const next: AuctionState = {
    ...state,
    status: 'active',
    currentPrice: amount,
    currentWinnerId: bidderId,
    version: state.version + 1,
    bidCount: state.bidCount + 1,
    leaderMax: null,
  };
  const decision: BidDecision = {
    status: 'accepted',
    reason: null,
    bidId: testId('bid'),
    auctionId: state.id,
    bidderId,
    amount,
    minNextBid: minNextBid(next),
    auctionStatus: next.status,
    currentPrice: next.currentPrice,
    currentWinnerId: next.currentWinnerId,
    version: next.version,
    endAt: next.effectiveEndAt,
    extended: false,
    decidedAt: at,
    maxAmount: null,
    reserveMet: publicReserveMet(next),
    buyNowAvailable: publicBuyNow(next),
  };
  const bid: BidRecord = {
    bidId: decision.bidId,
    auctionId: state.id,
    bidderId,
    amount,
    status: 'accepted',
    reason: null,
    kind: 'bid',
    maxAmount: null,
    version: next.version,
    idempotencyKey,
    fingerprint: JSON.stringify({ amount }),
    createdAt: at,
    decision,
  };
  const events = [makeEvent('BidAccepted', next, minNextBid(next), at, { bidId: bid.bidId, bidderId, amount })];
  return { state: next, bid, events };
}

/**
 * The ledger change that `cmd` makes on `state` at `at`, decided by the rules (decideBid) and recorded as the service
 * records it: the bid's own record (kind `bid`, `proxy`, `maximum` or `buy_now`), or, when the leader's maximum
 * answered it (OUTBID_BY_PROXY), the leader's automatic bid with the refused bid as its `trigger`. Events are only
 * the BidAccepted a visible bid adds. Throws when the bid changes nothing.
 */
export function decidedChange(
  state: AuctionState,
  cmd: PlaceBidCommand,
  at: number,
): { state: AuctionState; bid: BidRecord; trigger?: BidRecord; events: AuctionEvent[] } {
  const { decision, next, kind } = decideBid(state, cmd, at);
  if (next === null || kind === null) throw new Error(`the bid changes nothing: ${decision.status} ${decision.reason}`);
  const own = bidRecordFromDecision(decision, cmd.idempotencyKey, cmd.fingerprint, decision.status === 'accepted' ? kind : 'bid');
  const automatic = decision.status === 'accepted' ? null : automaticBid(decision, next, testId('bid'));
  const bid = automatic ?? own;
  const extra = kind === 'proxy' ? { automatic: true } : kind === 'buy_now' ? { buyNow: true } : {};
  const events =
    kind === 'maximum' ? [] : [makeEvent('BidAccepted', next, minNextBid(next), at, { bidId: bid.bidId, bidderId: bid.bidderId, amount: bid.amount, ...extra })];
  return automatic ? { state: next, bid: automatic, trigger: own, events } : { state: next, bid: own, events };
}

/** Polls `check` until it returns without throwing, or rethrows its last error after `timeoutMs`. */
export async function eventually(check: () => void | Promise<void>, timeoutMs = 5_000, intervalMs = 10): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      await check();
      return;
    } catch (error) {
      if (Date.now() >= deadline) throw error;
      await new Promise((resolve) => setTimeout(resolve, intervalMs));
    }
  }
}

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Every accepted bid of an auction through the service, following cursors, oldest first. */
export async function allAcceptedBids(outbid: Outbid, auctionId: string): Promise<BidRecord[]> {
  const all: BidRecord[] = [];
  let cursor: string | undefined;
  do {
    const page = await outbid.listBids(auctionId, { limit: 100, ...(cursor ? { cursor } : {}) });
    all.push(...page.items);
    cursor = page.nextCursor ?? undefined;
  } while (cursor);
  return all.reverse();
}
