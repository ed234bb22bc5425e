export type AuctionStatus = 'scheduled' | 'active' | 'ended' | 'cancelled';

/** An auction as `GET /auctions/:id` returns it (times ISO 8601, money in minor units). */
export interface Auction {
  id: string;
  postId: string;
  creatorId: string;
  status: AuctionStatus;
  currency: string;
  startAt: string;
  endAt: string;
  scheduledEndAt: string;
  startPrice: number;
  currentPrice: number;
  currentWinnerId: string | null;
  minIncrement: number;
  minNextBid: number;
  version: number;
  bidCount: number;
  serverTime: string;
  [field: string]: unknown;
}

/** What a live view renders; replaced (never mutated) when a newer version arrives. */
export interface LiveAuction {
  auctionId: string;
  status: AuctionStatus;
  currentPrice: number;
  winnerId: string | null;
  version: number;
  /** Effective end, epoch ms. */
  endAt: number;
}

export type ConnectionStatus = 'connecting' | 'live' | 'reconnecting' | 'closed';

/** What a watcher sees: the same object until something changes. */
export interface WatchSnapshot {
  auction: LiveAuction | null;
  connection: ConnectionStatus;
  /** Set when the watch closed because of an error (auth, not found). */
  error: Error | null;
}

export type BidResult =
  | { status: 'accepted'; bidId: string; amount: number; currentPrice: number; currentWinnerId: string; minNextBid: number; version: number; endAt: string; extended: boolean; serverTime: string; replayed: boolean }
  | {
      status: 'rejected' | 'late';
      reason: string;
      bidId: string;
      amount: number;
      minNextBid: number;
      currentPrice: number;
      currentWinnerId: string | null;
      version: number;
      endAt: string;
      serverTime: string;
      replayed: boolean;
    };

export interface BidPage {
  items: Array<{ bidId: string; version: number | null; amount: number; bidderId: string; status: string; reason?: string; createdAt: string }>;
  nextCursor: string | null;
}

export interface CreateAuctionInput {
  postId: string;
  startAt: string;
  endAt: string;
  startPrice: number;
  minIncrement?: number;
  incrementTable?: Array<{ from: number; increment: number }>;
  currency?: string;
  softClose?: { windowMs: number; extendMs: number; mode: 'reset' | 'additive'; maxExtensions?: number; hardEndAt?: string };
}
