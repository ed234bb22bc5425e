import { isSealed, type AuctionEvent } from '@outbid/core';
import type { FrameEvent, LiveAuction, LiveFrame } from '@outbid/core/protocol';

export type { FrameEvent };

/** What a viewer needs to render an auction; the `data` of every frame (see `liveFrame` in the protocol). */
export type LiveState = LiveAuction;

/** The frame type an event becomes. Start and creation carry a whole new state: a snapshot. */
export function frameEventOf(event: AuctionEvent): FrameEvent {
  switch (event.type) {
    case 'BidAccepted':
      // A purchase at Buy It Now ends the auction in the same version: its AuctionEnded would be a duplicate.
      return event.snapshot.status === 'ended' ? 'ended' : 'bid';
    case 'AuctionExtended':
      return 'extended';
    case 'AuctionEnded':
    case 'AuctionCancelled':
      return 'ended';
    default:
      return 'snapshot';
  }
}

/**
 * The state an event leaves. `buyNowPrice` never changes, and events do not carry it: the gateway passes what the
 * auction's read told it. An auction that ended below its reserve has no winner, though someone led it.
 */
export function liveStateOf(event: AuctionEvent, buyNowPrice: number | null = null): LiveState {
  const { snapshot } = event;
  const state: LiveState = {
    auctionId: event.auctionId,
    status: snapshot.status,
    currentPrice: snapshot.currentPrice,
    winnerId: snapshot.status === 'ended' && snapshot.reserveMet === false ? null : snapshot.currentWinnerId,
    version: event.version,
    endAt: snapshot.endAt,
  };
  if (snapshot.reserveMet !== undefined) state.reserveMet = snapshot.reserveMet;
  if (buyNowPrice !== null) state.buyNowPrice = buyNowPrice;
  if (snapshot.buyNowAvailable !== undefined) state.buyNowAvailable = snapshot.buyNowAvailable;
  return state;
}

/** One SSE frame: `id` is the auction version, so `Last-Event-ID` resumes after it. */
export function encodeFrame(event: FrameEvent, state: LiveState, serverTime: number): string {
  const closed = isSealed(state);
  const data: LiveFrame = {
    type: event,
    auctionId: state.auctionId,
    status: state.status,
    currentPrice: state.currentPrice,
    winnerId: state.winnerId,
    version: state.version,
    endAt: new Date(state.endAt).toISOString(),
    serverTime: new Date(serverTime).toISOString(),
    remainingMs: closed ? 0 : Math.max(0, state.endAt - serverTime),
  };
  if (state.reserveMet !== undefined) data.reserveMet = state.reserveMet;
  if (state.buyNowPrice !== undefined && state.buyNowAvailable !== undefined) {
    data.buyNowPrice = state.buyNowPrice;
    data.buyNowAvailable = state.buyNowAvailable;
  }
  return `id: ${state.version}\nevent: ${event}\ndata: ${JSON.stringify(data)}\n\n`;
}

export const encodeComment = (text: string) => `: ${text}\n\n`;
