import { describe, expect, it } from 'vitest';
import { createMemoryLedger, type BidRecord, type Ledger, type LedgerChange } from '@outbid/core';
import { acceptedChange, auctionFixture, testId } from '@outbid/core/testing';
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
  it('bids accepted while a write is under way go together in the next transaction (by default one in flight), consecutive versions of a hot auction included', async () => {
    const { ledger, counted, states, batches, hold } = await ledgerWith(3);
    let open!: () => void;
    hold(new Promise<void>((r) => (open = r)));
    // The default: the other auctions' bids wait for the write under way too, rather than start a second one.
    const write = createGroupCommit(counted, 5_000).persist;
    const [hot, a, b] = states as [ReturnType<typeof auctionFixture>, ReturnType<typeof auctionFixture>, ReturnType<typeof auctionFixture>];
    const hotChain = chain(hot, 5);
    const first = write(hotChain[0]!);
    await new Promise((r) => setImmediate(r)); // the first transaction (one change) is now in flight and held
    const rest = [...hotChain.slice(1), ...chain(a, 1), ...chain(b, 2)].map((c) => write(c));
    await new Promise((r) => setImmediate(r)); // the group commit's turn: nothing may start beside the held one
    open();
    const results = await Promise.all([first, ...rest]);
    expect(results.every((r) => r.ok)).toBe(true);
    expect(batches.map((b) => b.length)).toEqual([1, 7]); // everything that came while the first was written: one commit
    expect((await ledger.getAuction(hot.id))?.version).toBe(6);
    expect((await ledger.getAuction(b.id))?.version).toBe(3);
  });

  it('a change whose predecessor is refused in the same transaction is answered at once, not retried', async () => {
    const { counted, states } = await ledgerWith(1);
    const write = createGroupCommit(counted, 60_000).persist;
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
    const write = createGroupCommit(counted, 10_000).persist;
    const [v2, v3] = chain(states[0]!, 2);
    const pending = write(v3!); // v2 is "another instance's", still on its way
    await new Promise((r) => setTimeout(r, 30));
    expect(await ledger.applyChange(v2!)).toEqual({ ok: true });
    expect(await pending).toEqual({ ok: true });
  });

  it('a transaction that fails rejects every change in it', async () => {
    const { counted, states } = await ledgerWith(2);
    const failing = { ...counted, applyChanges: async () => Promise.reject(new Error('connection reset')) };
    const write = createGroupCommit(failing, 5_000).persist;
    const results = await Promise.allSettled([write(chain(states[0]!, 1)[0]!), write(chain(states[1]!, 1)[0]!)]);
    expect(results.map((r) => r.status)).toEqual(['rejected', 'rejected']);
  });
});

/** A refused bid's record on `state`'s auction. */
function refusalOn(state: ReturnType<typeof auctionFixture>, bidderId: string): BidRecord {
  const { bid } = acceptedChange(state, bidderId, 1, NOW);
  return { ...bid, bidId: testId('bid'), status: 'rejected', reason: 'BID_TOO_LOW', version: null, decision: { ...bid.decision, status: 'rejected', reason: 'BID_TOO_LOW' } };
}

