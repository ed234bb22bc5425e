import { Redis } from 'ioredis';
import { describeEngineConformance, describeSchedulerConformance } from '@outbid/core/testing';
import { createRedisEngine, createRedisScheduler } from '../src/index.js';
import { useRedisServer } from './redis-server.js';

const redis = useRedisServer();

describeEngineConformance('redis', {
  create: async () => createRedisEngine({ redis: new Redis(redis.url), quitOnClose: true }),
});

describeSchedulerConformance('redis', {
  create: () => createRedisScheduler({ redis: redis.client(), pollMs: 20, retryDelayMs: 100, prefix: `conf-${Math.random()}` }),
});
