import { idSchema, type BidTiming, type Outbid, type PlaceBidResponse, type RateLimiter } from '@outbid/core';
import { Hono, type Context } from 'hono';
import { authenticate, issueDevToken, requireRole, requireUser, type AuthEnv, type AuthOptions, type Role, type User } from './auth.js';
import { createMetrics, type Metrics } from './metrics.js';
import { mountDemo } from './demo.js';
import { idempotencyKey } from './middleware/idempotency-key.js';
import { jsonBody, optionalJsonBody, parse, readJson } from './middleware/json-body.js';
import { bodyLimit } from './middleware/body-limit.js';
import { createMemoryRateLimiter } from './middleware/memory-rate-limiter.js';
import { rateLimit } from './middleware/rate-limit.js';
import { mountDocs } from './docs.js';
import { buildOpenApi } from './openapi.js';
import { HttpProblem, problemResponse, toProblem } from './problem.js';
import { createRealtimeGateway, type RealtimeGateway, type RealtimeOptions } from './realtime/index.js';
import { sseHandoff } from './realtime/handoff.js';
import { nodeHttp1 } from './node-http.js';
import { createStreamLimiter, metricsGuard, outbidCors, outbidSecureHeaders, securedResponse } from './middleware/security.js';
import { buyNowBody, createAuctionBody, createAuctionInput, devTokenBody, listAuctionsQuery, listBidsQuery, listBidsRequest, placeBidBody } from './schemas.js';
import { auctionBody, bidBody, bidItem } from './views.js';

