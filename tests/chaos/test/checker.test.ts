import { describe, expect, it } from 'vitest';
import { checkHistory, isDecided } from '../src/checker.js';
import type { BidAttempt, History } from '../src/history.js';

// A small, correct history, built by hand: auction A (start 100, fixed increment 10, end at T0 + 10 s) got three
// accepts (v2..v4), one rejected bid and a replay of each kind of answer, then ended once at v5.
const T0 = Date.parse('2030-01-01T00:00:00.000Z');
const iso = (ms: number) => new Date(ms).toISOString();
const END = T0 + 10_000;

function acceptedBody(bidId: string, bidder: string, amount: number, version: number, at: number) {
  return JSON.stringify({ status: 'accepted', bidId, amount, currentPrice: amount, currentWinnerId: bidder, minNextBid: amount + 10, version, endAt: iso(END), extended: false, serverTime: iso(at) });
}
function rejectedBody(bidId: string, amount: number, price: number, winner: string, version: number, at: number) {
  return JSON.stringify({ status: 'rejected', reason: 'BID_TOO_LOW', bidId, amount, minNextBid: price + 10, currentPrice: price, currentWinnerId: winner, version, endAt: iso(END), serverTime: iso(at) });
}

let seq = 0;
function attempt(partial: Partial<BidAttempt> & Pick<BidAttempt, 'key' | 'bidderId' | 'amount' | 'outcome'>): BidAttempt {
  seq++;
  return { seq, client: partial.bidderId, auctionId: 'A', attempt: 0, why: 'first', instance: 'a', sentAt: T0 + seq * 100, receivedAt: T0 + seq * 100 + 5, ...partial };
}

function goodHistory(): History {
  seq = 0;
  const ok = (status: number, body: string) => ({ type: 'response' as const, status, body, replayed: false });
  return {
    seed: 1,
    profile: 'unit',
    startedAt: T0,
    finishedAt: T0 + 20_000,
    auctions: [{ id: 'A', startPrice: 100, increment: { type: 'fixed', amount: 10 }, endAt: END, softClose: false }],
    attempts: [
      attempt({ key: 'k1', bidderId: 'ann', amount: 100, outcome: { type: 'error', error: 'timeout' } }),
      attempt({ key: 'k1', bidderId: 'ann', amount: 100, attempt: 1, why: 'retry', outcome: ok(201, acceptedBody('b1', 'ann', 100, 2, T0 + 150)) }),
      attempt({ key: 'k1', bidderId: 'ann', amount: 100, attempt: 2, why: 'resend', instance: 'b', outcome: { ...ok(201, acceptedBody('b1', 'ann', 100, 2, T0 + 150)), replayed: true } }),
      attempt({ key: 'k2', bidderId: 'ben', amount: 110, outcome: ok(503, '{"code":"LEDGER_UNAVAILABLE"}') }),
      attempt({ key: 'k2', bidderId: 'ben', amount: 110, attempt: 1, why: 'retry', outcome: ok(409, '{"status":409,"code":"IDEMPOTENCY_IN_PROGRESS"}') }),
      attempt({ key: 'k2', bidderId: 'ben', amount: 110, attempt: 2, why: 'retry', outcome: ok(201, acceptedBody('b2', 'ben', 110, 3, T0 + 500)) }),
      attempt({ key: 'k3', bidderId: 'cat', amount: 110, outcome: ok(409, rejectedBody('b3', 110, 110, 'ben', 3, T0 + 700)) }),
      attempt({ key: 'k3', bidderId: 'cat', amount: 110, attempt: 1, why: 'resend', outcome: ok(409, rejectedBody('b3', 110, 110, 'ben', 3, T0 + 700)) }),
      attempt({ key: 'k4', bidderId: 'cat', amount: 130, outcome: ok(201, acceptedBody('b4', 'cat', 130, 4, T0 + 900)) }),
    ],
    viewers: [
      {
        viewer: 'v1',
        auctionId: 'A',
        instance: 'b',
        connects: 2,
        frames: [1, 2, 2, 3, 4, 5].map((version, i) => ({ at: T0 + i * 100, version, event: version === 5 ? 'ended' : 'bid', status: version === 5 ? 'ended' : 'active' })),
      },
    ],
    faults: [{ at: T0 + 100, kind: 'server-kill', target: 'a', healedAt: T0 + 2_000 }],
    ledger: {
      auctions: [
        { id: 'A', status: 'ended', startPrice: 100, increment: { type: 'fixed', amount: 10 }, endAt: END, effectiveEndAt: END, currentPrice: 130, currentWinnerId: 'cat', version: 5, bidCount: 3, closedAt: END + 50 },
      ],
      bids: [
        { bidId: 'b1', auctionId: 'A', bidderId: 'ann', amount: 100, status: 'accepted', reason: null, version: 2, idempotencyKey: 'k1', createdAt: T0 + 150, decision: JSON.stringify({ endAt: END }) },
        { bidId: 'b2', auctionId: 'A', bidderId: 'ben', amount: 110, status: 'accepted', reason: null, version: 3, idempotencyKey: 'k2', createdAt: T0 + 500, decision: JSON.stringify({ endAt: END }) },
        { bidId: 'b3', auctionId: 'A', bidderId: 'cat', amount: 110, status: 'rejected', reason: 'BID_TOO_LOW', version: null, idempotencyKey: 'k3', createdAt: T0 + 700, decision: '{}' },
        { bidId: 'b4', auctionId: 'A', bidderId: 'cat', amount: 130, status: 'accepted', reason: null, version: 4, idempotencyKey: 'k4', createdAt: T0 + 900, decision: JSON.stringify({ endAt: END }) },
      ],
      events: [{ id: 'A:5:AuctionEnded', auctionId: 'A', type: 'AuctionEnded', payload: { version: 5, winnerId: 'cat', finalPrice: 130 } }],
    },
    apiStates: [
      { instance: 'a', auctionId: 'A', status: 200, body: { status: 'ended', currentPrice: 130, currentWinnerId: 'cat', version: 5, bidCount: 3, endAt: iso(END) } },
    ],
    ledgerReadAt: T0 + 20_000,
    endGraceMs: 5_000,
  };
}

