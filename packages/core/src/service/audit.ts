import type { BidRecord } from '../domain/bid.js';
import type { ServiceContext } from './context.js';

export interface AuditWriter {
  /** Queues a record; resolves once it is in the ledger, rejects if this attempt failed (it is retried anyway). */
  record(record: BidRecord): Promise<void>;
  /** Writes what is queued now and waits for it. */
  flush(): Promise<void>;
}

interface Waiting {
  record: BidRecord;
  settle?: { resolve(): void; reject(error: unknown): void };
}

const RETRY_MAX_MS = 5_000;

/**
 * The audit trail of bids that were not accepted, written by group commit: one write in flight, everything that
 * arrives meanwhile goes into the next (no fixed wait on an idle system). A failed batch is written record by
 * record, so one bad record never takes the others down; a record that fails while the ledger answers pings is
 * poison and dropped (logged); while the ledger is unreachable, records are kept and retried with backoff.
 */
export function createAuditWriter(ctx: ServiceContext, options: { maxBatch?: number } = {}): AuditWriter {
  const { ledger, log } = ctx;
  const maxBatch = options.maxBatch ?? 500;
  let queue: Waiting[] = [];
  let writing: Promise<void> | null = null;
  let scheduled = false;
  let retryDelay = 0;

  const write = async (batch: Waiting[]): Promise<Waiting[]> => {
    try {
      await ledger.recordAudit(batch.map((w) => w.record));
      for (const w of batch) w.settle?.resolve();
      return [];
    } catch (error) {
      if (batch.length === 1) {
        const reachable = await ledger.ping().then(
          () => true,
          () => false,
        );
        const [w] = batch;
        w!.settle?.reject(error);
        if (reachable) {
          log.error({ err: error, bidId: w!.record.bidId, auctionId: w!.record.auctionId }, 'audit record refused by the ledger; dropped');
          return [];
        }
        return [{ record: w!.record }]; // kept for a retry; nobody waits on it any more
      }
      // Isolate: the records of a failed batch go one by one.
      const left: Waiting[] = [];
      for (const w of batch) left.push(...(await write([w])));
      return left;
    }
  };

  const drain = async (): Promise<void> => {
    while (queue.length > 0) {
      const batch = queue.slice(0, maxBatch);
      queue = queue.slice(batch.length);
      const failed = await write(batch);
      if (failed.length > 0) {
        queue = [...failed, ...queue];
        if (ctx.isClosed()) {
          log.error({ count: queue.length }, 'audit records not written before close');
          queue = [];
          return;
        }
        retryDelay = Math.min(RETRY_MAX_MS, retryDelay === 0 ? 100 : retryDelay * 2);
        log.warn({ count: failed.length, retryInMs: retryDelay }, 'audit records not written; retrying');
        await new Promise((r) => setTimeout(r, retryDelay).unref?.());
      } else retryDelay = 0;
    }
  };

  const kick = () => {
    if (writing || scheduled) return;
    scheduled = true;
    // After this turn's I/O callbacks: every record decided in it joins the batch.
    setImmediate(() => {
      scheduled = false;
      if (writing) return;
      writing = ctx.track(drain()).finally(() => {
        writing = null;
        if (queue.length > 0) kick();
      });
    });
  };

  return {
    record(record) {
      return new Promise<void>((resolve, reject) => {
        queue.push({ record, settle: { resolve, reject } });
        kick();
      });
    },
    async flush() {
      if (writing) await writing;
      if (queue.length > 0) {
        writing = ctx.track(drain()).finally(() => (writing = null));
        await writing;
      }
    },
  };
}
