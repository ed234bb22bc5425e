import { z } from 'zod';
import { minNextBid, winnerOf, type AuctionState } from '../domain/auction.js';
import { bidRecordFromDecision, type BidDecision, type BidKind, type BidRecord } from '../domain/bid.js';
import { makeEvent, type AuctionEvent } from '../domain/events.js';
import { ErrorCodes, OutbidError, validationError } from '../errors.js';
import type { ApplyResult, LedgerChange } from '../ports/ledger.js';
import { bidFingerprint, isStoredDecision, keyReusedDecision, type PlaceBidCommand } from '../rules/place-bid.js';
import { isStorableText } from '../domain/text.js';
import { zodIssues } from '../validation.js';
import type { BidTiming, PlaceBidRequest, PlaceBidResponse } from './api.js';
import { createAuditWriter } from './audit.js';
import { idSchema, MAX_ATTEMPTS, type ServiceContext } from './context.js';

const amountSchema = (name: string) => z.number({ error: `${name} must be a number of minor units` }).refine(Number.isFinite, `${name} must be finite`);
const bidRequestSchema = z
  .strictObject({
    auctionId: idSchema,
    bidderId: idSchema,
    amount: amountSchema('amount').nullable().optional(),
    maxAmount: amountSchema('maxAmount').nullable().optional(),
    buyNow: z.boolean().optional(),
    idempotencyKey: z.string().min(1).max(255).refine(isStorableText, 'must not contain control characters').nullable().optional(),
  })
  .superRefine((r, ctx) => {
    const amount = r.amount ?? null;
    const max = r.maxAmount ?? null;
    if (r.buyNow) {
      if (amount !== null || max !== null) ctx.addIssue({ code: 'custom', path: ['buyNow'], message: 'a Buy It Now takes no amount or maxAmount' });
    } else if (amount === null && max === null) {
      ctx.addIssue({ code: 'custom', path: ['amount'], message: 'give amount, maxAmount, or both' });
    } else if (amount !== null && max !== null && amount > max) {
      ctx.addIssue({ code: 'custom', path: ['maxAmount'], message: 'must not be below amount' });
    }
  });

export interface BidDesk {
  /** Decide in the engine → persist in the ledger (fenced) → answer; retries with a key get the first answer. */
  placeBid(request: PlaceBidRequest): Promise<PlaceBidResponse>;
  /** Writes the queued audit records (rejected bids) now instead of at the next batch. */
  flushAudit(): Promise<void>;
}

/** The waits of one placeBid call so far (its BidTiming once answered). */
interface Waits {
  started: number;
  engineMs: number;
  ledgerMs: number;
}

