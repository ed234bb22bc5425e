import type { ApplyResult, Ledger, LedgerChange } from '../ports/ledger.js';

export type LedgerWrite = (change: LedgerChange) => Promise<ApplyResult>;
export type FencedWrite = (auctionId: string, change: LedgerChange, write?: LedgerWrite) => Promise<ApplyResult>;

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/**
 * The fenced write, in version order. Within this process changes of one auction are chained; a change from
 * another instance that is still on its way shows up as `behind`, which is retried until persistTimeoutMs.
 * `onCommitted` sees each committed change, per auction in commit order (before the write's promise settles).
 */
export function createFencedWrite(ledger: Ledger, persistTimeoutMs: number, onCommitted: (change: LedgerChange) => void = () => {}): FencedWrite {
  const persistChains = new Map<string, Promise<unknown>>();
  const writeOne: LedgerWrite = (change) => ledger.applyChange(change);
  return (auctionId, change, write = writeOne) => {
    const previous = persistChains.get(auctionId) ?? Promise.resolve();
    const run = previous.then(async () => {
      const deadline = Date.now() + persistTimeoutMs;
      for (let wait = 5; ; wait = Math.min(wait * 2, 100)) {
        const result = await write(change);
        if (result.ok) {
          // Still inside this auction's chain: committed changes are handed on in version order.
          onCommitted(change);
          return result;
        }
        if (result.reason !== 'behind' || Date.now() >= deadline) return result;
        await sleep(wait);
      }
    });
    const settled = run.catch(() => undefined);
    persistChains.set(auctionId, settled);
    void settled.then(() => {
      if (persistChains.get(auctionId) === settled) persistChains.delete(auctionId);
    });
    return run;
  };
}
