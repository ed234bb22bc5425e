import { startKafkaMock, type KafkaMock } from '@outbid/test-services';
import { afterAll, beforeAll, describe } from 'vitest';
import { describeBusConformance } from '@outbid/core/testing';
import { createKafkaBus } from '../src/index.js';
import { followersSyncFirst } from './mock-assigner.js';

let mock: KafkaMock;
beforeAll(async () => {
  mock = await startKafkaMock({ topics: [{ name: 'outbid.auction-events', partitions: 4 }] });
}, 60_000);
afterAll(async () => {
  await mock?.stop();
});

describeBusConformance('kafka', {
  create: () => createKafkaBus({ brokers: mock.brokers, consumer: { partitionAssigners: [followersSyncFirst] } }),
  subscribeSettleMs: 500,
  deliveryTimeoutMs: 20_000,
  testTimeoutMs: 90_000,
});

// Opt-in: the same contract against a real broker (topic outbid.auction-events must exist).
describe.skipIf(!process.env.KAFKA_BROKERS)('against a real broker (set KAFKA_BROKERS to run)', () => {
  describeBusConformance('kafka', { create: () => createKafkaBus({ brokers: process.env.KAFKA_BROKERS!.split(',') }), subscribeSettleMs: 2_000, deliveryTimeoutMs: 30_000, testTimeoutMs: 120_000 });
});
