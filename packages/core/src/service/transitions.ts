import { createAuctionInputSchema, minNextBid, winnerOf, type AuctionState, type CreateAuctionInput } from '../domain/auction.js';
import { makeEvent, type AuctionEvent } from '../domain/events.js';
import { ErrorCodes, OutbidError, validationError } from '../errors.js';
import type { EngineTransitionResult } from '../ports/engine.js';
import type { JobOutcome, ScheduledJob } from '../ports/scheduler.js';
import type { TransitionMode } from '../rules/transitions.js';
import { sameState } from '../rules/verify-change.js';
import { zodIssues } from '../validation.js';
import type { AuctionView } from './api.js';
import { idSchema, MAX_ATTEMPTS, type ServiceContext } from './context.js';
import { createWriteBatcher } from './write-batcher.js';

type Transition = (auctionId: string) => Promise<EngineTransitionResult>;

export interface AuctionTransitions {
  createAuction(creatorId: string, input: CreateAuctionInput): Promise<AuctionView>;
  startAuction(auctionId: string, actorId: string): Promise<AuctionView>;
  endAuction(auctionId: string, actorId: string): Promise<AuctionView>;
  cancelAuction(auctionId: string, actorId: string): Promise<AuctionView>;
  /** Runs a due start or end now (what the scheduler and the guard call). */
  runDueJob(job: ScheduledJob): Promise<JobOutcome>;
}

function transitionEvents(state: AuctionState, now: number): AuctionEvent[] {
  const min = minNextBid(state);
  switch (state.status) {
    case 'active':
      return [makeEvent('AuctionStarted', state, min, now, {})];
    case 'ended':
      return [
        makeEvent('AuctionEnded', state, min, now, winnerOf(state)),
      ];
    case 'cancelled':
      return [makeEvent('AuctionCancelled', state, min, now, {})];
    default:
      return [];
  }
}