const kinds = (h: History) => checkHistory(h).violations.map((v) => v.kind);

describe('the history checker', () => {
  it('passes a correct history, with its counts', () => {
    const result = checkHistory(goodHistory());
    expect(result.violations).toEqual([]);
    expect(result.stats).toMatchObject({ bids: 4, attempts: 9, retries: 3, resends: 2, accepted: 3, rejected: 1, transient: 3 });
  });

  it('decided answers: 201, 409 with a decision, 422; transient: errors, 5xx, 429, 409 in progress', () => {
    const r = (status: number, body = '{}') => ({ type: 'response' as const, status, body, replayed: false });
    expect(isDecided(r(201))).toBe(true);
    expect(isDecided(r(409, '{"status":"rejected"}'))).toBe(true);
    expect(isDecided(r(409, '{"status":"late"}'))).toBe(true);
    expect(isDecided(r(422))).toBe(true);
    expect(isDecided(r(409, '{"code":"IDEMPOTENCY_IN_PROGRESS"}'))).toBe(false);
    expect(isDecided(r(503))).toBe(false);
    expect(isDecided(r(429))).toBe(false);
    expect(isDecided({ type: 'error', error: 'ECONNRESET' })).toBe(false);
  });

  it('reports a lost accept: a client saw accepted, the ledger has no such bid', () => {
    const h = goodHistory();
    h.ledger.bids = h.ledger.bids.filter((b) => b.bidId !== 'b4');
    expect(kinds(h)).toContain('accept-lost');
  });

  it('reports an accept the ledger holds with another amount or version', () => {
    const h = goodHistory();
    h.ledger.bids[1]!.amount = 120;
    expect(kinds(h)).toContain('accept-mismatch');
  });

  it('reports a changed replay: after a restart the retry of an accepted key is answered as a new rejected bid (issue 13 item 1)', () => {
    const h = goodHistory();
    h.attempts.push(attempt({ key: 'k1', bidderId: 'ann', amount: 100, attempt: 3, why: 'resend', instance: 'b', outcome: { type: 'response', status: 409, body: rejectedBody('b9', 100, 130, 'cat', 4, T0 + 3_000), replayed: false } }));
    expect(kinds(h)).toEqual(expect.arrayContaining(['replay-changed', 'key-two-bids']));
  });

  it('reports a key whose ledger record is another bid than the one its client was told about', () => {
    const h = goodHistory();
    h.ledger.bids[2]!.bidId = 'b3-recorded-later';
    expect(kinds(h)).toEqual(['key-two-bids']);
  });

  it('reports a key answered rejected whose ledger record is an accepted bid (an attempt lost in transit was accepted)', () => {
    const h = goodHistory();
    h.ledger.bids[2] = { ...h.ledger.bids[2]!, bidId: 'b3-accepted', status: 'accepted', reason: null, version: 5 };
    expect(kinds(h)).toContain('accept-denied');
  });

  it('reports a replay whose body differs in one byte, even with the same status', () => {
    const h = goodHistory();
    const last = h.attempts[2]!;
    if (last.outcome.type === 'response') last.outcome.body = last.outcome.body.replace('"extended":false', '"extended": false');
    expect(kinds(h)).toEqual(['replay-changed']);
  });

  it('does not count transient answers (503, 409 in progress) as answers to be replayed', () => {
    const h = goodHistory();
    h.attempts.push(attempt({ key: 'k4', bidderId: 'cat', amount: 130, attempt: 1, why: 'resend', outcome: { type: 'response', status: 503, body: '{"code":"ENGINE_UNAVAILABLE"}', replayed: false } }));
    expect(kinds(h)).toEqual([]);
  });

  it('reports a version gap in the ledger', () => {
    const h = goodHistory();
    h.ledger.bids[3]!.version = 5;
    h.ledger.auctions[0]!.version = 6;
    h.ledger.events[0]!.payload.version = 6;
    expect(kinds(h)).toContain('version-gap');
  });

  it('reports a price that did not rise by the increment in force', () => {
    const h = goodHistory();
    h.ledger.bids[3]!.amount = 115;
    h.ledger.auctions[0]!.currentPrice = 115;
    h.ledger.events[0]!.payload.finalPrice = 115;
    expect(kinds(h)).toContain('price-not-rising');
  });

  it('reports a late accept: at the effective end or after it', () => {
    const h = goodHistory();
    h.ledger.bids[3]!.createdAt = END;
    expect(kinds(h)).toContain('late-accept');
    const h2 = goodHistory();
    const a = h2.attempts[8]!;
    if (a.outcome.type === 'response') a.outcome.body = acceptedBody('b4', 'cat', 130, 4, END + 1);
    expect(kinds(h2)).toContain('late-accept');
  });

  it('reports a double end, an end with the wrong winner, and an auction that never ended', () => {
    const h = goodHistory();
    h.ledger.events.push({ id: 'A:6:AuctionEnded', auctionId: 'A', type: 'AuctionEnded', payload: { version: 6, winnerId: 'cat', finalPrice: 130 } });
    expect(kinds(h)).toContain('end-duplicated');

    const wrong = goodHistory();
    wrong.ledger.events[0]!.payload.winnerId = 'ben';
    expect(kinds(wrong)).toContain('end-wrong-result');

    const open = goodHistory();
    open.ledger.auctions[0]!.status = 'active';
    open.ledger.auctions[0]!.version = 4;
    open.ledger.auctions[0]!.closedAt = null;
    open.ledger.events = [];
    open.apiStates = [];
    open.viewers = [];
    expect(kinds(open)).toEqual(['end-missing']);
  });

  it('reports a viewer that went back a version, and one that never reached the final version', () => {
    const h = goodHistory();
    h.viewers[0]!.frames.splice(3, 0, { at: T0, version: 1, event: 'snapshot', status: 'active' });
    expect(kinds(h)).toEqual(['viewer-went-back']);

    const behind = goodHistory();
    behind.viewers[0]!.frames = behind.viewers[0]!.frames.filter((f) => f.version < 5);
    expect(kinds(behind)).toEqual(['viewer-behind']);
  });

  it('reports an API state that is not the ledger, and a probe the engine did not accept at the ledger version', () => {
    const h = goodHistory();
    h.apiStates[0]!.body!.version = 4;
    expect(kinds(h)).toEqual(['state-diverged']);

    const probe = goodHistory();
    probe.attempts.push(
      attempt({ key: 'p1', bidderId: 'probe', amount: 140, why: 'probe', expectVersion: 5, outcome: { type: 'response', status: 409, body: rejectedBody('b10', 140, 150, 'x', 6, T0 + 5_000), replayed: false } }),
    );
    expect(kinds(probe)).toContain('engine-diverged');
  });

  it('reports answers these requests should never get', () => {
    const h = goodHistory();
    h.attempts.push(attempt({ key: 'k9', bidderId: 'dan', amount: 200, outcome: { type: 'response', status: 500, body: '{"code":"INTERNAL"}', replayed: false } }));
    h.attempts.push(attempt({ key: 'k10', bidderId: 'dan', amount: 200, outcome: { type: 'response', status: 404, body: '{"code":"AUCTION_NOT_FOUND"}', replayed: false } }));
    expect(kinds(h)).toEqual(['internal-error', 'unexpected-status']);
  });
});
