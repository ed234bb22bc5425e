import type { BidAttempt, History, LedgerAuction, LedgerBid, IncrementRule } from './history.js';

/**
 * The history checker: a pure function from a recorded run to the list of broken promises. No I/O, no clock.
 *
 * What counts as an answer. A bid attempt's outcome is *decided* when the server made a decision it must keep:
 * `201` (accepted), `409` whose body carries `status: "rejected"` or `"late"`, and `422` (a refusal of the key).
 * Everything else is *transient* and promises nothing: a network error or timeout, `5xx`, `429`, and `409`
 * without a decision (`IDEMPOTENCY_IN_PROGRESS`: the first request with the key is still running). The first
 * decided answer any client received for a key (auction, bidder, key) is *the* answer; every later decided answer
 * for that key must be byte-identical (status and body).
 */

export const VIOLATION_KINDS = [
  'accept-lost', // a client saw `accepted`; the ledger has no such accepted bid
  'accept-mismatch', // the ledger has it with another version or amount
  'accept-denied', // the ledger holds an accepted bid for a key whose answer to the client was not that accept
  'replay-changed', // a later decided answer for a key differs from the first one (status or body)
  'key-two-bids', // one key's answers (or its ledger record) carry more than one bidId
  'version-gap', // the ledger's accepted versions of an auction are not a gapless run
  'price-not-rising', // an accepted amount below the previous price plus the increment in force (or below the start price)
  'ledger-inconsistent', // the auction row disagrees with its own accepted bids (price, winner, version, bid count)
  'late-accept', // an accept at or after the effective end in force
  'end-missing', // an auction whose end passed (plus grace) is not ended, or ended without its AuctionEnded event
  'end-duplicated', // more than one AuctionEnded for one auction
  'end-wrong-result', // the end's winner or price is not the ledger's last accepted bid
  'state-diverged', // the API's state after the faults healed is not the ledger's
  'engine-diverged', // a probe bid at the ledger's minimum was not accepted as the ledger's next version
  'viewer-went-back', // an SSE viewer saw a version lower than one it had seen
  'viewer-behind', // an SSE viewer never reached the ledger's final version
  'internal-error', // a 500 (or another 5xx than 502/503/504): a fault surfaced as an untyped error, not a typed 503
  'unexpected-status', // an answer the API should never give to these requests (e.g. 400, 404, 422)
] as const;
export type ViolationKind = (typeof VIOLATION_KINDS)[number];

export interface Violation {
  kind: ViolationKind;
  auctionId?: string;
  key?: string;
  message: string;
}

export interface CheckStats {
  /** Distinct idempotency keys sent (one bid each, however often sent). */
  bids: number;
  attempts: number;
  /** Attempts after a transient outcome. */
  retries: number;
  /** Attempts re-sending a key that already had a decided answer (a client whose answer was lost). */
  resends: number;
  accepted: number;
  rejected: number;
  transient: number;
  viewers: number;
  frames: number;
}

export interface CheckResult {
  violations: Violation[];
  byKind: Record<string, number>;
  stats: CheckStats;
}

type Outcome = BidAttempt['outcome'];

/** The decided-answer rule above. */
export function isDecided(outcome: Outcome): boolean {
  if (outcome.type !== 'response') return false;
  if (outcome.status === 201 || outcome.status === 422) return true;
  if (outcome.status === 409) {
    const status = parseBody(outcome.body)?.status;
    return status === 'rejected' || status === 'late';
  }
  return false;
}

/** Statuses these requests may legitimately get (well-formed bids, valid tokens, existing auctions). */
function isExpectedStatus(outcome: Outcome): boolean {
  if (outcome.type !== 'response') return true;
  const { status } = outcome;
  if (status === 201 || status === 429 || status === 502 || status === 503 || status === 504) return true;
  if (status === 409) {
    const body = parseBody(outcome.body);
    return body?.status === 'rejected' || body?.status === 'late' || body?.code === 'IDEMPOTENCY_IN_PROGRESS';
  }
  return false;
}

function parseBody(text: string): Record<string, unknown> | null {
  try {
    const value = JSON.parse(text) as unknown;
    return value && typeof value === 'object' ? (value as Record<string, unknown>) : null;
  } catch {
    return null;
  }
}

/** Written again here on purpose: the checker judges prices independently of the core it is checking. */
export function incrementAt(rule: IncrementRule, currentPrice: number): number {
  if (rule.type === 'fixed') return rule.amount;
  let step = rule.tiers[0]!.increment;
  for (const tier of rule.tiers) {
    if (tier.from > currentPrice) break;
    step = tier.increment;
  }
  return step;
}

