import type { ApplyResult, Ledger, LedgerChange } from '../ports/ledger.js';
import { createFencedWrite } from './fence.js';

export interface GroupCommitOptions {
  /** Changes per transaction at most. Default 256. */
  maxBatch?: number;
  /** Transactions in flight at once (never two holding the same auction). Default 2. */
  maxInFlight?: number;
  /** Sees each committed change, per auction in version order, before its writer hears back. */
  onCommitted?: (change: LedgerChange) => void;
}

interface Pending {
  change: LedgerChange;
  deadline: number;
  retryAt: number;
  resolve(result: ApplyResult): void;
  reject(error: unknown): void;
}

/**
 * Group commit for accepted bids: while a transaction is being written, the bids accepted meanwhile — of every
 * auction, and consecutive versions of one hot auction — gather and go to the ledger together in the next one
 * (`Ledger.applyChanges`), each still fenced against its predecessor. Every caller is answered when the
 * transaction holding its change has committed, so "accepted" still means "in the ledger". No timer on an idle
 * system: a change waits only for the write already under way. A change that is `behind` (its predecessor, from
 * another instance, is still on its way) is retried until `persistTimeoutMs`, as the one-by-one fenced write does.
 * A ledger without `applyChanges` gets that one-by-one fenced write.
 */
/**
 * Postgres aborts one side of a deadlock or serialisation failure and nothing of it is written, so the
 * transaction may simply run again (SQLSTATE 40P01, 40001).
 */
async function withDeadlockRetry<T>(write: () => Promise<T>, attempts = 3): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await write();
    } catch (error) {
      // The service wraps its ledger (typed failures): the driver's error is the cause.
      const driverError = (error as { cause?: unknown } | null)?.cause ?? error;
      const code = (driverError as { code?: unknown } | null)?.code;
      if (attempt >= attempts || (code !== '40P01' && code !== '40001')) throw error;
    }
  }
}

export function createGroupCommit(ledger: Ledger, persistTimeoutMs: number, options: GroupCommitOptions = {}): (change: LedgerChange) => Promise<ApplyResult> {
  const applyChanges = ledger.applyChanges?.bind(ledger);
  if (!applyChanges) {
    const fenced = createFencedWrite(ledger, persistTimeoutMs, options.onCommitted);
    return (change) => fenced(change.state.id, change);
  }
  const maxBatch = options.maxBatch ?? 256;
  const maxInFlight = options.maxInFlight ?? 2;
  let queue: Pending[] = [];
  const busyAuctions = new Set<string>();
  let inFlight = 0;
  let scheduled = false;
  let retryTimer: ReturnType<typeof setTimeout> | null = null;

  /** The next batch: per auction a run of consecutive versions from its lowest queued one, none already in flight. */
  const takeBatch = (now: number): Pending[] => {
    const byAuction = new Map<string, Pending[]>();
    for (const p of queue) {
      if (p.retryAt > now || busyAuctions.has(p.change.state.id)) continue;
      const list = byAuction.get(p.change.state.id);
      if (list) list.push(p);
      else byAuction.set(p.change.state.id, [p]);
    }
    const batch: Pending[] = [];
    for (const list of byAuction.values()) {
      list.sort((a, b) => a.change.state.version - b.change.state.version);
      let version = list[0]!.change.state.version - 1;
      for (const p of list) {
        if (batch.length >= maxBatch || p.change.state.version !== version + 1) break;
        batch.push(p);
        version = p.change.state.version;
      }
      if (batch.length >= maxBatch) break;
    }
    const taken = new Set(batch);
    queue = queue.filter((p) => !taken.has(p));
    return batch;
  };

  const flush = async () => {
    scheduled = false;
    if (inFlight >= maxInFlight || queue.length === 0) return;
    const now = Date.now();
    const batch = takeBatch(now);
    if (batch.length === 0) {
      scheduleRetry(now);
      return;
    }
    const auctions = new Set(batch.map((p) => p.change.state.id));
    for (const id of auctions) busyAuctions.add(id);
    inFlight++;
    if (queue.length > 0) kick(); // another transaction may start for the other auctions
    try {
      const results = await withDeadlockRetry(() => applyChanges(batch.map((p) => p.change)));
      const refusedAt = new Map<string, number>();
      batch.forEach((p, i) => {
        const result = results[i]!;
        const { id, version } = p.change.state;
        if (!result.ok && result.reason !== 'behind') refusedAt.set(id, Math.min(refusedAt.get(id) ?? Infinity, version));
        // Behind its own predecessor in this batch, which was refused: built on a refusal, so no retry will help.
        const builtOnRefusal = (refusedAt.get(id) ?? Infinity) < version;
        if (!result.ok && result.reason === 'behind' && !builtOnRefusal && Date.now() < p.deadline) {
          p.retryAt = Date.now() + 5;
          queue.push(p);
          return;
        }
        // A batch holds one auction's changes in version order, and one auction is in one batch at a time.
        if (result.ok) options.onCommitted?.(p.change);
        p.resolve(result);
      });
    } catch (error) {
      for (const p of batch) p.reject(error);
    } finally {
      inFlight--;
      for (const id of auctions) busyAuctions.delete(id);
      if (queue.length > 0) kick();
    }
  };

  const kick = () => {
    if (scheduled) return;
    scheduled = true;
    // After this turn's I/O callbacks: every bid accepted in it joins the batch.
    setImmediate(() => void flush());
  };

  /** Wakes up for changes waiting to be retried; changes held back by an auction in flight wait for its write. */
  const scheduleRetry = (now: number) => {
    const waiting = queue.filter((p) => !busyAuctions.has(p.change.state.id));
    if (retryTimer || waiting.length === 0) return;
    const next = Math.min(...waiting.map((p) => p.retryAt));
    retryTimer = setTimeout(() => {
      retryTimer = null;
      kick();
    }, Math.max(1, next - now));
  };

  return (change) =>
    new Promise<ApplyResult>((resolve, reject) => {
      queue.push({ change, deadline: Date.now() + persistTimeoutMs, retryAt: 0, resolve, reject });
      kick();
    });
}
