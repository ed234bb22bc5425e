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
  /**
   * How many of the auctions each engine decided most recently are remembered, to drop their copies from the other
   * engine when it takes over. Older ones are not dropped; the ledger's fence catches a stale copy instead, at the
   * cost of one rebuild. Default 100,000: a long-running process does not grow with every auction it ever saw.
   */
  rememberAuctionsMax?: number;
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
 * other is caught (`conflict`) and rebuilt before it can accept against stale state. To avoid that round trip, the
 * auctions one engine decided most recently (`rememberAuctionsMax`) are dropped from the other when it takes over.
 */
export function createFailoverEngine(options: FailoverEngineOptions): FailoverEngine {
  const { primary, fallback } = options;
  const probeIntervalMs = options.probeIntervalMs ?? 1_000;
  let onFallback = false;
  let probe: ReturnType<typeof setInterval> | null = null;
  let closed = false;
  /** Auctions the fallback decided while the primary was down: stale on the primary when it returns. */
  const touchedOnFallback = new Set<string>();
  const touchedOnPrimary = new Set<string>();
  const rememberMax = options.rememberAuctionsMax ?? 100_000;
  if (!Number.isSafeInteger(rememberMax) || rememberMax < 0) throw new RangeError('rememberAuctionsMax is a whole number, 0 or more');
  /** Marks `id` as just decided by one engine, keeping the most recent `rememberMax` (insertion order is recency). */
  const touch = (ids: Set<string>, id: string) => {
    ids.delete(id);
    ids.add(id);
    if (ids.size > rememberMax) ids.delete(ids.values().next().value!);
  };

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
    switching = forget(fallback, touchedOnPrimary);
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
        if (auctionId !== null) touch(touchedOnPrimary, auctionId);
        return result;
      } catch (error) {
        if (!isOutage(error)) throw error;
        switchToFallback(error);
      }
    }
    await switching;
    if (auctionId !== null) touch(touchedOnFallback, auctionId);
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
