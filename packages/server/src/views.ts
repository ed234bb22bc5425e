import { incrementAt, publicBuyNow, publicReserveMet, winnerOf, type AuctionState, type AuctionView, type BidDecision, type BidRecord } from '@outbid/core';
import type { AuctionBody, BidPageBody } from '@outbid/core/protocol';

const iso = (ms: number) => new Date(ms).toISOString();
const isoOrNull = (ms: number | null) => (ms === null ? null : iso(ms));

/**
 * An auction at the HTTP edge: ISO 8601 times, the current increment spelled out. Built field by field: the
 * reserve and the leader's maximum are secret and never leave the service (only `reserveMet` does).
 */
export function auctionBody(a: AuctionView): AuctionBody {
  return {
    id: a.id,
    postId: a.postId,
    creatorId: a.creatorId,
    status: a.status,
    currency: a.currency,
    startAt: iso(a.startAt),
    endAt: iso(a.effectiveEndAt),
    scheduledEndAt: iso(a.endAt),
    startPrice: a.startPrice,
    currentPrice: a.currentPrice,
    currentWinnerId: shownWinnerId(a),
    minIncrement: incrementAt(a.increment, a.currentPrice),
    minNextBid: a.minNextBid,
    incrementRule: a.increment.type === 'fixed' ? { minIncrement: a.increment.amount } : { incrementTable: a.increment.tiers },
    softClose: a.softClose && { ...a.softClose, hardEndAt: isoOrNull(a.softClose.hardEndAt) },
    version: a.version,
    bidCount: a.bidCount,
    extensionCount: a.extensionCount,
    createdAt: iso(a.createdAt),
    closedAt: isoOrNull(a.closedAt),
    serverTime: iso(a.serverTime),
    ...publicOffers(a),
  };
}

/** The leader as the public sees it: nobody once the auction ended below its reserve, though someone led it. */
export function shownWinnerId(a: AuctionState): string | null {
  return a.status === 'ended' ? winnerOf(a).winnerId : a.currentWinnerId;
}

/**
 * What readers may know of the reserve and Buy It Now: `reserveMet` when there is a reserve, `buyNowPrice` and
 * `buyNowAvailable` when Buy It Now is offered; each field only when it applies, never the reserve itself.
 */
export function publicOffers(a: AuctionState): { reserveMet?: boolean; buyNowPrice?: number; buyNowAvailable?: boolean } {
  const reserveMet = publicReserveMet(a);
  return {
    ...(reserveMet !== null ? { reserveMet } : {}),
    ...(a.buyNowPrice !== null ? { buyNowPrice: a.buyNowPrice, buyNowAvailable: publicBuyNow(a) === true } : {}),
  };
}

/** What a bid answer adds for proxy bids, reserves and Buy It Now: each field only when it applies. */
function bidExtras(d: BidDecision) {
  return {
    ...(d.maxAmount != null ? { maxAmount: d.maxAmount } : {}),
    ...(d.reserveMet != null ? { reserveMet: d.reserveMet } : {}),
    ...(d.buyNowAvailable != null ? { buyNowAvailable: d.buyNowAvailable } : {}),
  };
}

/**
 * The bid answer. Built only from the decision (serverTime is the decision's own time), so a replay of the
 * stored decision is byte-identical to the first answer.
 */
export function bidBody(d: BidDecision) {
  if (d.status === 'accepted') {
    return {
      status: d.status,
      bidId: d.bidId,
      amount: d.amount,
      currentPrice: d.currentPrice,
      currentWinnerId: d.currentWinnerId,
      minNextBid: d.minNextBid,
      version: d.version,
      endAt: iso(d.endAt),
      extended: d.extended,
      serverTime: iso(d.decidedAt),
      ...bidExtras(d),
    };
  }
  return {
    status: d.status,
    reason: d.reason,
    bidId: d.bidId,
    amount: d.amount,
    minNextBid: d.minNextBid,
    currentPrice: d.currentPrice,
    currentWinnerId: d.currentWinnerId,
    version: d.version,
    endAt: iso(d.endAt),
    serverTime: iso(d.decidedAt),
    ...bidExtras(d),
  };
}

export function bidItem(b: BidRecord): BidPageBody['items'][number] {
  return {
    bidId: b.bidId,
    version: b.version,
    amount: b.amount,
    bidderId: b.bidderId,
    status: b.status,
    ...(b.reason ? { reason: b.reason } : {}),
    createdAt: iso(b.createdAt),
    ...(b.kind === 'proxy' ? { automatic: true as const } : {}),
    ...(b.kind === 'buy_now' ? { buyNow: true as const } : {}),
    // The service clears it unless the creator reads the audit trail of an ended auction.
    ...(b.maxAmount != null ? { maxAmount: b.maxAmount } : {}),
  };
}
