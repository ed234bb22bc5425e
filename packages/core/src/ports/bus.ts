import type { AuctionEvent } from '../domain/events.js';

export const BUS_SPECIFICATION_VERSION = 'v1';

export type EventHandler = (event: AuctionEvent) => void | Promise<void>;

export interface SubscribeOptions {
  /**
   * Without a group every subscription receives every event (fanout to each server instance).
   * Subscriptions sharing a group split the events between them, each auction's events to one member.
   */
  group?: string;
}

export interface Subscription {
  close(): Promise<void>;
}

/**
 * Carries auction events, keyed by auction id: one auction's events reach a subscriber in publish order.
 * Delivery is at least once; consumers de-duplicate by (auctionId, version).
 */
export interface EventBus {
  readonly specificationVersion: typeof BUS_SPECIFICATION_VERSION;
  readonly name: string;
  publish(events: AuctionEvent[]): Promise<void>;
  subscribe(handler: EventHandler, options?: SubscribeOptions): Promise<Subscription>;
  /** Optional: resolves when every event published so far has been handled (tests and graceful waits). */
  idle?(): Promise<void>;
  /** Optional: events not yet consumed by this instance, where the bus can tell (a metric). */
  lag?(): Promise<number>;
  close(): Promise<void>;
}
