import type { BidRecord } from '../domain/bid.js';
import type { ServiceContext } from './context.js';

export interface AuditWriter {
  /**
   * Queues a record its bidder waits for: resolves once it is in the ledger (null), or with the ledger's record
   * when another bid already holds its idempotency key (that first answer stands); rejects if writing it failed.
   */
  record(record: BidRecord): Promise<BidRecord | null>;
  /** Queues a record nobody waits for: written with the next batch, retried while the ledger is unreachable. */
  recordInBackground(record: BidRecord): void;
  /** Writes what is queued now and waits for it. */
  flush(): Promise<void>;
}

interface Waiting {
  record: BidRecord;
  settle?: { resolve(held: BidRecord | null): void; reject(error: unknown): void };
}

const RETRY_MAX_MS = 5_000;

const keyOf = (b: BidRecord) => `${b.auctionId}\u0000${b.bidderId}\u0000${b.idempotencyKey}`;

/** Answers the waiting bidders of a written batch: null, or the bid the ledger says already holds their key. */
function settleWritten(batch: readonly Waiting[], taken: readonly BidRecord[]): void {
  const holder = new Map(taken.map((b) => [keyOf(b), b]));
  for (const w of batch) w.settle?.resolve(w.record.idempotencyKey === null ? null : (holder.get(keyOf(w.record)) ?? null));
}

export interface AuditWriterOptions {
  /** Records per batch of its own at most. Default 500. */
  maxBatch?: number;
  /**
   * The bids' group commit (`GroupCommit.carryAudit`), when the ledger can write refusals with accepted bids: each
   * record then goes with the next transaction of accepted bids, one commit for both, and this writer's own batches
   * only write again what such a transaction failed to write.
   */
  carry?: ((record: BidRecord) => Promise<BidRecord[]>) | null;
}

/**
 * The audit trail of bids that were not accepted. Each record rides the bids' group commit when there is one;
 * otherwise, and for what a carrying transaction failed to write, this writer batches them itself: one write in
 * flight, everything that arrives meanwhile goes into the next (no fixed wait on an idle system). A failed batch is
 * written record by record, so one bad record never takes the others down. A record whose bidder waits for it is
 * then answered with the failure (its bidder retries with the same key, and that retry records it); one nobody waits
 * for is retried with backoff while the ledger is unreachable, and dropped (logged) if the ledger answers pings but
 * refuses it.
 */
export function createAuditWriter(ctx: ServiceContext, options: AuditWriterOptions = {}): AuditWriter {
  const { ledger, log } = ctx;
  const maxBatch = options.maxBatch ?? 500;
  const carry = options.carry ?? null;
  /** Records handed to the group commit and not settled yet. */
  const carried = new Set<Promise<void>>();
  let queue: Waiting[] = [];
  let writing: Promise<void> | null = null;
  let scheduled = false;
  let retryDelay = 0;

  const write = async (batch: Waiting[]): Promise<Waiting[]> => {
    try {
      settleWritten(batch, (await ledger.recordAudit(batch.map((w) => w.record))) ?? []);
      return [];
    } catch (error) {
      if (batch.length === 1) {
        const reachable = await ledger.ping().then(
          () => true,
          () => false,
        );
        const [w] = batch;
        if (w!.settle) {
          // Its bidder is told the decision was not recorded (503) and retries with the same key; that retry
          // records it. Writing it later behind the bidder's back could leave the ledger holding an answer the
          // bidder never got, beside the one a rebuilt engine gives the retry.
          w!.settle.reject(error);
          return [];
        }
        if (reachable) {
          log.error({ err: error, bidId: w!.record.bidId, auctionId: w!.record.auctionId }, 'audit record refused by the ledger; dropped');
          return [];
        }
        return [w!]; // nobody waits on it: kept and retried until the ledger is back
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

  const startDrain = () =>
    (writing = ctx.track(drain()).finally(() => {
      writing = null;
      if (queue.length > 0) kick();
    }));

  const kick = () => {
    if (writing || scheduled) return;
    scheduled = true;
    // After this turn's I/O callbacks: every record decided in it joins the batch.
    setImmediate(() => {
      scheduled = false;
      if (!writing) startDrain();
    });
  };

  /**
   * Hands a record to the group commit. If its transaction failed, the record is written on its own, as a record of
   * a failed batch is: a record it could not write is no reason to fail the others.
   */
  const handOver = (w: Waiting) => {
    const settled: Promise<void> = ctx
      .track(
        carry!(w.record).then(
          (taken) => settleWritten([w], taken),
          async () => {
            const failed = await write([w]);
            if (failed.length > 0) {
              queue.push(...failed); // nobody waits on it: retried by this writer while the ledger is unreachable
              kick();
            }
          },
        ),
      )
      .finally(() => carried.delete(settled));
    carried.add(settled);
  };

  const enqueue = (w: Waiting) => {
    if (carry) return handOver(w);
    queue.push(w);
    kick();
  };

  return {
    record(record) {
      return new Promise<BidRecord | null>((resolve, reject) => enqueue({ record, settle: { resolve, reject } }));
    },
    recordInBackground(record) {
      enqueue({ record });
    },
    async flush() {
      while (carried.size > 0) await Promise.allSettled([...carried]);
      if (writing) await writing;
      if (queue.length > 0) await startDrain();
    },
  };
}
