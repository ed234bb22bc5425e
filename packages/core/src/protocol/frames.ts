import { z } from 'zod';
import { AUCTION_STATUSES } from '../domain/auction.js';
import { isoTime } from './requests.js';

export const FRAME_EVENTS = ['snapshot', 'bid', 'extended', 'ended', 'tick'] as const;

/** The `data` of every SSE frame of `GET /auctions/:id/stream`; the frame's `id` is `version`. */
export const liveFrame = z
  .object({
    type: z.enum(FRAME_EVENTS),
    auctionId: z.string(),
    status: z.enum(AUCTION_STATUSES),
    currentPrice: z.number().int(),
    winnerId: z.string().nullable(),
    version: z.number().int(),
    endAt: isoTime.describe('the effective end'),
    serverTime: isoTime,
    remainingMs: z.number().int().min(0),
    reserveMet: z.boolean().optional().describe('only when the auction has a hidden reserve'),
    buyNowPrice: z.number().int().optional().describe('only when the auction offers Buy It Now'),
    buyNowAvailable: z.boolean().optional().describe('only when the auction offers Buy It Now'),
  })
  .meta({ id: 'LiveFrame' });
