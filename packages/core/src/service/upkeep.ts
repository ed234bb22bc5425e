import { isDeepStrictEqual } from 'node:util';
import type { AuctionState, AuctionStatus } from '../domain/auction.js';
import type { EventBus, Subscription } from '../ports/bus.js';
import type { BidEngine } from '../ports/engine.js';
import type { Ledger } from '../ports/ledger.js';
import type { JobOutcome, ScheduledJob } from '../ports/scheduler.js';
import type { ServiceContext } from './context.js';

const GUARD_CONCURRENCY = 32;

export interface Upkeep {
  /** One pass of the database guard: finalises every overdue auction. Returns how many it changed. */
  runGuard(): Promise<number>;
  /** Deletes outbox entries published more than `retentionMs` ago, a bounded number per call. Returns how many. */
  pruneOutbox(retentionMs: number): Promise<number>;
  /** One reconciler pass (all open auctions, or the given ones). Returns the ids it repaired. */
  reconcile(auctionIds?: string[]): Promise<string[]>;
  /** Arms the scheduler for every open auction in the ledger. Returns how many jobs it armed. */
  rearmScheduler(): Promise<number>;
}

/** Visits every auction of the given statuses in the ledger, page after page, until `stop` says so. */
async function forEachAuction(
  ledger: Ledger,
  statuses: readonly AuctionStatus[],
  visit: (state: AuctionState) => Promise<void>,
  stop: () => boolean = () => false,
): Promise<void> {
  for (const status of statuses) {
    let cursor: string | undefined;
    do {
      const page = await ledger.listAuctions({ status, limit: 200, ...(cursor ? { cursor } : {}) });
      for (const state of page.items) await visit(state);
      cursor = page.nextCursor ?? undefined;
    } while (cursor && !stop());
  }
}

/**
 * What keeps the engine, the ledger and the scheduler in agreement when messages are lost or processes die:
 * the database guard (overdue starts and ends), the reconciler (engine copies that differ from the ledger)
 * and re-arming the scheduler after a restart.
 */
export function createUpkeep(ctx: ServiceContext, runDueJob: (job: ScheduledJob) => Promise<JobOutcome>): Upkeep {
  const { engine, ledger, scheduler, log, persistTimeoutMs } = ctx;

  const runGuard = async (): Promise<number> => {
    if (ctx.isClosed()) return 0;
    if (ledger.withGuardLock) return (await ledger.withGuardLock(guardPass)) ?? 0;
    return guardPass();
  };

  /** One guard pass: every overdue start or end, page after page, a bounded number at a time. */
  const guardPass = async (): Promise<number> => {
    let changed = 0;
    const seen = new Set<string>();
    for (let page = 0; page < 1_000 && !ctx.isClosed(); page++) {
      const now = await engine.now();
      const due = (await ledger.findDue(now, 500)).filter((s) => !seen.has(s.id));
      if (due.length === 0) break;
      let next = 0;
      const worker = async () => {
        while (next < due.length) {
          const state = due[next++]!;
          seen.add(state.id);
          const kind = state.status === 'scheduled' && state.startAt <= now && now < state.effectiveEndAt ? 'start' : 'end';
          try {
            const result = await runDueJob({ auctionId: state.id, kind, at: kind === 'start' ? state.startAt : state.effectiveEndAt });
            if (result.kind === 'done') changed++;
          } catch (error) {
            log.error({ err: error, auctionId: state.id }, 'guard could not finalise auction');
          }
        }
      };
      await Promise.all(Array.from({ length: GUARD_CONCURRENCY }, worker));
    }
    return changed;
  };

  /** Engine copies seen ahead of the ledger: id → [engine version, first seen (ms)]. */
  const aheadSince = new Map<string, [number, number]>();

  /** Compares one auction's engine copy with the ledger; rebuilds it when they differ. True when repaired. */
  const reconcileOne = async (durable: AuctionState): Promise<boolean> => {
    const hot = await engine.getState(durable.id);
    if (!hot) return false; // not loaded: the next call hydrates it
    if (hot.version > durable.version) {
      const seen = aheadSince.get(durable.id);
      if (!seen || seen[0] !== hot.version) {
        aheadSince.set(durable.id, [hot.version, Date.now()]);
        return false;
      }
      if (Date.now() - seen[1] < persistTimeoutMs) return false;
    } else if (hot.version === durable.version && isDeepStrictEqual(hot, durable)) {
      aheadSince.delete(durable.id);
      return false;
    }
    aheadSince.delete(durable.id);
    await ctx.rehydrate(durable.id, `reconciler: engine v${hot.version}, ledger v${durable.version}`);
    return true;
  };

  const reconcile = async (auctionIds?: string[]): Promise<string[]> => {
    const repaired: string[] = [];
    if (auctionIds) {
      for (const id of auctionIds) {
        const durable = await ledger.getAuction(id);
        if (durable && (await reconcileOne(durable))) repaired.push(id);
      }
      return repaired;
    }
    const visit = async (durable: AuctionState) => {
      if (await reconcileOne(durable)) repaired.push(durable.id);
    };
    await forEachAuction(ledger, ['active', 'scheduled'], visit, ctx.isClosed);
    return repaired;
  };

  const rearmScheduler = async (): Promise<number> => {
    let armed = 0;
    await forEachAuction(ledger, ['scheduled', 'active'], async (state) => {
      if (state.status === 'scheduled') {
        await scheduler.arm({ auctionId: state.id, kind: 'start', at: state.startAt });
        armed++;
      }
      await scheduler.arm({ auctionId: state.id, kind: 'end', at: state.effectiveEndAt });
      armed++;
    });
    return armed;
  };

  const PRUNE_BATCH = 1_000;
  const pruneOutbox = async (retentionMs: number): Promise<number> => {
    if (!ledger.pruneOutbox || !(retentionMs >= 0)) return 0;
    // The ledger stamps `published` with its process clock (Date.now()), so the cutoff is taken on the same kind.
    const publishedBefore = Date.now() - retentionMs;
    let pruned = 0;
    for (let batch = 0; batch < 100 && !ctx.isClosed(); batch++) {
      const n = await ledger.pruneOutbox(publishedBefore, PRUNE_BATCH);
      pruned += n;
      if (n < PRUNE_BATCH) break;
    }
    return pruned;
  };

  return { runGuard, reconcile, rearmScheduler, pruneOutbox };
}

/**
 * The engine updater: one shared bus group across instances. An event newer than the engine's copy (decided
 * elsewhere, e.g. by the Postgres fallback) rebuilds that copy from the ledger before it decides again.
 */
export function startEngineUpdater(outbid: {
  readonly bus: EventBus;
  readonly engine: BidEngine;
  reconcile(auctionIds: string[]): Promise<string[]>;
}): Promise<Subscription> {
  return outbid.bus.subscribe(
    async (event) => {
      const hot = await outbid.engine.getState(event.auctionId);
      if (hot && hot.version < event.version) await outbid.reconcile([event.auctionId]);
    },
    { group: 'outbid-engine-updater' },
  );
}
