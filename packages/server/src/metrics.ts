import type { BidDecision, OutbidHooks } from '@outbid/core';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/** The server's Prometheus metrics, in a registry of its own (several apps may share a process). */
export function createMetrics() {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'outbid_' });
  const bidLatency = new Histogram({
    name: 'outbid_bid_duration_seconds',
    help: 'Time to decide a bid (and record it when accepted), by outcome.',
    labelNames: ['status'] as const,
    buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1],
    registers: [registry],
  });
  const decisions = new Counter({ name: 'outbid_bid_decisions_total', help: 'Bid decisions by status and reason.', labelNames: ['status', 'reason'] as const, registers: [registry] });
  const replays = new Counter({ name: 'outbid_idempotent_replays_total', help: 'Bids answered from an idempotency record.', registers: [registry] });
  const endLateness = new Histogram({
    name: 'outbid_end_lateness_seconds',
    help: 'From the effective end to the auction being recorded as ended.',
    buckets: [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30],
    registers: [registry],
  });
  const repairs = new Counter({ name: 'outbid_engine_repairs_total', help: 'Engine copies rebuilt from the ledger, by cause.', labelNames: ['cause'] as const, registers: [registry] });
  const openStreams = new Gauge({ name: 'outbid_sse_open_streams', help: 'Open Server-Sent Events streams.', registers: [registry] });
  const channels = new Gauge({ name: 'outbid_sse_channels', help: 'Auction channels with at least one viewer.', registers: [registry] });
  const framesSent = new Gauge({ name: 'outbid_sse_frames_sent', help: 'SSE frames written since start.', registers: [registry] });
  const shed = new Gauge({ name: 'outbid_sse_shed_connections', help: 'Slow SSE connections closed since start.', registers: [registry] });
  const busLag = new Gauge({ name: 'outbid_bus_consumer_lag', help: 'Events not yet consumed by this instance, where the bus can tell.', registers: [registry] });
  const rateLimited = new Counter({ name: 'outbid_rate_limited_total', help: 'Bids refused by the per-user rate limit.', registers: [registry] });
  const automatic = new Counter({
    name: 'outbid_automatic_bids_total',
    help: "Changes the engine made on a bidder's behalf: kind=proxy (a counter-bid for a standing maximum), kind=buy_now (a purchase at Buy It Now).",
    labelNames: ['kind'] as const,
    registers: [registry],
  });
  // Shown from the start (0 until the first one), so a dashboard or an alert on them has a series to read.
  for (const kind of ['proxy', 'buy_now'] as const) automatic.inc({ kind }, 0);
  for (const reason of ['OUTBID_BY_PROXY', 'BUY_NOW_UNAVAILABLE'] as const) decisions.inc({ status: 'rejected', reason }, 0);

  const hooks: OutbidHooks = {
    onBidDecided(decision: BidDecision, info) {
      bidLatency.observe({ status: decision.status }, info.durationMs / 1_000);
      decisions.inc({ status: decision.status, reason: decision.reason ?? 'none' });
      if (info.replayed) replays.inc();
    },
    onAutomatic(kind) {
      automatic.inc({ kind });
    },
    onEnded(_state, latenessMs) {
      endLateness.observe(latenessMs / 1_000);
    },
    onRepair(_auctionId, cause) {
      repairs.inc({ cause: cause.split(':')[0] ?? cause });
    },
  };
  return { registry, hooks, openStreams, channels, framesSent, shed, busLag, rateLimited };
}
export type Metrics = ReturnType<typeof createMetrics>;
