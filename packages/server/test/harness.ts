import { createOutbid, type Outbid, type OutbidOptions } from '@outbid/core';
import { createApp, createMetrics, issueDevToken, type AppOptions, type OutbidApp, type Role } from '../src/index.js';

export const SECRET = 'test-secret-that-is-at-least-32-characters-long';

export interface Harness {
  app: OutbidApp;
  outbid: Outbid;
  token(userId: string, ...roles: Role[]): Promise<string>;
  /** app.request with JSON and a bearer token. */
  call(method: string, path: string, init?: { token?: string; body?: unknown; headers?: Record<string, string> }): Promise<Response>;
  createAuction(patch?: Record<string, unknown>, creator?: string): Promise<{ auctionId: string; [k: string]: unknown }>;
  close(): Promise<void>;
}

export function harness(appOptions: Partial<AppOptions> = {}, outbidOptions: OutbidOptions = {}): Harness {
  const metrics = createMetrics();
  const outbid = createOutbid({ guardIntervalMs: 0, hooks: metrics.hooks, ...outbidOptions });
  // Per-user stream and creation limits are lifted: tests open thousands of streams as one viewer and create many
  // auctions as one creator (hardening.test.ts sets them to test the limits themselves).
  const app = createApp(outbid, {
    auth: { mode: 'jwt', secret: SECRET },
    realtime: { tickMs: 0, heartbeatMs: 0, flushMs: 0 },
    metrics,
    maxStreamsPerUser: 1e9,
    createRateLimit: { ratePerSecond: 1e9, burst: 1e9 },
    ...appOptions,
  });
  const token = (userId: string, ...roles: Role[]) => issueDevToken(SECRET, userId, roles);
  const call: Harness['call'] = async (method, path, init = {}) => {
    const headers: Record<string, string> = { ...init.headers };
    if (init.token) headers.authorization = `Bearer ${init.token}`;
    let body: string | undefined;
    if (init.body !== undefined) {
      body = typeof init.body === 'string' ? init.body : JSON.stringify(init.body);
      headers['content-type'] ??= 'application/json';
    }
    return app.request(path, { method, headers, ...(body !== undefined ? { body } : {}) });
  };
  return {
    app,
    outbid,
    token,
    call,
    async createAuction(patch = {}, creator = 'seller') {
      const now = Date.now();
      const res = await call('POST', '/auctions', {
        token: await token(creator, 'creator'),
        body: {
          postId: `post-${Math.random().toString(36).slice(2)}`,
          startAt: new Date(now - 1_000).toISOString(),
          endAt: new Date(now + 600_000).toISOString(),
          startPrice: 1_000,
          minIncrement: 100,
          ...patch,
        },
      });
      if (res.status !== 201) throw new Error(`create failed: ${res.status} ${await res.text()}`);
      return (await res.json()) as { auctionId: string };
    },
    async close() {
      await app.gateway.close();
      await outbid.close();
    },
  };
}