const keyOf = (a: Pick<BidAttempt, 'auctionId' | 'bidderId' | 'key'>) => `${a.auctionId}\u0000${a.bidderId}\u0000${a.key}`;
const short = (text: string, max = 240) => (text.length > max ? `${text.slice(0, max)}…` : text);
const describe = (a: BidAttempt) =>
  a.outcome.type === 'response' ? `${a.outcome.status} ${short(a.outcome.body)} (via ${a.instance}, ${a.why} #${a.attempt})` : `error ${a.outcome.error}`;

export function checkHistory(history: History): CheckResult {
  const violations: Violation[] = [];
  const report = (kind: ViolationKind, message: string, where: { auctionId?: string; key?: string } = {}) =>
    violations.push({ kind, message, ...where });

  const attempts = [...history.attempts].sort((a, b) => a.seq - b.seq);
  const ledgerBidById = new Map(history.ledger.bids.map((b) => [b.bidId, b]));
  const ledgerAuctionById = new Map(history.ledger.auctions.map((a) => [a.id, a]));
  const ledgerBidsByKey = new Map<string, LedgerBid[]>();
  for (const b of history.ledger.bids) {
    if (b.idempotencyKey === null) continue;
    const k = keyOf({ auctionId: b.auctionId, bidderId: b.bidderId, key: b.idempotencyKey });
    ledgerBidsByKey.set(k, [...(ledgerBidsByKey.get(k) ?? []), b]);
  }

  // --- Per key: one answer, one bid. ---
  const byKey = new Map<string, BidAttempt[]>();
  for (const a of attempts) {
    if (!isExpectedStatus(a.outcome) && a.outcome.type === 'response') {
      report(a.outcome.status >= 500 ? 'internal-error' : 'unexpected-status', `bid ${a.key} got ${describe(a)}`, { auctionId: a.auctionId, key: a.key });
    }
    const list = byKey.get(keyOf(a));
    if (list) list.push(a);
    else byKey.set(keyOf(a), [a]);
  }
  const acceptedAnswers = new Map<string, { attempt: BidAttempt; body: Record<string, unknown> }>();
  for (const list of byKey.values()) {
    const decided = list.filter((a) => isDecided(a.outcome));
    const first = decided[0];
    if (!first || first.outcome.type !== 'response') continue;
    for (const later of decided.slice(1)) {
      if (later.outcome.type !== 'response') continue;
      if (later.outcome.status !== first.outcome.status || later.outcome.body !== first.outcome.body) {
        report('replay-changed', `key ${first.key} (bidder ${first.bidderId}): first ${describe(first)}; then ${describe(later)}`, {
          auctionId: first.auctionId,
          key: first.key,
        });
        break; // one report per key
      }
    }
    const bidIds = new Set<string>();
    for (const a of decided) {
      if (a.outcome.type !== 'response') continue;
      const body = parseBody(a.outcome.body);
      if (typeof body?.bidId === 'string') bidIds.add(body.bidId);
      if (a.outcome.status === 201 && body && typeof body.bidId === 'string' && !acceptedAnswers.has(body.bidId)) {
        acceptedAnswers.set(body.bidId, { attempt: a, body });
      }
    }
    // The ledger's record of the key must be the bid the client was told about.
    const firstBidId = parseBody(first.outcome.body)?.bidId;
    const recorded = ledgerBidsByKey.get(keyOf(first)) ?? [];
    for (const row of recorded) {
      if (typeof firstBidId !== 'string' || row.bidId === firstBidId) continue;
      if (row.status === 'accepted') {
        report('accept-denied', `key ${first.key} (bidder ${first.bidderId}) was answered ${describe(first)}; the ledger holds accepted bid ${row.bidId} v${row.version} for it`, {
          auctionId: first.auctionId,
          key: first.key,
        });
      } else bidIds.add(row.bidId);
    }
    if (recorded.length > 1) report('key-two-bids', `key ${first.key} (bidder ${first.bidderId}) has ${recorded.length} rows in the ledger`, { auctionId: first.auctionId, key: first.key });
    if (bidIds.size > 1) {
      report('key-two-bids', `key ${first.key} (bidder ${first.bidderId}) was answered with ${bidIds.size} bids: ${[...bidIds].join(', ')}`, {
        auctionId: first.auctionId,
        key: first.key,
      });
    }
  }

  // --- Every accept a client saw is in the ledger, once, as answered. ---
  for (const [bidId, { attempt, body }] of acceptedAnswers) {
    const row = ledgerBidById.get(bidId);
    const where = { auctionId: attempt.auctionId, key: attempt.key };
    if (!row || row.status !== 'accepted') {
      report('accept-lost', `bid ${bidId} (key ${attempt.key}) was answered accepted at v${String(body.version)}; ledger: ${row ? row.status : 'no row'}`, where);
      continue;
    }
    if (row.version !== body.version || row.amount !== body.amount) {
      report('accept-mismatch', `bid ${bidId}: answered v${String(body.version)} amount ${String(body.amount)}; ledger v${row.version} amount ${row.amount}`, where);
    }
    const auction = ledgerAuctionById.get(attempt.auctionId);
    const decidedAt = typeof body.serverTime === 'string' ? Date.parse(body.serverTime) : NaN;
    if (auction && decidedAt >= auction.effectiveEndAt) {
      report('late-accept', `bid ${bidId} answered accepted at ${String(body.serverTime)}, at or after the auction's final end ${new Date(auction.effectiveEndAt).toISOString()}`, where);
    }
  }

  // --- The ledger, auction by auction. ---
  const bidsByAuction = new Map<string, LedgerBid[]>();
  for (const b of history.ledger.bids) {
    if (b.status !== 'accepted') continue;
    const list = bidsByAuction.get(b.auctionId);
    if (list) list.push(b);
    else bidsByAuction.set(b.auctionId, [b]);
  }
  const endedEvents = new Map<string, LedgerEventList>();
  for (const e of history.ledger.events) {
    if (e.type !== 'AuctionEnded') continue;
    const list = endedEvents.get(e.auctionId) ?? [];
    list.push(e);
    endedEvents.set(e.auctionId, list);
  }
  const ours = new Set(history.auctions.map((a) => a.id));
  for (const auction of history.ledger.auctions) {
    if (!ours.has(auction.id)) continue;
    checkLedgerAuction(auction, (bidsByAuction.get(auction.id) ?? []).sort((a, b) => (a.version ?? 0) - (b.version ?? 0)), endedEvents.get(auction.id) ?? [], history, report);
  }
  for (const id of ours) if (!ledgerAuctionById.has(id)) report('end-missing', `auction ${id} is not in the ledger at all`, { auctionId: id });

  // --- The API after the faults healed serves the ledger's state. ---
  for (const s of history.apiStates) {
    const a = ledgerAuctionById.get(s.auctionId);
    if (!a) continue;
    const b = s.body;
    const same =
      s.status === 200 &&
      b !== null &&
      b.status === a.status &&
      b.currentPrice === a.currentPrice &&
      b.currentWinnerId === a.currentWinnerId &&
      b.version === a.version &&
      b.bidCount === a.bidCount &&
      b.endAt === new Date(a.effectiveEndAt).toISOString();
    if (!same) {
      report('state-diverged', `GET via ${s.instance}: ${s.status} ${short(JSON.stringify(b))}; ledger: ${a.status} ${a.currentPrice} ${a.currentWinnerId} v${a.version}`, { auctionId: a.id });
    }
  }

  // --- Probes: a bid at the ledger's minimum after healing must become the ledger's next version. ---
  const probes = new Map<string, BidAttempt[]>();
  for (const a of attempts) if (a.why === 'probe' && a.expectVersion) probes.set(keyOf(a), [...(probes.get(keyOf(a)) ?? []), a]);
  for (const list of probes.values()) {
    const answer = list.find((a) => isDecided(a.outcome));
    const a = answer ?? list.at(-1)!;
    const body = a.outcome.type === 'response' ? parseBody(a.outcome.body) : null;
    if (!answer || a.outcome.type !== 'response' || a.outcome.status !== 201 || body?.version !== a.expectVersion) {
      report('engine-diverged', `probe bid ${a.amount} via ${a.instance} expected accepted at v${a.expectVersion}; got ${answer ? '' : 'no decision, last: '}${describe(a)}`, { auctionId: a.auctionId, key: a.key });
    }
  }

  // --- SSE viewers: never back, always to the end. ---
  for (const v of history.viewers) {
    let highest = 0;
    for (const f of v.frames) {
      if (f.version < highest) {
        report('viewer-went-back', `viewer ${v.viewer} (via ${v.instance}) saw v${f.version} (${f.event}) after v${highest}`, { auctionId: v.auctionId });
        break;
      }
      highest = f.version;
    }
    const a = ledgerAuctionById.get(v.auctionId);
    const top = v.frames.reduce((m, f) => Math.max(m, f.version), 0);
    if (a && top < a.version) report('viewer-behind', `viewer ${v.viewer} (via ${v.instance}) reached v${top}; the ledger is at v${a.version}`, { auctionId: v.auctionId });
  }

  const byKind: Record<string, number> = {};
  for (const v of violations) byKind[v.kind] = (byKind[v.kind] ?? 0) + 1;
  return { violations, byKind, stats: statsOf(history, byKey) };
}

