import type { BidRecord } from '../domain/bid.js';
import type { ApplyResult, Ledger, LedgerChange } from '../ports/ledger.js';
import { createFencedWrite } from './fence.js';

export interface GroupCommitOptions {
  /** Changes per transaction at most. Default 256. */
  maxBatch?: number;
  /**
   * Transactions in flight at once (never two holding the same auction). Default 1: everything accepted meanwhile
   * waits for the next one, so batches grow with the load. Over 1,000 auctions two in flight made smaller batches,
   * a half more transactions per decision and more Postgres CPU, for no more decisions/s (BENCHMARKS.md).
   */
  maxInFlight?: number;
  /** Sees each committed change, per auction in version order, before its writer hears back. */
  onCommitted?: (change: LedgerChange) => void;
}

/** The group commit of accepted bids, and of the refusals that ride with them. */
export interface GroupCommit {
  /** Writes an accepted bid's change; resolves with its verdict once the transaction holding it has committed. */
  persist(change: LedgerChange): Promise<ApplyResult>;
  /**
   * Null unless the ledger offers `applyChangesAndAudit`. A refusal's record, written in the next transaction (with
   * the accepted bids of that moment, or alone when there are none): resolves once it is in the ledger, with what
   * that transaction's `recordAudit` part returned (the bids already holding the keys of records it did not write,
   * this record's among them if another bid holds its key). Rejects when the transaction failed; nothing of it was
   * written then, unless its outcome is unknown (the ledger ignores a record written twice, so writing it again is
   * safe).
   */
  carryAudit: ((record: BidRecord) => Promise<BidRecord[]>) | null;
}

interface Rider {
  record: BidRecord;
  resolve(held: BidRecord[]): void;
  reject(error: unknown): void;
}

interface Pending {
  change: LedgerChange;
  deadline: number;
  retryAt: number;
  resolve(result: ApplyResult): void;
  reject(error: unknown): void;
}

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

/**
 * True when the ledger refused the whole transaction, so that none of it was written: Postgres rolls back a
 * statement that breaks a data rule (SQLSTATE class 22), a constraint (23), a serialisation or deadlock check (40)
 * or that it cannot run (42). A lost connection or a server going down leaves the outcome unknown.
 */
function refusedWhole(error: unknown): boolean {
  const driverError = (error as { cause?: unknown } | null)?.cause ?? error;
  const code = (driverError as { code?: unknown } | null)?.code;
  return typeof code === 'string' && /^(22|23|40|42)/.test(code);
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
export function createGroupCommit(ledger: Ledger, persistTimeoutMs: number, options: GroupCommitOptions = {}): GroupCommit {
  const applyChanges = ledger.applyChanges?.bind(ledger);
  if (!applyChanges) {
    const fenced = createFencedWrite(ledger, persistTimeoutMs, options.onCommitted);
    return { persist: (change) => fenced(change.state.id, change), carryAudit: null };
  }
  const applyChangesAndAudit = ledger.applyChangesAndAudit?.bind(ledger);
  const maxBatch = options.maxBatch ?? 256;
  const maxInFlight = options.maxInFlight ?? 1;
  let queue: Pending[] = [];
  let riders: Rider[] = [];
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

  /** The refusals that go with the next batch: those of auctions no transaction in flight holds. */
  const takeRiders = (): Rider[] => {
    const taken: Rider[] = [];
    const rest: Rider[] = [];
    for (const r of riders) (taken.length < maxBatch && !busyAuctions.has(r.record.auctionId) ? taken : rest).push(r);
    riders = rest;
    return taken;
  };

  /**
   * Writes the batch and its riders in one transaction. If the ledger refused that transaction whole, the changes
   * are written again on their own: a refusal's record that the ledger will not take (its writer then writes each
   * record alone) must not cost the accepted bids beside it their answer.
   */
  const write = async (changes: LedgerChange[], audit: BidRecord[]): Promise<{ results: ApplyResult[]; held: BidRecord[] | { failed: unknown } }> => {
    if (audit.length === 0) return { results: await withDeadlockRetry(() => applyChanges(changes)), held: [] };
    if (changes.length === 0) return { results: [], held: (await withDeadlockRetry(() => ledger.recordAudit(audit))) ?? [] };
    try {
      return await withDeadlockRetry(() => applyChangesAndAudit!(changes, audit));
    } catch (error) {
      if (!refusedWhole(error)) throw error;
      return { results: await withDeadlockRetry(() => applyChanges(changes)), held: { failed: error } };
    }
  };

  const flush = async () => {
    scheduled = false;
    if (inFlight >= maxInFlight || (queue.length === 0 && riders.length === 0)) return;
    const now = Date.now();
    const batch = takeBatch(now);
    const riding = takeRiders();
    if (batch.length === 0 && riding.length === 0) {
      scheduleRetry(now);
      return;
    }
    const auctions = new Set([...batch.map((p) => p.change.state.id), ...riding.map((r) => r.record.auctionId)]);
    for (const id of auctions) busyAuctions.add(id);
    inFlight++;
    // Another transaction may start for the other auctions (with maxInFlight above 1).
    if (inFlight < maxInFlight && (queue.length > 0 || riders.length > 0)) kick();
    try {
      let written: Awaited<ReturnType<typeof write>>;
      try {
        written = await write(
          batch.map((p) => p.change),
          riding.map((r) => r.record),
        );
      } catch (error) {
        for (const r of riding) r.reject(error);
        throw error;
      }
      const { results, held } = written;
      if (Array.isArray(held)) for (const r of riding) r.resolve(held);
      else for (const r of riding) r.reject(held.failed);
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
      if (queue.length > 0 || riders.length > 0) kick();
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

  return {
    persist: (change) =>
      new Promise<ApplyResult>((resolve, reject) => {
        queue.push({ change, deadline: Date.now() + persistTimeoutMs, retryAt: 0, resolve, reject });
        kick();
      }),
    carryAudit: applyChangesAndAudit
      ? (record) =>
          new Promise<BidRecord[]>((resolve, reject) => {
            riders.push({ record, resolve, reject });
            kick();
          })
      : null,
  };
}
