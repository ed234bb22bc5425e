import type { BidRecord } from '../domain/bid.js';
import type { AuctionEvent } from '../domain/events.js';
import { uuidv7 } from '../ids.js';
import { createMemoryBus } from '../memory/bus.js';
import { createMemoryEngine } from '../memory/engine.js';
import { createMemoryLedger } from '../memory/ledger.js';
import { createMemoryScheduler } from '../memory/scheduler.js';
import type { Subscription } from '../ports/bus.js';
import { systemClock } from '../ports/clock.js';
import type { Ledger, LedgerChange } from '../ports/ledger.js';
import type { Outbid, OutbidOptions } from './api.js';
import { createBidDesk } from './bids.js';
import { createServiceContext } from './context.js';
import { createAuctionReads } from './reads.js';
import { createOutboxRelay, type OutboxRelay } from './relay.js';
import { createAuctionTransitions } from './transitions.js';
import { engineFailures, ledgerFailures } from './typed-failures.js';
import { createUpkeep } from './upkeep.js';

/**
 * Composes an engine, a ledger, a bus, a scheduler and a clock into the auction service.
 * With no options everything runs in memory.
 */
export function createOutbid(options: OutbidOptions = {}): Outbid {
  const clock = options.clock ?? systemClock;
  const engine = engineFailures(options.engine ?? createMemoryEngine({ clock }));
  const ledger = ledgerFailures(options.ledger ?? createMemoryLedger());
  const bus = options.bus ?? createMemoryBus();
  const scheduler = options.scheduler ?? createMemoryScheduler({ clock });
  const log = options.logger ?? { warn: () => {}, error: () => {} };
  const listeners = new Set<{ auctionId: string | undefined; fn: (e: AuctionEvent) => void }>();
  let closed = false;
  const deliver = (event: AuctionEvent) => {
    for (const l of listeners) if (l.auctionId === undefined || l.auctionId === event.auctionId) l.fn(event);
  };
  const outbox = options.outbox ?? true;
  if (!outbox && bus.name !== 'memory') {
    throw new TypeError(`outbox: false needs the memory bus: the ${bus.name} bus would never get this instance's events`);
  }
  const purger = options.purger;
  const purgeAndDeliver = (event: AuctionEvent) => {
    purger?.purge(event.auctionId);
    deliver(event);
  };
  const localDelivery = options.localDelivery ?? bus.name !== 'memory';

  const relay: OutboxRelay | null =
    options.relayPollMs === 0 || !outbox
      ? null
      : createOutboxRelay({
          ledger,
          bus,
          pollMs: options.relayPollMs ?? 250,
          // Memory bus with local delivery: this process's listeners already have the events, so the relay need not hurry.
          coalesceMs: options.relayCoalesceMs ?? (localDelivery && bus.name === 'memory' ? 50 : 10),
          onError: (error) => log.error({ err: error }, 'outbox relay pass failed'),
        });
  const ctx = createServiceContext({
    engine,
    ledger: outbox ? ledger : withoutOutbox(ledger),
    scheduler,
    newId: options.newId ?? (() => uuidv7()),
    persistTimeoutMs: options.persistTimeoutMs ?? 5_000,
    log,
    hooks: options.hooks ?? {},
    relay,
    // Without an outbox no bus copy follows, so the purge it would have caused happens here.
    deliverLocally: !outbox ? purgeAndDeliver : localDelivery ? deliver : null,
    isClosed: () => closed,
  });
  const { background, track } = ctx;

  const busSubscription: Promise<Subscription> = bus.subscribe(purgeAndDeliver);
  let subscribed = false;
  void busSubscription.then(
    () => (subscribed = true),
    () => undefined,
  );

  const bids = createBidDesk(ctx);
  const transitions = createAuctionTransitions(ctx);
  const reads = createAuctionReads(ctx, bids.flushAudit);
  const upkeep = createUpkeep(ctx, transitions.runDueJob);

  void scheduler.start(transitions.runDueJob);
  const reconcileTimer =
    (options.reconcileIntervalMs ?? 0) > 0
      ? setInterval(() => void track(upkeep.reconcile().catch((err: unknown) => log.error({ err }, 'reconciler pass failed'))), options.reconcileIntervalMs)
      : null;
  reconcileTimer?.unref?.();
  const guardIntervalMs = options.guardIntervalMs ?? 5_000;
  const guardTimer = guardIntervalMs > 0 ? setInterval(() => void track(upkeep.runGuard()), guardIntervalMs) : null;
  guardTimer?.unref?.();
  const outboxRetentionMs = options.outboxRetentionMs ?? 24 * 60 * 60_000;
  const pruneTimer =
    outboxRetentionMs > 0 && ledger.pruneOutbox
      ? setInterval(
          () => void track(upkeep.pruneOutbox(outboxRetentionMs).catch((err: unknown) => log.error({ err }, 'outbox prune failed'))),
          Math.min(60_000, Math.max(1_000, outboxRetentionMs)),
        )
      : null;
  pruneTimer?.unref?.();

  return {
    engine,
    ledger,
    bus,
    scheduler,
    clock,
    ...transitions,
    ...reads,
    placeBid: bids.placeBid,
    ...upkeep,
    subscribe(listener, filter = {}) {
      const entry = { auctionId: filter.auctionId, fn: listener };
      listeners.add(entry);
      return () => listeners.delete(entry);
    },
    now: () => engine.now(),
    async ready() {
      await busSubscription;
    },
    waitingFor: () => (subscribed ? [] : [`bus subscription outbid-fanout (${bus.name})`]),
    async idle() {
      await bids.flushAudit();
      for (let i = 0; i < 10; i++) {
        if (scheduler.idle) await scheduler.idle();
        await Promise.all([...background]);
        if (relay) await relay.drain();
        if (bus.idle) await bus.idle();
        if (background.size === 0) break;
      }
    },
    async close() {
      if (closed) return;
      closed = true;
      if (guardTimer) clearInterval(guardTimer);
      if (pruneTimer) clearInterval(pruneTimer);
      if (reconcileTimer) clearInterval(reconcileTimer);
      await bids.flushAudit();
      await Promise.all([...background]);
      await scheduler.close();
      if (relay) {
        await relay.drain();
        await relay.close();
      }
      await (await busSubscription).close();
      await purger?.close();
      await Promise.allSettled([engine.close(), bus.close(), ledger.close()]);
    },
  };
}

/** The ledger as the service writes it when `outbox` is off: every write without its events (no outbox rows). */
function withoutOutbox(ledger: Ledger): Ledger {
  const bare = (change: LedgerChange): LedgerChange => (change.events.length === 0 ? change : { ...change, events: [] });
  const applyChanges = ledger.applyChanges?.bind(ledger);
  const applyChangesAndAudit = ledger.applyChangesAndAudit?.bind(ledger);
  // Every member that writes a change, or a change would reach the outbox through the one left out.
  const writes: Partial<Ledger> = {
    applyChange: (change) => ledger.applyChange(bare(change)),
    createAuction: (state) => ledger.createAuction(state, []),
    ...(applyChanges ? { applyChanges: (changes: LedgerChange[]) => applyChanges(changes.map(bare)) } : {}),
    ...(applyChangesAndAudit ? { applyChangesAndAudit: (changes: LedgerChange[], audit: BidRecord[]) => applyChangesAndAudit(changes.map(bare), audit) } : {}),
  };
  return new Proxy(ledger, { get: (target, property, receiver) => (Object.hasOwn(writes, property) ? writes[property as keyof Ledger] : Reflect.get(target, property, receiver)) });
}
