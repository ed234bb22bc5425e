import { startRedis, type RedisServer } from '@outbid/test-services';
import { Redis } from 'ioredis';
import { afterAll, beforeAll } from 'vitest';

/** A Redis for this test file: started before its tests, stopped after; the clients it hands out are disconnected. */
export function useRedisServer() {
  let server: RedisServer;
  const clients: Redis[] = [];
  beforeAll(async () => {
    server = await startRedis();
  });
  afterAll(async () => {
    for (const c of clients) c.disconnect();
    await server?.stop();
  });
  return {
    get url() {
      return server.url;
    },
    get port() {
      return server.port;
    },
    client() {
      const c = new Redis(server.url);
      clients.push(c);
      return c;
    },
  };
}
