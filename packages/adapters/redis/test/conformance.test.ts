import { startRedis, type RedisServer } from '@outbid/test-services';
import { Redis } from 'ioredis';
import { afterAll, beforeAll } from 'vitest';
import { describeEngineConformance } from '@outbid/core/testing';
import { createRedisEngine } from '../src/index.js';

let server: RedisServer;
beforeAll(async () => {
  server = await startRedis();
});
afterAll(async () => {
  await server?.stop();
});

describeEngineConformance('redis', {
  create: async () => createRedisEngine({ redis: new Redis(server.url), quitOnClose: true }),
});
