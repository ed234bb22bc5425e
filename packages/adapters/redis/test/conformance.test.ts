import { startRedis, type RedisServer } from '@outbid/test-services';
import { Redis } from 'ioredis';
import { afterAll, beforeAll } from 'vitest';
import { describeEngineConformance, describeSchedulerConformance } from '@outbid/core/testing';
import { createRedisEngine, createRedisScheduler } from '../src/index.js';

let server: RedisServer;
const clients: Redis[] = [];
beforeAll(async () => {
  server = await startRedis();
});
afterAll(async () => {
  for (const c of clients) c.disconnect();
  await server?.stop();
});
const client = () => {
  const c = new Redis(server.url);
  clients.push(c);
  return c;
};

describeEngineConformance('redis', {
  create: async () => createRedisEngine({ redis: new Redis(server.url), quitOnClose: true }),
});

describeSchedulerConformance('redis', {
  create: () => createRedisScheduler({ redis: client(), pollMs: 20, retryDelayMs: 100, prefix: `conf-${Math.random()}` }),
});
