import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { minNextBid } from '../domain/auction.js';
import { makeEvent, type AuctionEvent } from '../domain/events.js';
import type { EventBus, SubscribeOptions, Subscription } from '../ports/bus.js';
import { auctionFixture, eventually, sleep, testId } from './fixtures.js';

export interface BusSuiteOptions {
  create(): Promise<EventBus>;
  teardown?(): Promise<void>;
  /** Time a new subscription needs before it receives (e.g. a consumer group joining). Default 0. */
  subscribeSettleMs?: number;
  /** How long delivery may take. Default 5 s. */
  deliveryTimeoutMs?: number;
  /** Per test, for buses whose subscriptions take long to join (Kafka consumer groups). Default 30 s. */
  testTimeoutMs?: number;
}

/** `count` BidAccepted events of one auction, versions 2..count+1. */
export function eventsFor(auctionId: string, count: number): AuctionEvent[] {
  const base = { ...auctionFixture(Date.UTC(2030, 0, 1)), id: auctionId };
  return Array.from({ length: count }, (_, i) => {
    const state = { ...base, version: i + 2, currentPrice: 1_000 + i * 100, currentWinnerId: `b${i % 3}`, bidCount: i + 1 };
    return makeEvent('BidAccepted', state, minNextBid(state), base.createdAt + i, { bidId: testId('bid'), bidderId: `b${i % 3}`, amount: state.currentPrice });
  });
}

/** The event bus contract: per-auction order, fanout to every plain subscriber, groups that share the work. */
export function describeBusConformance(name: string, options: BusSuiteOptions): void {
  describe(`EventBus conformance: ${name}`, { timeout: options.testTimeoutMs ?? 30_000 }, () => {
    let bus: EventBus;
    const timeout = options.deliveryTimeoutMs ?? 5_000;
    beforeAll(async () => {
      bus = await options.create();
    });
    afterAll(async () => {
      await bus?.close();
      await options.teardown?.();
    });

    const collect = async (auctionIds: Set<string>, subscribeOptions?: SubscribeOptions) => {
      const received: AuctionEvent[] = [];
      const subscription: Subscription = await bus.subscribe((event) => {
        if (auctionIds.has(event.auctionId)) received.push(event);
      }, subscribeOptions);
      return { received, subscription };
    };
    const settle = () => sleep(options.subscribeSettleMs ?? 0);
    const versionsOf = (events: AuctionEvent[], auctionId: string) =>
      events.filter((e) => e.auctionId === auctionId).map((e) => e.version);
    const distinct = (versions: number[]) => versions.filter((v, i) => i === 0 || v !== versions[i - 1]);
    /** Each version where it first arrived: what a consumer that drops versions it has seen acts on. */
    const firstArrivals = (versions: number[]) => versions.filter((v, i) => versions.indexOf(v) === i);

    it('declares its name and the port version it implements', () => {
      expect(bus.name).toBe(name);
      expect(bus.specificationVersion).toBe('v1');
    });

    it('a subscriber receives one auction’s events in publish order, intact', async () => {
      const auctionId = testId('auction');
      const { received, subscription } = await collect(new Set([auctionId]));
      await settle();
      const events = eventsFor(auctionId, 50);
      await bus.publish(events.slice(0, 20));
      await bus.publish(events.slice(20));
      await eventually(() => expect(new Set(versionsOf(received, auctionId)).size).toBe(50), timeout);
      expect(distinct(versionsOf(received, auctionId))).toEqual(events.map((e) => e.version));
      expect(received.find((e) => e.version === 2)).toEqual(events[0]);
      await subscription.close();
    });

    it('every plain subscriber receives every event (fanout)', async () => {
      const ids = [testId('auction'), testId('auction')];
      const a = await collect(new Set(ids));
      const b = await collect(new Set(ids));
      await settle();
      await bus.publish([...eventsFor(ids[0]!, 5), ...eventsFor(ids[1]!, 5)]);
      for (const sub of [a, b]) {
        await eventually(() => expect(new Set(sub.received.map((e) => e.eventId)).size).toBe(10), timeout);
      }
      await a.subscription.close();
      await b.subscription.close();
    });

    it('members of one group share the events, each auction’s events in order, none lost', async () => {
      const ids = Array.from({ length: 12 }, () => testId('auction'));
      const group = testId('group');
      const a = await collect(new Set(ids), { group });
      const b = await collect(new Set(ids), { group });
      await settle();
      for (const id of ids) await bus.publish(eventsFor(id, 4));
      await eventually(() => {
        const seen = new Set([...a.received, ...b.received].map((e) => e.eventId));
        expect(seen.size).toBe(48);
      }, timeout);
      for (const sub of [a, b]) {
        for (const id of ids) {
          // At least once: a member may get a run again after a rebalance (a Kafka member once got 2,3,4,5 twice),
          // but nothing new may arrive before something older.
          const versions = firstArrivals(versionsOf(sub.received, id));
          expect([...versions].sort((x, y) => x - y)).toEqual(versions);
        }
      }
      await a.subscription.close();
      await b.subscription.close();
    });

    it('a closed subscription receives nothing more', async () => {
      const auctionId = testId('auction');
      const { received, subscription } = await collect(new Set([auctionId]));
      const witness = await collect(new Set([auctionId]));
      await settle();
      await subscription.close();
      await bus.publish(eventsFor(auctionId, 3));
      await eventually(() => expect(witness.received.length).toBeGreaterThanOrEqual(3), timeout);
      expect(received).toEqual([]);
      await witness.subscription.close();
    });
  });
}
