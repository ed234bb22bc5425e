import { isSealed } from '../domain/auction.js';
import type { BidRecord } from '../domain/bid.js';
import { ErrorCodes, OutbidError } from '../errors.js';
import type { ListBidsQuery, Page } from '../ports/ledger.js';
import type { AuctionView, ListAuctionsRequest, ListBidsRequest } from './api.js';
import { idSchema, type ServiceContext } from './context.js';

const MAX_PAGE = 100;

export interface AuctionReads {
  getAuction(auctionId: string): Promise<AuctionView>;
  listAuctions(request?: ListAuctionsRequest): Promise<Page<AuctionView>>;
  listBids(auctionId: string, request?: ListBidsRequest): Promise<Page<BidRecord>>;
}

/** Reads come from the ledger (durable state), stamped with the engine's time. */
export function createAuctionReads(ctx: ServiceContext, flushAudit: () => Promise<void>): AuctionReads {
  const { engine, ledger } = ctx;
  return {
    async getAuction(auctionId) {
      ctx.ensureOpen();
      if (!idSchema.safeParse(auctionId).success) throw new OutbidError(ErrorCodes.AUCTION_NOT_FOUND, 'No such auction.');
      const state = await ctx.loadDurable(auctionId);
      return ctx.view(state, await engine.now());
    },
    async listAuctions(request = {}) {
      ctx.ensureOpen();
      const limit = Math.min(Math.max(request.limit ?? 20, 1), MAX_PAGE);
      const page = await ledger.listAuctions({ ...request, limit });
      const now = await engine.now();
      return { items: page.items.map((s) => ctx.view(s, now)), nextCursor: page.nextCursor };
    },
    async listBids(auctionId, request = {}) {
      ctx.ensureOpen();
      const state = await ctx.loadDurable(auctionId);
      const include = request.include ?? 'accepted';
      if (include === 'all' && request.actorId !== state.creatorId) {
        throw new OutbidError(ErrorCodes.NOT_AUCTION_CREATOR, 'Only the auction’s creator can see every bid.');
      }
      if (include === 'all') await flushAudit();
      const query: ListBidsQuery = { include, limit: Math.min(Math.max(request.limit ?? 50, 1), MAX_PAGE) };
      if (request.cursor !== undefined) query.cursor = request.cursor;
      const page = await ledger.listBids(auctionId, query);
      // Maximums stay secret while they can still matter: only the creator's audit of a closed auction shows them.
      if (include === 'all' && isSealed(state)) return page;
      return { items: page.items.map(withoutMaximum), nextCursor: page.nextCursor };
    },
  };
}

/** The record without its maximum (the field, the echo in its decision, and the fingerprint that spells it out). */
function withoutMaximum(record: BidRecord): BidRecord {
  if (record.maxAmount === null && (record.decision.maxAmount ?? null) === null) return record;
  return { ...record, maxAmount: null, fingerprint: '', decision: { ...record.decision, maxAmount: null } };
}
