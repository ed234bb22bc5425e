import type { AuctionEvent } from '@outbid/core';
import type { FrameEvent, LiveAuction, LiveFrame } from '@outbid/core/protocol';

export type { FrameEvent };

/** What a viewer needs to render an auction; the `data` of every frame (see `liveFrame` in the protocol). */
export type LiveState = LiveAuction;

/** The frame type an event becomes. Start and creation carry a whole new state: a snapshot. */
export function frameEventOf(event: AuctionEvent): FrameEvent {
  switch (event.type) {
    case 'BidAccepted':
      return 'bid';
    case 'AuctionExtended':
      return 'extended';
    case 'AuctionEnded':
    case 'AuctionCancelled':
      return 'ended';
    default:
      return 'snapshot';
  }
}

export function liveStateOf(event: AuctionEvent): LiveState {
  return {
    auctionId: event.auctionId,
    status: event.snapshot.status,
    currentPrice: event.snapshot.currentPrice,
    winnerId: event.snapshot.currentWinnerId,
    version: event.version,
    endAt: event.snapshot.endAt,
  };
}

/** One SSE frame: `id` is the auction version, so `Last-Event-ID` resumes after it. */
export function encodeFrame(event: FrameEvent, state: LiveState, serverTime: number): string {
  const closed = state.status === 'ended' || state.status === 'cancelled';
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
  return `id: ${state.version}\nevent: ${event}\ndata: ${JSON.stringify(data)}\n\n`;
}

export const encodeComment = (text: string) => `: ${text}\n\n`;
