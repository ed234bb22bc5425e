import { describe, expect, it } from 'vitest';
import { createMemoryLedger, type LedgerChange } from '@outbid/core';
import { acceptedChange, auctionFixture } from '@outbid/core/testing';
import { createGroupCommit } from '../src/service/group-commit.js';

const NOW = 1_800_000_000_000;

async function ledgerWith(auctions: number) {
  const ledger = createMemoryLedger();
  const states = [];
  for (let i = 0; i < auctions; i++) {
    const state = auctionFixture(NOW);
    await ledger.createAuction(state, []);
    states.push(state);
  }
  const batches: LedgerChange[][] = [];
  let gate: Promise<void> = Promise.resolve();
  const counted = {
    ...ledger,
    async applyChanges(changes: LedgerChange[]) {
      batches.push(changes);
      await gate;
      return ledger.applyChanges!(changes);
    },
  };
  return { ledger, counted, states, batches, hold: (p: Promise<void>) => (gate = p) };
}

/** v2..v(n+1) of one auction: each bid accepted on the one before. */
function chain(state: ReturnType<typeof auctionFixture>, n: number): LedgerChange[] {
  const out: LedgerChange[] = [];
  let current = state;
  for (let i = 0; i < n; i++) {
    const change = acceptedChange(current, `b${i % 2}`, 1_000 + i * 100, NOW + i);
    out.push(change);
    current = change.state;
  }
  return out;
}

describe('createGroupCommit (accepted bids)', () => {
  it('bids accepted while a write is under way go together in the next transaction, consecutive versions of a hot auction included', async () => {
    const { ledger, counted, states, batches, hold } = await ledgerWith(3);
    let open!: () => void;
    hold(new Promise<void>((r) => (open = r)));
    const write = createGroupCommit(counted, 5_000, { maxInFlight: 1 });
    const [hot, a, b] = states as [ReturnType<typeof auctionFixture>, ReturnType<typeof auctionFixture>, ReturnType<typeof auctionFixture>];
    const hotChain = chain(hot, 5);
    const first = write(hotChain[0]!);
    await new Promise((r) => setImmediate(r)); // the first transaction (one change) is now in flight and held
    const rest = [...hotChain.slice(1), ...chain(a, 1), ...chain(b, 2)].map((c) => write(c));
    open();
    const results = await Promise.all([first, ...rest]);
    expect(results.every((r) => r.ok)).toBe(true);
    expect(batches.map((b) => b.length)).toEqual([1, 7]); // everything that came while the first was written: one commit
    expect((await ledger.getAuction(hot.id))?.version).toBe(6);
    expect((await ledger.getAuction(b.id))?.version).toBe(3);
  });

  it('a change whose predecessor is refused in the same transaction is answered at once, not retried', async () => {
    const { counted, states } = await ledgerWith(1);
    const write = createGroupCommit(counted, 60_000);
    const [v2, v3] = chain(states[0]!, 2);
    const forged = { ...v2!, state: { ...v2!.state, currentPrice: 999_999 } }; // not what the rules give
    const started = Date.now();
    const results = await Promise.all([write(forged), write(v3!)]);
    expect(results).toEqual([
      { ok: false, reason: 'conflict', ledgerVersion: 1 },
      { ok: false, reason: 'behind', ledgerVersion: 1 },
    ]);
    expect(Date.now() - started).toBeLessThan(30_000); // far below the 60 s it would retry a plain `behind` for
  });

  it('a change behind a predecessor written elsewhere is retried until that lands', async () => {
    const { ledger, counted, states } = await ledgerWith(1);
    const write = createGroupCommit(counted, 10_000);
    const [v2, v3] = chain(states[0]!, 2);
    const pending = write(v3!); // v2 is "another instance's", still on its way
    await new Promise((r) => setTimeout(r, 30));
    expect(await ledger.applyChange(v2!)).toEqual({ ok: true });
    expect(await pending).toEqual({ ok: true });
  });

  it('a transaction that fails rejects every change in it', async () => {
    const { counted, states } = await ledgerWith(2);
    const failing = { ...counted, applyChanges: async () => Promise.reject(new Error('connection reset')) };
    const write = createGroupCommit(failing, 5_000);
    const results = await Promise.allSettled([write(chain(states[0]!, 1)[0]!), write(chain(states[1]!, 1)[0]!)]);
    expect(results.map((r) => r.status)).toEqual(['rejected', 'rejected']);
  });
});
