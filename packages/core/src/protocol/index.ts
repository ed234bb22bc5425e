/**
 * @outbid/core/protocol: the HTTP and SSE wire contract, once. The server validates requests and documents
 * responses with these zod schemas; the SDK imports the types only (`import type`), so none of this reaches
 * its bundle.
 * @packageDocumentation
 */
import type { z } from 'zod';
import type { liveFrame } from './frames.js';
import type { buyNowBody, createAuctionBody, listAuctionsQuery, listBidsQuery, placeBidBody } from './requests.js';
import type { auctionResponse, bidAcceptedResponse, bidListResponse, bidRejectedResponse, problemResponseSchema } from './responses.js';

export { isoTime, createAuctionBody, placeBidBody, buyNowBody, listAuctionsQuery, listBidsQuery } from './requests.js';
export { auctionResponse, bidAcceptedResponse, bidRejectedResponse, bidListResponse, problemResponseSchema } from './responses.js';
export { FRAME_EVENTS, liveFrame } from './frames.js';

/** The body of `POST /auctions` (times ISO 8601, money in minor units). */
export type CreateAuctionBody = z.input<typeof createAuctionBody>;
export type PlaceBidBody = z.input<typeof placeBidBody>;
export type BuyNowBody = z.input<typeof buyNowBody>;
export type ListAuctionsQuery = z.input<typeof listAuctionsQuery>;
export type ListBidsQuery = z.input<typeof listBidsQuery>;
/** An auction as `GET /auctions/:id` returns it. */
export type AuctionBody = z.output<typeof auctionResponse>;
export type BidAcceptedBody = z.output<typeof bidAcceptedResponse>;
export type BidRejectedBody = z.output<typeof bidRejectedResponse>;
export type BidPageBody = z.output<typeof bidListResponse>;
export type ProblemBody = z.output<typeof problemResponseSchema>;
export type LiveFrame = z.output<typeof liveFrame>;
export type FrameEvent = LiveFrame['type'];

/** What a viewer renders from a frame: its state, with the end as epoch ms. */
export type LiveAuction = Pick<LiveFrame, 'auctionId' | 'status' | 'currentPrice' | 'winnerId' | 'version' | 'reserveMet' | 'buyNowPrice' | 'buyNowAvailable'> & {
  /** Effective end, epoch ms. */
  endAt: number;
};