describe('createGroupCommit (refusals riding with accepted bids)', () => {
  /** A memory ledger whose transactions are logged (changes' auctions, records' bidders) and can be held open. */
  async function logged(auctions: number, fail?: () => unknown) {
    const { ledger, states } = await ledgerWith(auctions);
    const calls: { changes: string[]; audit: string[] }[] = [];
    let gate: Promise<void> = Promise.resolve();
    const log = async (changes: LedgerChange[], audit: BidRecord[]) => {
      calls.push({ changes: changes.map((c) => c.state.id), audit: audit.map((r) => r.bidderId) });
      await gate;
    };
    const wrapped: Ledger = {
      ...ledger,
      async applyChanges(changes) {
        await log(changes, []);
        return ledger.applyChanges!(changes);
      },
      async recordAudit(records) {
        await log([], records);
        return ledger.recordAudit(records);
      },
      async applyChangesAndAudit(changes, audit) {
        await log(changes, audit);
        const error = fail?.();
        if (error) throw error;
        return ledger.applyChangesAndAudit!(changes, audit);
      },
    };
    return { ledger, wrapped, states, calls, holdWrites: (p: Promise<void>) => (gate = p) };
  }

  it('refusals decided while a write is under way go in the next transaction with the accepted bids: one commit', async () => {
    const { ledger, wrapped, states, calls, holdWrites } = await logged(3);
    const [hot, a, b] = states as [ReturnType<typeof auctionFixture>, ReturnType<typeof auctionFixture>, ReturnType<typeof auctionFixture>];
    let open!: () => void;
    holdWrites(new Promise<void>((r) => (open = r)));
    const { persist, carryAudit } = createGroupCommit(wrapped, 5_000, { maxInFlight: 1 });
    const first = persist(chain(hot, 1)[0]!);
    await new Promise((r) => setImmediate(r)); // in flight, held
    const accepted = [persist(chain(a, 1)[0]!), persist(chain(b, 1)[0]!)];
    const refusals = [refusalOn(a, 'low-a'), refusalOn(hot, 'low-hot')];
    const recorded = refusals.map((r) => carryAudit!(r));
    open();
    expect(await Promise.all([first, ...accepted])).toEqual([{ ok: true }, { ok: true }, { ok: true }]);
    expect(await Promise.all(recorded)).toEqual([[], []]);
    expect(calls).toEqual([
      { changes: [hot.id], audit: [] },
      { changes: [a.id, b.id], audit: ['low-a', 'low-hot'] },
    ]);
    for (const r of refusals) expect(await ledger.listBids(r.auctionId, { include: 'all', limit: 10 })).toMatchObject({ items: expect.arrayContaining([r]) });
  });

  it('a refusal of an auction whose write is in flight waits for it: never two transactions holding one auction', async () => {
    const { wrapped, states, calls, holdWrites } = await logged(2);
    const [hot, other] = states as [ReturnType<typeof auctionFixture>, ReturnType<typeof auctionFixture>];
    let open!: () => void;
    holdWrites(new Promise<void>((r) => (open = r)));
    const { persist, carryAudit } = createGroupCommit(wrapped, 5_000, { maxInFlight: 2 });
    const first = persist(chain(hot, 1)[0]!);
    await new Promise((r) => setImmediate(r));
    const recorded = [carryAudit!(refusalOn(hot, 'low-hot')), carryAudit!(refusalOn(other, 'low-other'))];
    await new Promise((r) => setImmediate(r)); // the second transaction has started, without the hot auction's refusal
    expect(calls).toEqual([
      { changes: [hot.id], audit: [] },
      { changes: [], audit: ['low-other'] },
    ]);
    open();
    await Promise.all([first, ...recorded]);
    expect(calls[2]).toEqual({ changes: [], audit: ['low-hot'] });
  });

  it('a transaction the ledger refused whole: its accepted bids are written again on their own, its refusals are rejected', async () => {
    let failure: unknown = Object.assign(new Error('invalid byte sequence for encoding "UTF8"'), { code: '22021' });
    const { ledger, wrapped, states } = await logged(2, () => failure);
    const { persist, carryAudit } = createGroupCommit(wrapped, 5_000);
    const [a, b] = states as [ReturnType<typeof auctionFixture>, ReturnType<typeof auctionFixture>];
    const [accepted, refused] = await Promise.allSettled([persist(chain(a, 1)[0]!), carryAudit!(refusalOn(a, 'poison'))]);
    expect(accepted).toEqual({ status: 'fulfilled', value: { ok: true } });
    expect(refused).toMatchObject({ status: 'rejected', reason: { code: '22021' } });
    expect((await ledger.getAuction(a.id))?.version).toBe(2);
    // An outcome not known (the connection was lost): nothing is written again, every caller hears the failure.
    failure = new Error('Connection terminated unexpectedly');
    const outcomes = await Promise.allSettled([persist(chain(b, 1)[0]!), carryAudit!(refusalOn(b, 'low'))]);
    expect(outcomes.map((o) => o.status)).toEqual(['rejected', 'rejected']);
    expect((await ledger.getAuction(b.id))?.version).toBe(1);
  });

  it('is offered only for a ledger that writes refusals with changes', async () => {
    const { ledger } = await ledgerWith(1);
    expect(createGroupCommit(ledger, 5_000).carryAudit).toBeTypeOf('function');
    expect(createGroupCommit({ ...ledger, applyChangesAndAudit: undefined }, 5_000).carryAudit).toBeNull();
  });
});
