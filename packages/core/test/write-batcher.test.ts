import { describe, expect, it } from 'vitest';
import { createMemoryLedger, type ApplyResult, type Ledger, type LedgerChange } from '../src/index.js';
import { createWriteBatcher } from '../src/service/write-batcher.js';
import { auctionFixture } from '../src/testing/fixtures.js';

const NOW = Date.UTC(2030, 0, 1);

async function ledgerWith(count: number) {
  const ledger = createMemoryLedger();
  const states = Array.from({ length: count }, () => auctionFixture(NOW));
  for (const s of states) await ledger.createAuction(s, []);
  const ends = states.map((s): LedgerChange => ({ state: { ...s, status: 'ended', version: 2, closedAt: NOW }, events: [] }));
  return { ledger, ends };
}

/** Records the size of every batch the batcher hands to the ledger. */
function counting(ledger: Ledger, gate?: Promise<void>) {
  const batches: number[] = [];
  const counted: Ledger = {
    ...ledger,
    async applyChanges(changes) {
      batches.push(changes.length);
      await gate;
      return ledger.applyChanges!(changes);
    },
  };
  return { counted, batches };
}

describe('createWriteBatcher', () => {
  it('writes changes submitted together in few batches, each answered with its own result', async () => {
    const { ledger, ends } = await ledgerWith(300);
    const { counted, batches } = counting(ledger);
    const write = createWriteBatcher(counted, { maxBatch: 200 });
    const ghost: LedgerChange = { state: { ...auctionFixture(NOW), version: 2 }, events: [] };
    const results = await Promise.all([...ends, ghost].map((c) => write(c)));
    expect(results.slice(0, 300).every((r) => r.ok)).toBe(true);
    expect(results[300]).toEqual({ ok: false, reason: 'not_found' });
    expect(batches.reduce((a, b) => a + b, 0)).toBe(301);
    expect(batches.length).toBeLessThanOrEqual(3);
    expect(Math.max(...batches)).toBeLessThanOrEqual(200);
  });

  it('while a batch is being written, the next waits for enough changes (group commit), never two of one auction', async () => {
    const { ledger, ends } = await ledgerWith(40);
    let open!: () => void;
    const { counted, batches } = counting(ledger, new Promise<void>((resolve) => (open = resolve)));
    const write = createWriteBatcher(counted, { busyBatch: 16, maxInFlight: 4 });
    const first = write(ends[0]!);
    await new Promise((r) => setImmediate(r)); // the first batch (one change) is now in flight and held
    const rest = ends.slice(1, 10).map((c) => write(c)); // 9 < 16: they wait for the write under way
    // A second change of auction 1 queued beside its first: it must go into a later batch, judged on top of it.
    const sameAuction = write({ ...ends[1]!, state: { ...ends[1]!.state, version: 3 } });
    await new Promise((r) => setImmediate(r));
    expect(batches).toEqual([1]);
    open();
    const results = await Promise.all([first, ...rest, sameAuction]);
    expect(results.slice(0, 10).every((r) => r.ok)).toBe(true);
    expect(batches).toEqual([1, 9, 1]);
    expect(results[10]).toEqual({ ok: false, reason: 'conflict', ledgerVersion: 2 }); // ended cannot end again
  });

  it('a failed batch rejects every change in it; a ledger without applyChanges writes one by one', async () => {
    const { ledger, ends } = await ledgerWith(3);
    const failing: Ledger = { ...ledger, applyChanges: async () => Promise.reject(new Error('connection lost')) };
    const write = createWriteBatcher(failing);
    const settled = await Promise.allSettled(ends.map((c) => write(c)));
    expect(settled.every((s) => s.status === 'rejected')).toBe(true);

    const single: string[] = [];
    const { applyChanges: _none, ...plain } = ledger;
    const oneByOne: Ledger = { ...plain, applyChange: async (c): Promise<ApplyResult> => (single.push(c.state.id), ledger.applyChange(c)) };
    const results = await Promise.all(ends.map((c) => createWriteBatcher(oneByOne)(c)));
    expect(results).toEqual([{ ok: true }, { ok: true }, { ok: true }]);
    expect(single).toEqual(ends.map((c) => c.state.id));
  });
});
