import { OutbidError } from '../errors.js';
import { ENGINE_SPECIFICATION_VERSION, type BidEngine } from '../ports/engine.js';

export interface FailoverEngineOptions {
  /** The fast engine (Redis). */
  primary: BidEngine;
  /** Decides while the primary is unreachable (Postgres). */
  fallback: BidEngine;
  /** How often to probe a failed primary. Default 1 s. */
  probeIntervalMs?: number;
  /** Called when the engine in charge changes. */
  onSwitch?: (active: 'primary' | 'fallback', cause?: unknown) => void;
}

export interface FailoverEngine extends BidEngine {
  /** Which engine decides now. */
  active(): 'primary' | 'fallback';
}

/**
 * Decides with `primary` and, while it fails (connection refused, timeout: anything that is not an OutbidError),
 * with `fallback`; probes the primary and returns to it when it answers. A read (`now`, `getState`) is asked twice
 * before the primary is given up, so one timeout after a frozen process does not switch. Safe because neither
 * engine is the record: every accept is fenced against the ledger, so an engine that missed decisions made by the
 * other is caught (`conflict`) and rebuilt before it can accept against stale state. A refusal is not fenced, so
 * copies that may be stale are dropped when the other engine takes over: from the primary, the auctions the fallback
 * decided during the outage; from the fallback, every auction it decided in this process (it holds no others from
 * this process, and its copies from before are its own to check: the Postgres engine compares each with the
 * ledger's version). Neither list grows while the primary decides.
 */
export function createFailoverEngine(options: FailoverEngineOptions): FailoverEngine {
  const { primary, fallback } = options;
  const probeIntervalMs = options.probeIntervalMs ?? 1_000;
  let onFallback = false;
  let probe: ReturnType<typeof setInterval> | null = null;
  let closed = false;
  /** Auctions the fallback decided during this outage: stale on the primary when it returns. */
  const touchedOnFallback = new Set<string>();
  /**
   * Auctions the fallback decided in this process and still holds: stale there once the primary has decided them
   * again, so dropped when the fallback next takes over. (Tracking what the primary decides instead would grow with
   * every auction the process ever saw.)
   */
  const heldByFallback = new Set<string>();

  const isOutage = (error: unknown) => !OutbidError.isInstance(error);

  /** Drops what `engine` may hold stale (auctions the other engine decided), before it decides again. */
  const forget = async (engine: BidEngine, ids: Set<string>) => {
    const list = [...ids];
    ids.clear();
    await Promise.allSettled(list.map((id) => engine.drop(id)));
  };
  let switching: Promise<void> = Promise.resolve();

  const switchToFallback = (cause: unknown) => {
    if (onFallback || closed) return;
    onFallback = true;
    options.onSwitch?.('fallback', cause);
    switching = forget(fallback, heldByFallback);
    probe = setInterval(() => void tryPrimary(), probeIntervalMs);
    probe.unref?.();
  };

  const tryPrimary = async () => {
    try {
      await primary.now();
      await forget(primary, touchedOnFallback); // a Redis that comes back may hold copies older than the ledger
      if (probe) clearInterval(probe);
      probe = null;
      onFallback = false;
      options.onSwitch?.('primary');
    } catch {
      // still down
    }
  };

  /**
   * `retryRead`: a read (the clock, a state) that fails is asked once more before the primary is given up. A
   * command timeout is also what a process frozen for longer than the timeout sees on waking (a stop signal, a VM
   * pause): its timers run before it reads the replies already waiting. Switching then is not free: every auction
   * the fallback decides is rebuilt on the way back. A write is not repeated: its outcome is unknown.
   */
  const route = async <T>(auctionId: string | null, call: (engine: BidEngine) => Promise<T>, retryRead = false): Promise<T> => {
    if (!onFallback) {
      try {
        const result = await call(primary).catch((error: unknown) => (retryRead && isOutage(error) ? call(primary) : Promise.reject(error)));
        return result;
      } catch (error) {
        if (!isOutage(error)) throw error;
        switchToFallback(error);
      }
    }
    await switching;
    if (auctionId !== null) {
      touchedOnFallback.add(auctionId);
      heldByFallback.add(auctionId);
    }
    return call(fallback);
  };

  return {
    specificationVersion: ENGINE_SPECIFICATION_VERSION,
    name: `failover(${primary.name}→${fallback.name})`,
    active: () => (onFallback ? 'fallback' : 'primary'),
    placeBid: (cmd) => route(cmd.auctionId, (e) => e.placeBid(cmd)),
    start: (id, mode) => route(id, (e) => e.start(id, mode)),
    end: (id, mode) => route(id, (e) => e.end(id, mode)),
    cancel: (id) => route(id, (e) => e.cancel(id)),
    getState: (id) => route(null, (e) => e.getState(id), true),
    hydrate: (state, records) => route(state.id, (e) => e.hydrate(state, records)),
    async drop(id) {
      // Both copies go: whichever decides next must start from the ledger.
      await Promise.allSettled([primary.drop(id), fallback.drop(id)]);
    },
    now: () => route(null, (e) => e.now(), true),
    async close() {
      closed = true;
      if (probe) clearInterval(probe);
      await Promise.allSettled([primary.close(), fallback.close()]);
    },
  };
}