type LedgerEventList = History['ledger']['events'];

function checkLedgerAuction(
  auction: LedgerAuction,
  accepted: LedgerBid[],
  ended: LedgerEventList,
  history: History,
  report: (kind: ViolationKind, message: string, where?: { auctionId?: string; key?: string }) => void,
) {
  const where = { auctionId: auction.id };
  // Versions: a gapless run; prices rising by at least the increment in force; each accept before the end in force.
  let endInForce = auction.endAt;
  let previous: LedgerBid | null = null;
  for (const bid of accepted) {
    if (previous && bid.version !== previous.version! + 1) {
      report('version-gap', `accepted versions go from v${previous.version} to v${bid.version}`, where);
    }
    const minimum = previous ? previous.amount + incrementAt(auction.increment, previous.amount) : auction.startPrice;
    if (bid.amount < minimum) report('price-not-rising', `v${bid.version} accepted ${bid.amount}; the minimum in force was ${minimum}`, where);
    if (bid.createdAt >= endInForce) {
      report('late-accept', `v${bid.version} (bid ${bid.bidId}) accepted at ${new Date(bid.createdAt).toISOString()}, end in force ${new Date(endInForce).toISOString()}`, where);
    }
    const decision = safeJson(bid.decision);
    const newEnd = typeof decision?.endAt === 'number' ? decision.endAt : endInForce;
    endInForce = Math.max(endInForce, newEnd);
    previous = bid;
  }
  const last = accepted.at(-1) ?? null;
  const sealed = auction.status === 'ended' || auction.status === 'cancelled';
  if (last) {
    const expectedVersion = last.version! + (sealed ? 1 : 0);
    const problems: string[] = [];
    if (auction.version !== expectedVersion) problems.push(`version ${auction.version}, expected ${expectedVersion} after the last accept v${last.version}`);
    if (auction.currentPrice !== last.amount) problems.push(`price ${auction.currentPrice}, last accept ${last.amount}`);
    if (auction.currentWinnerId !== last.bidderId) problems.push(`winner ${auction.currentWinnerId}, last accept by ${last.bidderId}`);
    if (auction.bidCount !== accepted.length) problems.push(`bidCount ${auction.bidCount}, ${accepted.length} accepted bids`);
    if (problems.length > 0) report('ledger-inconsistent', problems.join('; '), where);
  }

  // Ends.
  if (auction.status !== 'ended' && auction.status !== 'cancelled' && auction.effectiveEndAt + history.endGraceMs < history.ledgerReadAt) {
    report('end-missing', `status ${auction.status} ${history.ledgerReadAt - auction.effectiveEndAt} ms after its end ${new Date(auction.effectiveEndAt).toISOString()}`, where);
  }
  if (auction.status === 'ended' && ended.length === 0) report('end-missing', 'status ended but no AuctionEnded event in the outbox', where);
  if (ended.length > 1) report('end-duplicated', `${ended.length} AuctionEnded events: ${ended.map((e) => `v${e.payload.version}`).join(', ')}`, where);
  for (const e of ended.slice(0, 1)) {
    const winner = last ? last.bidderId : null;
    const price = last ? last.amount : null;
    if ((e.payload.winnerId ?? null) !== winner || (e.payload.finalPrice ?? null) !== price) {
      report('end-wrong-result', `AuctionEnded says ${String(e.payload.winnerId)} at ${String(e.payload.finalPrice)}; the ledger's last accept: ${winner} at ${price}`, where);
    }
  }
  if (auction.status === 'ended' && auction.closedAt !== null && auction.closedAt < auction.effectiveEndAt) {
    report('end-wrong-result', `closed at ${new Date(auction.closedAt).toISOString()}, before its effective end ${new Date(auction.effectiveEndAt).toISOString()}`, where);
  }
}

function safeJson(text: string): Record<string, unknown> | null {
  try {
    return JSON.parse(text) as Record<string, unknown>;
  } catch {
    return null;
  }
}

function statsOf(history: History, byKey: Map<string, BidAttempt[]>): CheckStats {
  let accepted = 0;
  let rejected = 0;
  for (const list of byKey.values()) {
    const first = list.find((a) => isDecided(a.outcome));
    if (first?.outcome.type === 'response') {
      if (first.outcome.status === 201) accepted++;
      else rejected++;
    }
  }
  return {
    bids: byKey.size,
    attempts: history.attempts.length,
    retries: history.attempts.filter((a) => a.why === 'retry').length,
    resends: history.attempts.filter((a) => a.why === 'resend').length,
    accepted,
    rejected,
    transient: history.attempts.filter((a) => !isDecided(a.outcome)).length,
    viewers: history.viewers.length,
    frames: history.viewers.reduce((n, v) => n + v.frames.length, 0),
  };
}
