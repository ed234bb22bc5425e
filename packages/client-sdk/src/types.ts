import type { AuctionBody, BidAcceptedBody, BidPageBody, BidRejectedBody, CreateAuctionBody, LiveAuction as LiveState, LiveFrame } from '@outbid/core/protocol';

// The wire shapes come from @outbid/core/protocol as types only: nothing of it reaches the SDK's bundle.
export type AuctionStatus = LiveFrame['status'];

/**
 * What an auction tells everyone about its hidden reserve and its Buy It Now offer. Each field is present only when
 * the auction has the feature: no `reserveMet` means there is no reserve, no `buyNowPrice` means no Buy It Now.
 * The reserve's amount and the leader's maximum are secret and never sent.
 */
export interface AuctionOffers {
  /** Set only when the seller set a reserve: whether the price has reached it (an unmet reserve at the end means no winner). */
  reserveMet?: boolean;
  /** Set only when Buy It Now is offered: its price, in minor units. */
  buyNowPrice?: number;
  /** Set only when Buy It Now is offered: whether `buyNow()` can still succeed (it goes at the first bid, or once the reserve is met). */
  buyNowAvailable?: boolean;
}

/** An auction as `GET /auctions/:id` returns it (times ISO 8601, money in minor units). */
export type Auction = AuctionBody & AuctionOffers;

/** What a live view renders; replaced (never mutated) when a newer version arrives. */
export type LiveAuction = LiveState & AuctionOffers;

export type ConnectionStatus = 'connecting' | 'live' | 'reconnecting' | 'closed';

/** What a watcher sees: the same object until something changes. */
export interface WatchSnapshot {
  auction: LiveAuction | null;
  connection: ConnectionStatus;
  /** Set when the watch closed because of an error (auth, not found). */
  error: Error | null;
}

/**
 * What to bid (minor units): a plain `amount`, a secret `maxAmount` the server bids up to for you (proxy bidding:
 * the visible price rises only as far as needed to keep you leading), or both (bid `amount` now, defend up to
 * `maxAmount`). A leader may send a higher `maxAmount` alone to raise their maximum without raising the price.
 */
export type BidInput = { amount: number; maxAmount?: number } | { amount?: undefined; maxAmount: number };

/**
 * A bid's (or a buy's) answer; `replayed` when it is the stored answer to an earlier request with the same key.
 * `reason: 'OUTBID_BY_PROXY'` is a rejection whose `currentPrice`, `currentWinnerId`, `version` and `minNextBid`
 * are the new state: a standing maximum answered your bid at once.
 */
export type BidResult = (BidAcceptedBody | BidRejectedBody) & {
  replayed: boolean;
  /** Your own maximum, echoed when the request carried one. */
  maxAmount?: number;
} & Pick<AuctionOffers, 'reserveMet' | 'buyNowAvailable'>;

export type BidPage = BidPageBody & {
  items: Array<
    BidPageBody['items'][number] & {
      /** A bid the server placed for a standing maximum (proxy bidding). */
      automatic?: true;
      /** The auction was bought at its Buy It Now price. */
      buyNow?: true;
      /** The bidder's maximum: only in the creator's `include=all` listing after the end. */
      maxAmount?: number;
    }
  >;
};

/** The body of `POST /auctions`. */
export type CreateAuctionInput = CreateAuctionBody & {
  /** A hidden reserve (minor units, above `startPrice`): without it met at the end, nobody wins. Never shown to others. */
  reservePrice?: number;
  /** Offers Buy It Now at this price (minor units, above `startPrice` and `reservePrice`). */
  buyNowPrice?: number;
  /** When Buy It Now goes away: at the first bid (`'first-bid'`, the default) or once the reserve is met (`'reserve-met'`). */
  buyNowPolicy?: 'first-bid' | 'reserve-met';
};