export function createBidDesk(ctx: ServiceContext): BidDesk {
  const { engine, ledger, hooks, log, persistTimeoutMs } = ctx;
  const inFlightAccepts = new Map<string, Promise<unknown>>();
  const auditTrail = createAuditWriter(ctx, { carry: ctx.carryAudit });

  /**
   * Records a decision that was not an accept. A keyed answer that a retry must get again (rejected or late) is
   * answered only once its record is in the ledger, so it survives any restart; the rest are written in the
   * background.
   */
  const audit = async (decision: BidDecision, key: string | null, fingerprint: string, waits: Waits): Promise<BidRecord | null> => {
    if (!Number.isSafeInteger(decision.amount) || decision.reason === 'IDEMPOTENCY_KEY_REUSED') return null;
    const record = bidRecordFromDecision(decision, key, fingerprint);
    if (key === null || !isStoredDecision(decision)) {
      auditTrail.recordInBackground(record);
      return null;
    }
    const recording = performance.now();
    try {
      return await auditTrail.record(record);
    } catch (error) {
      log.warn({ err: error, auctionId: decision.auctionId }, 'refused bid not recorded; its bidder is asked to retry');
      throw new OutbidError(ErrorCodes.LEDGER_UNAVAILABLE, 'The decision could not be recorded yet; retry with the same key.', { cause: error, retryAfterMs: 1_000 });
    } finally {
      waits.ledgerMs += performance.now() - recording;
    }
  };

  /**
   * The ledger change for a decision that moved the auction: the record holding the new version, its events, and
   * (when the leader's maximum answered a rival's bid) the rival's refused bid as the trigger.
   */
  const changeFor = (decision: BidDecision, state: AuctionState, kind: BidKind, key: string | null, fingerprint: string, previousEndAt: number): LedgerChange => {
    const own = bidRecordFromDecision(decision, key, fingerprint, decision.status === 'accepted' ? kind : 'bid');
    const automatic = decision.status === 'accepted' ? null : automaticBid(decision, state, ctx.newId());
    const bid = automatic ?? own;
    const min = minNextBid(state);
    const events: AuctionEvent[] = [];
    if (kind !== 'maximum') {
      const extra = kind === 'proxy' ? { automatic: true } : kind === 'buy_now' ? { buyNow: true } : {};
      events.push(makeEvent('BidAccepted', state, min, decision.decidedAt, { bidId: bid.bidId, bidderId: bid.bidderId, amount: bid.amount, ...extra }));
    }
    if (decision.extended) events.push(makeEvent('AuctionExtended', state, min, decision.decidedAt, { previousEndAt }));
    if (kind === 'buy_now') events.push(makeEvent('AuctionEnded', state, min, decision.decidedAt, winnerOf(state)));
    return automatic ? { state, bid, trigger: own, events } : { state, bid, events };
  };

  /**
   * A replayed `accepted` is reported only once the ledger has it. Returns the stored decision, or null when
   * the accept is lost (it never reached the ledger in time): the caller re-decides.
   */
  const confirmAccepted = async (decision: BidDecision, key: string): Promise<BidDecision | null> => {
    const pending = inFlightAccepts.get(decision.bidId);
    if (pending) await pending.catch(() => undefined);
    const stored = await ledger.findBidByIdempotencyKey(decision.auctionId, decision.bidderId, key);
    if (stored) return stored.decision;
    const age = (await engine.now()) - decision.decidedAt;
    if (age < persistTimeoutMs) {
      throw new OutbidError(ErrorCodes.IDEMPOTENCY_IN_PROGRESS, 'The first request with this key is still being processed.', {
        retryAfterMs: 1_000,
      });
    }
    return null;
  };

  // The helpers of one request live here, not inside placeBid: closures made per request cost their creation on
  // every bid (and under tsx, which keeps function names, a defineProperty each: 1.3% of the server's profile).
  /** The answer, reported to hooks.onBidDecided with where its time went. */
  const respond = (waits: Waits, decision: BidDecision, replayed: boolean): PlaceBidResponse => {
    const timing: BidTiming = { engineMs: waits.engineMs, ledgerMs: waits.ledgerMs, totalMs: performance.now() - waits.started };
    hooks.onBidDecided?.(decision, { replayed, durationMs: timing.totalMs, timing });
    return { decision, replayed, timing };
  };
  /** The ledger's record for this key answers: its first answer, or IDEMPOTENCY_KEY_REUSED for another payload. */
  const answerStored = async (command: PlaceBidCommand, waits: Waits, stored: BidRecord): Promise<PlaceBidResponse> => {
    if (stored.fingerprint === command.fingerprint) return respond(waits, stored.decision, true);
    const reused = keyReusedDecision(await ctx.loadDurable(command.auctionId), { ...command, bidId: stored.bidId }, await engine.now());
    return respond(waits, reused, false);
  };
  /**
   * Answers a refusal once it is recorded. When the ledger already holds another bid under this key (the engine
   * lost that record, e.g. its copy was rebuilt before the first attempt's write landed), the ledger's first
   * answer is given instead, and the engine's copy is rebuilt so it knows the key again.
   */
  const answerRefusal = async (command: PlaceBidCommand, waits: Waits, decision: BidDecision, replayed: boolean): Promise<PlaceBidResponse> => {
    const held = await audit(decision, command.idempotencyKey, command.fingerprint, waits);
    if (held === null) return respond(waits, decision, replayed);
    await ctx.rehydrate(command.auctionId, 'idempotency key held by another bid in the ledger').catch(() => undefined);
    return answerStored(command, waits, held);
  };

  const placeBid = async (request: PlaceBidRequest): Promise<PlaceBidResponse> => {
    ctx.ensureOpen();
    const parsed = bidRequestSchema.safeParse(request);
    if (!parsed.success) throw validationError(zodIssues(parsed.error));
    const waits: Waits = { started: performance.now(), engineMs: 0, ledgerMs: 0 };
    const { auctionId, bidderId } = parsed.data;
    const amount = parsed.data.amount ?? null;
    const maxAmount = parsed.data.maxAmount ?? null;
    const buyNow = parsed.data.buyNow === true;
    const key = parsed.data.idempotencyKey ?? null;
    const fingerprint = bidFingerprint({ amount, maxAmount, buyNow });
    // One command for every attempt: the same bid id, so a retried decision is the same bid.
    const command: PlaceBidCommand = { auctionId, bidderId, amount, maxAmount, buyNow, bidId: ctx.newId(), idempotencyKey: key, fingerprint };

    for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
      const deciding = performance.now();
      const result = await engine.placeBid(command);
      waits.engineMs += performance.now() - deciding;
      if (result.kind === 'needs_hydration') {
        // Redis may have lost its copy (and with it the idempotency record): the ledger answers retries first.
        if (key !== null) {
          const stored = await ledger.findBidByIdempotencyKey(auctionId, bidderId, key);
          if (stored) return answerStored(command, waits, stored);
        }
        await ctx.rehydrate(auctionId, null);
        continue;
      }
      const { decision } = result;
      if (result.replayed) {
        if (key === null) return respond(waits, decision, true);
        if (decision.status !== 'accepted' && decision.reason !== 'OUTBID_BY_PROXY') {
          // The first attempt may still be writing its record (or have died before it did): a replay is an answer
          // too, so it leaves only once the record is in the ledger (the write ignores a record already there).
          return answerRefusal(command, waits, decision, true);
        }
        const confirmed = await confirmAccepted(decision, key);
        if (confirmed) return respond(waits, confirmed, true);
        await ctx.rehydrate(auctionId, 'replayed accept never reached the ledger');
        continue;
      }
      const state = result.state;
      if (!state) {
        if (decision.status === 'accepted') throw new Error(`engine ${engine.name} accepted a bid without returning the new state`);
        return answerRefusal(command, waits, decision, false);
      }
      const change = changeFor(decision, state, result.bidKind ?? 'bid', key, fingerprint, result.previousEndAt ?? state.effectiveEndAt);
      const write = ctx.persistBid(change);
      inFlightAccepts.set(decision.bidId, write);
      let outcome: ApplyResult;
      const committing = performance.now();
      try {
        outcome = await write;
        waits.ledgerMs += performance.now() - committing;
      } catch (error) {
        waits.ledgerMs += performance.now() - committing; // the failed write was waited for too
        log.warn({ err: error, auctionId }, 'accepted bid not confirmed by the ledger');
        // The engine may now be ahead of the ledger: forget its copy so nobody builds on an unrecorded accept.
        await engine.drop(auctionId).catch(() => undefined);
        // The commit may have happened with only its acknowledgement lost: if the ledger has the bid, it stands.
        const recorded = key === null ? null : await ledger.findBidByIdempotencyKey(auctionId, bidderId, key).catch(() => null);
        if (recorded?.bidId === decision.bidId) {
          // Its events were committed with it: hand them over here too (without an outbox nothing else would).
          ctx.deliverCommitted(change.events);
          ctx.kickRelay();
          return respond(waits, recorded.decision, false);
        }
        throw new OutbidError(ErrorCodes.LEDGER_UNAVAILABLE, 'The ledger did not confirm the bid, so whether it was placed is not known yet; retry with the same Idempotency-Key.', {
          cause: error,
          retryAfterMs: 1_000,
        });
      } finally {
        inFlightAccepts.delete(decision.bidId);
      }
      if (outcome.ok) {
        ctx.kickRelay();
        if (result.bidKind === 'proxy' || result.bidKind === 'buy_now') hooks.onAutomatic?.(result.bidKind, state);
        if (result.bidKind === 'buy_now') {
          hooks.onEnded?.(state, 0);
          // Sealed by the purchase: its end job has nothing left to do.
          await ctx.scheduler.cancel(auctionId).catch((error: unknown) => log.warn({ err: error, auctionId }, 'end job not cancelled after Buy It Now; it will find the auction ended'));
        }
        return respond(waits, decision, false);
      }
      if (outcome.reason === 'duplicate_key') {
        await ctx.rehydrate(auctionId, 'idempotency key already in the ledger');
        return respond(waits, outcome.existing.decision, true);
      }
      if (outcome.reason === 'not_found') throw new OutbidError(ErrorCodes.AUCTION_NOT_FOUND, `Auction ${auctionId} does not exist.`);
      await ctx.rehydrate(auctionId, `ledger fence: ${outcome.reason} at version ${outcome.ledgerVersion}`);
    }
    throw new OutbidError(ErrorCodes.CONFLICT_RETRY_EXHAUSTED, 'The bid could not be decided; try again.', { retryAfterMs: 500 });
  };


  return { placeBid, flushAudit: () => auditTrail.flush() };
}

/** The bid the engine placed for the leader's maximum in answer to `rival` (a refused OUTBID_BY_PROXY decision). */
export function automaticBid(rival: BidDecision, state: AuctionState, bidId: string): BidRecord {
  const decision: BidDecision = {
    status: 'accepted',
    reason: null,
    bidId,
    auctionId: state.id,
    bidderId: state.currentWinnerId!,
    amount: state.currentPrice,
    minNextBid: rival.minNextBid,
    auctionStatus: state.status,
    currentPrice: state.currentPrice,
    currentWinnerId: state.currentWinnerId,
    version: state.version,
    endAt: state.effectiveEndAt,
    extended: rival.extended,
    decidedAt: rival.decidedAt,
    maxAmount: null,
    reserveMet: rival.reserveMet,
    buyNowAvailable: rival.buyNowAvailable,
  };
  return bidRecordFromDecision(decision, null, '', 'proxy');
}
