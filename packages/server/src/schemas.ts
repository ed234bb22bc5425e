import { idSchema, type CreateAuctionInput, type ListBidsRequest } from '@outbid/core';
import { createAuctionBody, listBidsQuery } from '@outbid/core/protocol';
import { z } from 'zod';

// The wire contract is defined once, in @outbid/core/protocol; this file adds what only the server needs.
export {
  auctionResponse,
  bidAcceptedResponse,
  bidListResponse,
  bidRejectedResponse,
  buyNowBody,
  createAuctionBody,
  isoTime,
  listAuctionsQuery,
  listBidsQuery,
  placeBidBody,
  problemResponseSchema,
} from '@outbid/core/protocol';

const id = idSchema;

const ms = (iso: string) => Date.parse(iso);

/** A valid create-auction body as the service's input (times to epoch ms, the increment as one rule). */
export function createAuctionInput(body: z.output<typeof createAuctionBody>): CreateAuctionInput {
  return {
    postId: body.postId,
    startAt: ms(body.startAt),
    endAt: ms(body.endAt),
    startPrice: body.startPrice,
    increment: body.incrementTable ? { type: 'table', tiers: body.incrementTable } : { type: 'fixed', amount: body.minIncrement! },
    ...(body.currency ? { currency: body.currency } : {}),
    softClose: body.softClose
      ? {
          windowMs: body.softClose.windowMs,
          extendMs: body.softClose.extendMs,
          mode: body.softClose.mode,
          maxExtensions: body.softClose.maxExtensions ?? null,
          hardEndAt: body.softClose.hardEndAt ? ms(body.softClose.hardEndAt) : null,
        }
      : null,
    ...(body.reservePrice !== undefined ? { reservePrice: body.reservePrice } : {}),
    ...(body.buyNowPrice !== undefined ? { buyNowPrice: body.buyNowPrice } : {}),
    ...(body.buyNowPolicy !== undefined ? { buyNowPolicy: body.buyNowPolicy } : {}),
  };
}

/** A valid list-bids query as the service's request, for the reader `actorId` (null: anonymous). */
export function listBidsRequest(q: z.output<typeof listBidsQuery>, actorId: string | null): ListBidsRequest {
  return {
    ...(q.cursor ? { cursor: q.cursor } : {}),
    ...(q.limit ? { limit: q.limit } : {}),
    include: q.include ?? 'accepted',
    ...(actorId !== null ? { actorId } : {}),
  };
}

export const devTokenBody = z.strictObject({
  userId: id,
  roles: z.array(z.enum(['creator', 'bidder', 'viewer'])).min(1).max(3),
});
