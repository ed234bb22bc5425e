import type { AuctionBody, BidAcceptedBody, BidPageBody, BidRejectedBody, CreateAuctionBody, LiveAuction as LiveState, LiveFrame } from '@outbid/core/protocol';

// The wire shapes come from @outbid/core/protocol as types only: nothing of it reaches the SDK's bundle.
export type AuctionStatus = LiveFrame['status'];

/** An auction as `GET /auctions/:id` returns it (times ISO 8601, money in minor units). */
export type Auction = AuctionBody;

/** What a live view renders; replaced (never mutated) when a newer version arrives. */
export type LiveAuction = LiveState;

export type ConnectionStatus = 'connecting' | 'live' | 'reconnecting' | 'closed';

/** What a watcher sees: the same object until something changes. */
export interface WatchSnapshot {
  auction: LiveAuction | null;
  connection: ConnectionStatus;
  /** Set when the watch closed because of an error (auth, not found). */
  error: Error | null;
}

/** A bid's answer; `replayed` when it is the stored answer to an earlier request with the same key. */
export type BidResult = (BidAcceptedBody | BidRejectedBody) & { replayed: boolean };

export type BidPage = BidPageBody;

/** The body of `POST /auctions`. */
export type CreateAuctionInput = CreateAuctionBody;
