import { startKafkaMock, type KafkaMock } from '@outbid/test-services';
import { Kafka, logLevel } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AuctionEvent } from '@outbid/core';
import { eventsFor, eventually, testId } from '@outbid/core/testing';
import { createKafkaBus } from '../src/index.js';

const TOPIC = 'outbid.auction-events';
let mock: KafkaMock;
beforeAll(async () => {
  mock = await startKafkaMock({ topics: [{ name: TOPIC, partitions: 4 }, { name: 'resume-test', partitions: 2 }] });
}, 60_000);
afterAll(async () => {
  await mock?.stop();
});

describe('Kafka specifics', () => {
  it('a group resumes from its committed offsets after its consumer restarts: nothing lost', async () => {
    const bus = await createKafkaBus({ brokers: mock.brokers, topic: 'resume-test' });
    try {
      const group = testId('group');
      const auctionId = testId('auction');
      const events = eventsFor(auctionId, 20);
      const first: AuctionEvent[] = [];
      const sub = await bus.subscribe((e) => void first.push(e), { group });
      await bus.publish(events.slice(0, 10));
      await eventually(() => expect(first.length).toBeGreaterThanOrEqual(10), 20_000);
      await sub.close();
      await bus.publish(events.slice(10));
      const second: AuctionEvent[] = [];
      const again = await bus.subscribe((e) => void second.push(e), { group });
      await eventually(() => expect(new Set([...first, ...second].map((e) => e.version)).size).toBe(20), 20_000);
      expect(second.map((e) => e.version)).toContain(21); // the tail came to the restarted member
      await again.close();
    } finally {
      await bus.close();
    }
  }, 60_000);

  it('a consumer crash kafkajs does not restart from is reported and a new consumer takes over: nothing lost', async () => {
    const errors: unknown[] = [];
    const bus = await createKafkaBus({ brokers: mock.brokers, topic: 'resume-test', onError: (e) => errors.push(e) });
    try {
      const auctionId = testId('auction');
      const got: AuctionEvent[] = [];
      let poisoned = false;
      await bus.subscribe(
        (e) => {
          if (e.auctionId !== auctionId) return;
          if (e.version === 3 && !poisoned) {
            poisoned = true;
            // Not retriable: kafkajs stops this consumer for good (as it does on some broker errors).
            throw Object.assign(new Error('poison'), { retriable: false });
          }
          got.push(e);
        },
        { group: testId('group') },
      );
      await bus.publish(eventsFor(auctionId, 4));
      await eventually(() => expect(new Set(got.map((e) => e.version))).toEqual(new Set([2, 3, 4, 5])), 60_000);
      expect(poisoned).toBe(true);
      expect(errors.some((e) => (e as Error).message === 'poison')).toBe(true);
    } finally {
      await bus.close();
    }
  }, 90_000);

  it('a malformed message on the topic is reported and skipped; the next events still arrive', async () => {
    const errors: unknown[] = [];
    const bus = await createKafkaBus({ brokers: mock.brokers, onError: (e) => errors.push(e) });
    const raw = new Kafka({ brokers: mock.brokers, logLevel: logLevel.NOTHING }).producer();
    await raw.connect();
    try {
      const auctionId = testId('auction');
      const got: AuctionEvent[] = [];
      await bus.subscribe((e) => {
        if (e.auctionId === auctionId) got.push(e);
      });
      await new Promise((r) => setTimeout(r, 500));
      await raw.send({ topic: TOPIC, messages: [{ key: auctionId, value: 'not json' }, { key: auctionId, value: JSON.stringify({ type: 'Nope' }) }] });
      await bus.publish(eventsFor(auctionId, 2));
      await eventually(() => expect(got.map((e) => e.version)).toEqual([2, 3]), 20_000);
      expect(errors.length).toBeGreaterThanOrEqual(2);
    } finally {
      await raw.disconnect();
      await bus.close();
    }
  }, 60_000);
});
