/**
 * @outbid/client: live auctions in the browser (and Node 20) — versioned stream reconciliation, server-clock
 * countdowns, bids (plain or with a secret maximum) and Buy It Now with safe retries.
 * @packageDocumentation
 */
export { createOutbidClient, type OutbidClient, type OutbidClientOptions, type PlaceBidOptions } from './client.js';
export { OutbidClientError, type OutbidClientErrorKind } from './errors.js';
export { ServerClock } from './clock.js';
export type { WatchOptions } from './watch.js';
export type { Auction, AuctionOffers, AuctionStatus, BidInput, BidPage, BidResult, ConnectionStatus, CreateAuctionInput, LiveAuction, WatchSnapshot } from './types.js';
