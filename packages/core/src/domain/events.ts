import { z } from 'zod';
import { auctionStatusSchema, publicBuyNow, publicReserveMet, type AuctionState } from './auction.js';

export const EVENT_SCHEMA_VERSION = 1;

export const AUCTION_EVENT_TYPES = [
  'AuctionCreated',
  'AuctionStarted',
  'BidAccepted',
  'AuctionExtended',
  'AuctionEnded',
  'AuctionCancelled',
] as const;
export type AuctionEventType = (typeof AUCTION_EVENT_TYPES)[number];

/** The public state of an auction carried by every event: enough for a viewer to render it. */
export const auctionSnapshotSchema = z.strictObject({
  status: auctionStatusSchema,
  currency: z.string(),
  startAt: z.number().int(),
  endAt: z.number().int(),
  currentPrice: z.number().int(),
  currentWinnerId: z.string().nullable(),
  minNextBid: z.number().int(),
  bidCount: z.number().int(),
  /** Present only when the auction has a hidden reserve (its amount is never told). */
  reserveMet: z.boolean().optional(),
  /** Present only when the auction offers Buy It Now. */
  buyNowAvailable: z.boolean().optional(),
});
export type AuctionSnapshot = z.infer<typeof auctionSnapshotSchema>;

const base = {
  schemaVersion: z.literal(EVENT_SCHEMA_VERSION),
  /** `<auctionId>:<version>:<type>`: the same change always has the same id, so consumers can de-duplicate. */
  eventId: z.string(),
  auctionId: z.string(),
  version: z.number().int().min(1),
  occurredAt: z.number().int(),
  snapshot: auctionSnapshotSchema,
};

export const auctionEventSchema = z.discriminatedUnion('type', [
  z.strictObject({ ...base, type: z.literal('AuctionCreated'), creatorId: z.string(), postId: z.string() }),
  z.strictObject({ ...base, type: z.literal('AuctionStarted') }),
  z.strictObject({
    ...base,
    type: z.literal('BidAccepted'),
    bidId: z.string(),
    bidderId: z.string(),
    amount: z.number().int(),
    /** True when the engine placed this bid for the leader's standing maximum (proxy bidding). */
    automatic: z.boolean().optional(),
    /** True when this bid bought the auction at its Buy It Now price (an AuctionEnded follows at the same version). */
    buyNow: z.boolean().optional(),
  }),
  z.strictObject({ ...base, type: z.literal('AuctionExtended'), previousEndAt: z.number().int() }),
  z.strictObject({
    ...base,
    type: z.literal('AuctionEnded'),
    winnerId: z.string().nullable(),
    finalPrice: z.number().int().nullable(),
    /** Why there is no winner: nobody bid, or the hidden reserve was not met. Null when there is one. */
    noWinnerReason: z.enum(['NO_BIDS', 'RESERVE_NOT_MET']).nullable().optional(),
  }),
  z.strictObject({ ...base, type: z.literal('AuctionCancelled') }),
]);
/**
 * A change to one auction. Events of one auction are ordered by `version`; a bid that extends the end
 * produces BidAccepted and AuctionExtended with the same version (the same state), so consumers keyed by
 * (auctionId, version) may keep either.
 */
export type AuctionEvent = z.infer<typeof auctionEventSchema>;

type Extra<T extends AuctionEventType> = Omit<
  Extract<AuctionEvent, { type: T }>,
  keyof typeof base | 'type' | 'schemaVersion'
>;

export function snapshotOf(state: AuctionState, minNext: number): AuctionSnapshot {
  const snapshot: AuctionSnapshot = {
    status: state.status,
    currency: state.currency,
    startAt: state.startAt,
    endAt: state.effectiveEndAt,
    currentPrice: state.currentPrice,
    currentWinnerId: state.currentWinnerId,
    minNextBid: minNext,
    bidCount: state.bidCount,
  };
  const reserveMet = publicReserveMet(state);
  if (reserveMet !== null) snapshot.reserveMet = reserveMet;
  const buyNow = publicBuyNow(state);
  if (buyNow !== null) snapshot.buyNowAvailable = buyNow;
  return snapshot;
}

export function makeEvent<T extends AuctionEventType>(
  type: T,
  state: AuctionState,
  minNext: number,
  occurredAt: number,
  extra: Extra<T>,
): Extract<AuctionEvent, { type: T }> {
  return {
    schemaVersion: EVENT_SCHEMA_VERSION,
    eventId: `${state.id}:${state.version}:${type}`,
    type,
    auctionId: state.id,
    version: state.version,
    occurredAt,
    snapshot: snapshotOf(state, minNext),
    ...extra,
  } as Extract<AuctionEvent, { type: T }>;
}