export interface AppLogger {
  error(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
}

export interface AppOptions {
  /** What start-up still waits for (e.g. a bus subscription joining); /readyz answers 503 until it is empty. */
  startup?: () => string[];
  /**
   * How callers are authenticated. Required: there is no default, so an app never runs open by accident
   * (`{ mode: 'dev', secret }` serves POST /dev/token for local development).
   */
  auth: AuthOptions;
  /** Let requests without a token read auctions, bids and streams. Default false. */
  anonymousReads?: boolean;
  /** Per-user bid rate limit. Default 10/s sustained, bursts of 20, in this process. */
  bidRateLimit?: { ratePerSecond: number; burst: number };
  /** A limiter shared by all instances (e.g. `createRedisRateLimiter`): resolves 0 or the ms to wait. Overrides bidRateLimit. */
  sharedRateLimiter?: RateLimiter;
  /** The SSE gateway, or options for one the app creates. */
  realtime?: RealtimeGateway | RealtimeOptions;
  /** Pass the same metrics whose `hooks` you gave `createOutbid`, so bid and end metrics are filled. */
  metrics?: Metrics;
  /** Request bodies larger than this are refused with 413. Default 16 KiB. */
  bodyLimitBytes?: number;
  logger?: AppLogger;
  /** A built demo page to serve at `/` (see examples/live-auction). Without it, `/` redirects to the API docs. */
  demoDir?: string | null;
  /** Open SSE streams one user (or, for anonymous reads, one client address) may hold. Default 16; more → 429. */
  maxStreamsPerUser?: number;
  /** Per-user limit on creating auctions. Default 1 a second sustained, bursts of 20. */
  createRateLimit?: { ratePerSecond: number; burst: number };
  /** Origins allowed to call the API from a browser (CORS). Default none: same-origin only. */
  corsOrigins?: readonly string[];
  /** When set, `/metrics` needs `Authorization: Bearer <metricsToken>`. */
  metricsToken?: string;
  /**
   * Bid answers carry a `Server-Timing` header: `engine` (the wait for the engine's decision), `ledger` (the wait
   * for the ledger to hold the answer) and `bid` (the whole service call), in ms. Default false: it tells every
   * caller how long the server's parts took.
   */
  serverTiming?: boolean;
}

export interface OutbidApp extends Hono<AuthEnv> {
  /** The SSE gateway the app streams through (closed by the server on shutdown). */
  readonly gateway: RealtimeGateway;
  readonly metrics: Metrics;
}

/** A bid's timing as a `Server-Timing` field value (W3C Server Timing), durations in ms. */
function serverTimingOf(timing: BidTiming): string {
  return `engine;dur=${timing.engineMs.toFixed(2)}, ledger;dur=${timing.ledgerMs.toFixed(2)}, bid;dur=${timing.totalMs.toFixed(2)}`;
}

/**
 * The Outbid HTTP API on Hono: thin routes (validation → one service call → response). Mount it in your own
 * Hono or Node app, or let `startServer` serve it.
 */
export function createApp(outbid: Outbid, options: AppOptions): OutbidApp {
  const auth = options?.auth;
  if (!auth) {
    throw new Error(
      "createApp: options.auth is required: { mode: 'jwt', secret | jwksUrl }, { mode: 'gateway', gatewaySecret }, or { mode: 'dev', secret } for local development only.",
    );
  }
  const metrics = options.metrics ?? createMetrics();
  const gateway =
    options.realtime && 'stream' in options.realtime
      ? options.realtime
      : createRealtimeGateway(outbid, (options.realtime as RealtimeOptions | undefined) ?? {});
  const bidLimiter =
    options.sharedRateLimiter ??
    createMemoryRateLimiter({ ratePerSecond: options.bidRateLimit?.ratePerSecond ?? 10, burst: options.bidRateLimit?.burst ?? 20 });
  const log = options.logger ?? { error: () => {}, warn: () => {} };
  const createLimiter = createMemoryRateLimiter({ ratePerSecond: options.createRateLimit?.ratePerSecond ?? 1, burst: options.createRateLimit?.burst ?? 20 });
  const devTokenLimiter = createMemoryRateLimiter({ ratePerSecond: 5, burst: 20 });
  const streams = createStreamLimiter(options.maxStreamsPerUser ?? 16);
  const clientAddress = (c: Context) => (c.env as { incoming?: { socket?: { remoteAddress?: string } } } | undefined)?.incoming?.socket?.remoteAddress ?? 'unknown';
  const reader = (c: { get(key: 'user'): User | null }) => (options.anonymousReads ? c.get('user') : requireUser(c, []));
  const managed = (action: 'startAuction' | 'endAuction' | 'cancelAuction') => async (c: Context<AuthEnv>) => {
    const user = requireUser(c, ['creator']);
    return c.json(auctionBody(await outbid[action](c.req.param('id')!, user.id)));
  };

  const app = new Hono<AuthEnv>();
  app.onError((error, c) => toProblem(c, error, (e) => log.error({ err: e, path: c.req.path }, 'unexpected error')));
  // Outermost, so a stream's head carries the headers every other middleware set before its body is written
  // straight to Node's ServerResponse (see the stream route).
  app.use(sseHandoff());
  app.notFound((c) => problemResponse(c, 404, 'ROUTE_NOT_FOUND', `No route for ${c.req.method} ${c.req.path}.`));
  app.use(outbidSecureHeaders());
  const corsMiddleware = outbidCors(options.corsOrigins ?? []);
  if (corsMiddleware) app.use(corsMiddleware);
  app.use(
    bodyLimit({
      maxSize: options.bodyLimitBytes ?? 16 * 1024,
      onError: (c) => {
        // The rest of the body is never read, so this connection cannot carry another request: say so, or a
        // pooling client sends its next request down a socket that is about to close.
        c.header('connection', 'close');
        return problemResponse(c, 413, 'BODY_TOO_LARGE', `Request bodies are limited to ${options.bodyLimitBytes ?? 16 * 1024} bytes.`);
      },
    }),
  );
  // Every id in a path is checked before it reaches a service: a NUL or an unpaired surrogate is a 400, not a 503.
  app.use('/auctions/:id/*', async (c, next) => {
    parse(idSchema, c.req.param('id'));
    return next();
  });
  app.use('/auctions/:id', async (c, next) => {
    parse(idSchema, c.req.param('id'));
    return next();
  });

  app.get('/healthz', (c) => c.json({ status: 'ok' }));
  app.get('/readyz', async (c) => {
    const waitingFor = options.startup?.() ?? [];
    if (waitingFor.length > 0) {
      // Same shape as the 200 answer ({ status }), so a probe or an operator reads why at a glance.
      return c.json({ status: 'starting', waitingFor }, 503, { 'cache-control': 'no-store' });
    }
    try {
      await Promise.all([outbid.ledger.ping(), outbid.now()]);
      return c.json({ status: 'ready', engine: outbid.engine.name, ledger: outbid.ledger.name, bus: outbid.bus.name, scheduler: outbid.scheduler.name });
    } catch {
      return problemResponse(c, 503, 'NOT_READY', 'A dependency (engine or ledger) is not reachable.');
    }
  });
  app.get('/metrics', metricsGuard(options.metricsToken), async (c) => {
    const s = gateway.stats();
    metrics.openStreams.set(s.openStreams);
    metrics.channels.set(s.channels);
    metrics.framesSent.set(s.framesSent);
    metrics.shed.set(s.shedConnections);
    if (outbid.bus.lag) metrics.busLag.set(await outbid.bus.lag().catch(() => -1));
    return c.body(await metrics.registry.metrics(), 200, { 'content-type': metrics.registry.contentType });
  });
  app.get('/openapi.json', (c) => c.json(buildOpenApi()));
  mountDocs(app);
  if (options.demoDir) mountDemo(app, options.demoDir);
  else app.get('/', (c) => c.redirect('/docs'));

  if (auth.mode === 'dev') {
    app.post('/dev/token', rateLimit({ limiter: devTokenLimiter, keyOf: clientAddress, what: 'token requests' }), async (c) => {
      const body = parse(devTokenBody, await readJson(c));
      return c.json({ token: await issueDevToken(auth.secret, body.userId, body.roles as Role[]) });
    });
  }

  app.use('/auctions/*', authenticate(auth));
  app.use('/auctions', authenticate(auth));

  app.post('/auctions', requireRole('creator'), rateLimit({ limiter: createLimiter, keyOf: (c) => requireUser(c).id, what: 'auctions created' }), async (c) => {
    const user = requireUser(c, ['creator']);
    const body = parse(createAuctionBody, await readJson(c));
    const auction = await outbid.createAuction(user.id, createAuctionInput(body));
    return c.json({ auctionId: auction.id, ...auctionBody(auction) }, 201, { location: `/auctions/${auction.id}` });
  });

  app.get('/auctions', async (c) => {
    reader(c);
    const q = parse(listAuctionsQuery, c.req.query());
    const page = await outbid.listAuctions(q);
    return c.json({ items: page.items.map(auctionBody), nextCursor: page.nextCursor });
  });

  app.get('/auctions/:id', async (c) => {
    reader(c);
    const auction = await outbid.getAuction(c.req.param('id'));
    // Weak: serverTime differs between two reads of the same version.
    const etag = `W/"${auction.version}"`;
    // A shared cache may keep a read only when anyone may read it; with tokens, each answer is the caller's own.
    const headers = { etag, vary: 'authorization', 'cache-control': options.anonymousReads ? 'public, max-age=1, stale-while-revalidate=5' : 'private, max-age=1' };
    const match = c.req.header('if-none-match');
    if (match && match.split(',').some((t) => t.trim() === etag || t.trim() === '*')) return c.body(null, 304, headers);
    return c.json(auctionBody(auction), 200, headers);
  });

  app.post('/auctions/:id/start', managed('startAuction'));
  app.post('/auctions/:id/end', managed('endAuction'));
  app.post('/auctions/:id/cancel', managed('cancelAuction'));

  /** A bid's (or a purchase's) answer: 201 accepted, 409 rejected or late; built from the decision only, so a replay is byte-identical. */
  const bidAnswer = (c: Context, { decision, replayed, timing }: PlaceBidResponse) => {
    const headers: Record<string, string> = replayed ? { 'idempotent-replayed': 'true' } : {};
    if (options.serverTiming) headers['server-timing'] = serverTimingOf(timing);
    if (decision.reason === 'IDEMPOTENCY_KEY_REUSED') {
      throw new HttpProblem(422, 'IDEMPOTENCY_KEY_REUSED', 'This Idempotency-Key was used with a different request body.');
    }
    if (decision.status === 'invalid') {
      throw new HttpProblem(422, decision.reason ?? 'INVALID_AMOUNT', 'Amounts must be whole numbers of minor units from 1 to 10^15; a bid above the minimum next bid must leave room for an answer (at most 10^15 less the increment at that amount).');
    }
    const body = JSON.stringify(bidBody(decision));
    const status = decision.status === 'accepted' ? 201 : 409;
    headers['content-type'] = 'application/json';
    headers['cache-control'] = 'no-store';
    return securedResponse(body, status, headers) ?? c.body(body, status, headers);
  };
  const bidRateLimit = rateLimit({ limiter: bidLimiter, keyOf: (c) => requireUser(c).id, onLimited: () => metrics.rateLimited.inc() });

  app.post('/auctions/:id/bids', requireRole('bidder'), idempotencyKey(), jsonBody(placeBidBody), bidRateLimit, async (c) => {
    const user = requireUser(c);
    const { amount, maxAmount } = c.get('body');
    const response = await outbid.placeBid({
      auctionId: c.req.param('id'),
      bidderId: user.id,
      ...(amount !== undefined ? { amount } : {}),
      ...(maxAmount !== undefined ? { maxAmount } : {}),
      idempotencyKey: c.get('idempotencyKey'),
    });
    return bidAnswer(c, response);
  });

  // Buy It Now: one decision in the engine like a bid (it races bids atomically); same key rules, same limit.
  app.post('/auctions/:id/buy-now', requireRole('bidder'), idempotencyKey(), optionalJsonBody(buyNowBody), bidRateLimit, async (c) => {
    const user = requireUser(c);
    return bidAnswer(c, await outbid.placeBid({ auctionId: c.req.param('id'), bidderId: user.id, buyNow: true, idempotencyKey: c.get('idempotencyKey') }));
  });

  app.get('/auctions/:id/bids', async (c) => {
    const user = reader(c);
    const q = parse(listBidsQuery, c.req.query());
    const page = await outbid.listBids(c.req.param('id'), listBidsRequest(q, user ? user.id : null));
    return c.json({ items: page.items.map(bidItem), nextCursor: page.nextCursor });
  });

  app.get('/auctions/:id/stream', async (c) => {
    const user = reader(c);
    const release = streams.acquire(user ? `user:${user.id}` : `address:${clientAddress(c)}`);
    const auctionId = c.req.param('id');
    const lastEventId = c.req.header('last-event-id') ?? c.req.query('lastEventId') ?? null;
    // On Node, frames go straight to the ServerResponse. `c.req.raw.signal` is not touched there: reading it makes
    // @hono/node-server build a whole Request and AbortController per viewer.
    const node = nodeHttp1(c.env);
    if (node) return gateway.stream({ auctionId, lastEventId, outgoing: node.outgoing, onClose: release });
    return gateway.stream({ auctionId, lastEventId, signal: c.req.raw.signal, onClose: release });
  });

  return Object.assign(app, { gateway, metrics }) as OutbidApp;
}
