import type { ApplyResult, Ledger, LedgerChange } from '../ports/ledger.js';

export interface WriteBatcherOptions {
  /** Changes per transaction at most. Default 200. */
  maxBatch?: number;
  /** Batches being written at once; more changes wait and go into the next one. Default 4. */
  maxInFlight?: number;
  /**
   * While a batch is being written, another starts only once this many changes wait; fewer wait for the
   * write under way (group commit: one commit for many instead of many commits of one). Default 16.
   */
  busyBatch?: number;
}

/**
 * Group commit over `Ledger.applyChanges`: changes submitted while earlier batches are being written are
 * collected and written together, so the commit rate stops being the ceiling on a burst. A ledger without
 * `applyChanges` gets every change written on its own.
 */
export function createWriteBatcher(ledger: Ledger, options: WriteBatcherOptions = {}): (change: LedgerChange) => Promise<ApplyResult> {
  const applyChanges = ledger.applyChanges?.bind(ledger);
  if (!applyChanges) return (change) => ledger.applyChange(change);
  const maxBatch = options.maxBatch ?? 200;
  const maxInFlight = options.maxInFlight ?? 4;
  const busyBatch = options.busyBatch ?? 16;
  type Pending = { change: LedgerChange; resolve(result: ApplyResult): void; reject(error: unknown): void };
  let queue: Pending[] = [];
  let inFlight = 0;
  let flushScheduled = false;

  const flush = async () => {
    flushScheduled = false;
    if (queue.length === 0 || inFlight >= maxInFlight || (inFlight > 0 && queue.length < busyBatch)) return;
    // One change per auction per batch (the ledger fences each against its row as it was before the batch).
    const batch: Pending[] = [];
    const rest: Pending[] = [];
    const ids = new Set<string>();
    for (const item of queue) {
      if (batch.length < maxBatch && !ids.has(item.change.state.id)) {
        ids.add(item.change.state.id);
        batch.push(item);
      } else rest.push(item);
    }
    queue = rest;
    inFlight++;
    try {
      const results = await applyChanges(batch.map((p) => p.change));
      batch.forEach((p, i) => p.resolve(results[i]!));
    } catch (error) {
      for (const p of batch) p.reject(error);
    } finally {
      inFlight--;
      if (queue.length > 0) scheduleFlush();
    }
  };

  const scheduleFlush = () => {
    if (flushScheduled) return;
    flushScheduled = true;
    // After the current I/O callbacks: every change that became ready in this turn joins the batch.
    setImmediate(() => void flush());
  };

  return (change) =>
    new Promise<ApplyResult>((resolve, reject) => {
      queue.push({ change, resolve, reject });
      scheduleFlush();
    });
}