/** Creation, start, end and cancel of auctions, by their creator or when due (scheduler and guard). */
export function createAuctionTransitions(ctx: ServiceContext): AuctionTransitions {
  const { engine, ledger, scheduler, hooks } = ctx;
  // Starts, ends and cancels are written in batches: 2,000 auctions ending in one second become a few dozen
  // commits instead of 2,000, which is what keeps each end within its SLA. Bids keep their own write (bidders
  // wait on it).
  const writeBatched = createWriteBatcher(ledger);

  /** Engine decides, ledger records (fenced), scheduler follows. Same repair loop as bids. */
  const runTransition = async (auctionId: string, decide: Transition, viaSchedulerEnd = false): Promise<EngineTransitionResult> => {
    for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
      const result = await decide(auctionId);
      if (result.kind === 'needs_hydration') {
        await ctx.rehydrate(auctionId, null);
        continue;
      }
      if (result.kind === 'unchanged') {
        const durable = await ctx.loadDurable(auctionId);
        if (durable.status === result.state.status) return result;
        await ctx.rehydrate(auctionId, 'engine status ahead of the ledger');
        continue;
      }
      if (result.kind !== 'applied') return result;
      const now = await engine.now();
      const change = { state: result.state, events: transitionEvents(result.state, now) };
      const outcome = await ctx.persist(auctionId, change, writeBatched).catch(async (error: unknown) => {
        // The commit may have happened with only its acknowledgement lost. If the ledger holds exactly this state,
        // the change stands and its events go to this process's listeners (without an outbox nothing else would).
        const durable = await ledger.getAuction(auctionId).catch(() => null);
        if (durable === null || !sameState(durable, change.state)) throw error;
        ctx.deliverCommitted(change.events);
        return { ok: true } as const;
      });
      if (outcome.ok) {
        ctx.kickRelay();
        if (result.state.status === 'ended') hooks.onEnded?.(result.state, Math.max(0, now - result.previous.effectiveEndAt));
        // Sealed: no job may run any more. Skipped for a due end of a started auction: the scheduler running it
        // acknowledges it itself, and nothing else is armed.
        const ranByItsOwnJob = viaSchedulerEnd && result.previous.status === 'active';
        if (result.state.status !== 'active' && !ranByItsOwnJob) await scheduler.cancel(auctionId);
        return result;
      }
      if (outcome.reason === 'not_found') throw new OutbidError(ErrorCodes.AUCTION_NOT_FOUND, `Auction ${auctionId} does not exist.`);
      await ctx.rehydrate(auctionId, `ledger fence: ${outcome.reason}`);
    }
    throw new OutbidError(ErrorCodes.CONFLICT_RETRY_EXHAUSTED, 'The change could not be recorded; try again.', { retryAfterMs: 500 });
  };

  const manage = async (auctionId: string, actorId: string, decide: Transition): Promise<AuctionView> => {
    ctx.ensureOpen();
    const durable = await ctx.loadDurable(auctionId);
    if (durable.creatorId !== actorId) {
      throw new OutbidError(ErrorCodes.NOT_AUCTION_CREATOR, 'Only the auction’s creator can do that.');
    }
    const result = await runTransition(auctionId, decide);
    if (result.kind === 'needs_hydration') throw new OutbidError(ErrorCodes.ENGINE_UNAVAILABLE, 'The engine lost the auction.');
    if (result.kind === 'refused') {
      throw new OutbidError(ErrorCodes.INVALID_TRANSITION, result.reason === 'AUCTION_ENDED' ? 'The auction has ended.' : 'The auction was cancelled.');
    }
    return ctx.view(result.state, await engine.now());
  };

  const runDueJob = async (job: ScheduledJob): Promise<JobOutcome> => {
    const mode: TransitionMode = 'due';
    const result = await runTransition(job.auctionId, (id) => (job.kind === 'start' ? engine.start(id, mode) : engine.end(id, mode)), job.kind === 'end');
    if (result.kind === 'not_due') return { kind: 'rearm', at: result.dueAt };
    return { kind: 'done' };
  };

  async function createAuction(creatorId: string, input: CreateAuctionInput): Promise<AuctionView> {
    ctx.ensureOpen();
    const creator = idSchema.safeParse(creatorId);
    const parsed = createAuctionInputSchema.safeParse(input);
    if (!creator.success) throw validationError([{ path: 'creatorId', message: 'must be a non-empty id' }]);
    if (!parsed.success) throw validationError(zodIssues(parsed.error));
    const now = await engine.now();
    const data = parsed.data;
    if (data.endAt <= now) throw validationError([{ path: 'endAt', message: 'must be in the future' }]);
    const state: AuctionState = {
      id: ctx.newId(),
      postId: data.postId,
      creatorId,
      currency: data.currency,
      startAt: data.startAt,
      endAt: data.endAt,
      effectiveEndAt: data.endAt,
      startPrice: data.startPrice,
      increment: data.increment,
      softClose: data.softClose,
      status: data.startAt <= now ? 'active' : 'scheduled',
      currentPrice: data.startPrice,
      currentWinnerId: null,
      version: 1,
      bidCount: 0,
      extensionCount: 0,
      createdAt: now,
      closedAt: null,
      reservePrice: data.reservePrice,
      buyNowPrice: data.buyNowPrice,
      buyNowPolicy: data.buyNowPrice === null ? null : data.buyNowPolicy,
      leaderMax: null,
    };
    const created = [makeEvent('AuctionCreated', state, minNextBid(state), now, { creatorId, postId: state.postId })];
    await ledger.createAuction(state, created);
    ctx.deliverCommitted(created);
    ctx.kickRelay();
    await engine.hydrate(state);
    if (state.status === 'scheduled') await scheduler.arm({ auctionId: state.id, kind: 'start', at: state.startAt });
    await scheduler.arm({ auctionId: state.id, kind: 'end', at: state.effectiveEndAt });
    return ctx.view(state, now);
  }

  return {
    createAuction,
    startAuction: (auctionId, actorId) => manage(auctionId, actorId, (id) => engine.start(id, 'now')),
    endAuction: (auctionId, actorId) => manage(auctionId, actorId, (id) => engine.end(id, 'now')),
    cancelAuction: (auctionId, actorId) => manage(auctionId, actorId, (id) => engine.cancel(id)),
    runDueJob,
  };
}
