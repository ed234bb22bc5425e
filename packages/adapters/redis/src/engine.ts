import {
  ENGINE_RETENTION,
  ENGINE_SPECIFICATION_VERSION,
  engineIdempotencyTtlMs,
  isStoredDecision,
  type AuctionState,
  type BidEngine,
  type BidKind,
  type EngineBidResult,
  type EngineTransitionResult,
  type PlaceBidCommand,
  type TransitionMode,
} from '@outbid/core';
import type { Cluster, Redis } from 'ioredis';
import { whenReady } from './connection.js';
import { DECISION_FIELDS, decisionFromFields, decisionToFields, idempotencyField, pack, STATE_FIELDS, stateFromValues, stateToFields, unpack } from './codec.js';
import {
  decodeReply,
  HydrateReply,
  PlaceBidReply,
  directCall,
  loadScripts,
  registerScripts,
  TransitionReply,
  type ScriptCall,
  type PlaceBidReplyCode,
  type ReplyDecoders,
  type ScriptArg,
  type TransitionReplyCode,
} from './scripts.js';

export interface RedisEngineOptions {
  /** An ioredis client or Cluster. Every key of one auction shares the hash tag `{a:<id>}`. */
  redis: Redis | Cluster;
  /** Key prefix. Default `outbid`. */
  prefix?: string;
  /** Idempotency records live until the auction's effective end plus this. Default 7 days, at least 24 h (`ENGINE_RETENTION` in @outbid/core). */
  idempotencyTtlMs?: number;
  /** A sealed (ended or cancelled) auction stays in Redis this long, then is hydrated on demand. Default 24 h. */
  sealedRetentionMs?: number;
  /** `close()` also quits the client. Default false (the client is yours). */
  quitOnClose?: boolean;
  /** Skip the start-up checks of the server version and eviction policy (not recommended). */
  skipServerChecks?: boolean;
  /**
   * Bids on one auction that arrive in the same event-loop turn go to Redis together, up to this many per script
   * call (`place_bids.lua`), decided one after another exactly as one by one. A stampede on one auction then costs
   * one command and one state read per run of refusals instead of one per bid. Default 32 (a longer script holds
   * Redis longer); 1 sends every bid at once on its own. Anything but a whole number ≥ 1 is a TypeError.
   */
  maxBidsPerCall?: number;
}

const DEFAULT_MAX_BIDS_PER_CALL = 32;

/** A bid waiting for its auction's next script call: its place_bid arguments after the keys and the engine's own. */
interface QueuedBid {
  cmd: PlaceBidCommand;
  args: [bidderId: string, amount: string, bidId: string, field: string, fingerprint: string, maxAmount: string, buyNow: string];
  resolve(result: EngineBidResult): void;
  reject(error: unknown): void;
}

/** place_bid replies (see the header of lua/place_bid.lua). */
const KEY_REUSED_FROM = 1;
const DECIDED_FROM = 3;
const placeBidDecoders: ReplyDecoders<PlaceBidReplyCode, PlaceBidCommand, EngineBidResult> = {
  [PlaceBidReply.NEEDS_HYDRATION]: () => ({ kind: 'needs_hydration' }),
  [PlaceBidReply.REPLAY]: (reply, cmd) => ({
    kind: 'decided',
    decision: decisionFromFields(unpack(reply[1]!).slice(1), cmd),
    replayed: true,
    state: null,
    bidKind: null,
    previousEndAt: null,
  }),
  [PlaceBidReply.KEY_REUSED]: (reply, cmd) => ({
    kind: 'decided',
    decision: decisionFromFields(reply.slice(KEY_REUSED_FROM, KEY_REUSED_FROM + DECISION_FIELDS), cmd),
    replayed: false,
    state: null,
    bidKind: null,
    previousEndAt: null,
  }),
  [PlaceBidReply.DECIDED]: (reply, cmd) => {
    const decision = decisionFromFields(reply.slice(DECIDED_FROM, DECIDED_FROM + DECISION_FIELDS), cmd);
    // A bid kind means the auction changed (an accept, or OUTBID_BY_PROXY: the leader's automatic bid); the new state follows.
    const bidKind = (reply[2] || null) as BidKind | null;
    return {
      kind: 'decided',
      decision,
      replayed: false,
      state: bidKind === null ? null : stateFromValues(reply.slice(DECIDED_FROM + DECISION_FIELDS)),
      bidKind,
      previousEndAt: bidKind !== null && decision.extended ? Number(reply[1]) : null,
    };
  },
};

/** start, end and cancel replies: {kind, detail, prevStatus, prevEffectiveEndAt, prevStartAt, prevClosedAt, stateValues...}. */
const STATE_FROM = 6;
const transitionDecoders: ReplyDecoders<TransitionReplyCode, undefined, EngineTransitionResult> = {
  [TransitionReply.NEEDS_HYDRATION]: () => ({ kind: 'needs_hydration' }),
  [TransitionReply.APPLIED]: (reply) => {
    const [, , prevStatus, prevEnd, prevStart, prevClosed] = reply;
    const state = stateFromValues(reply.slice(STATE_FROM));
    return {
      kind: 'applied',
      state,
      previous: {
        ...state,
        version: state.version - 1,
        status: prevStatus as AuctionState['status'],
        effectiveEndAt: Number(prevEnd),
        startAt: Number(prevStart),
        closedAt: prevClosed ? Number(prevClosed) : null,
      },
    };
  },
  [TransitionReply.UNCHANGED]: (reply) => ({ kind: 'unchanged', state: stateFromValues(reply.slice(STATE_FROM)) }),
  [TransitionReply.NOT_DUE]: (reply) => ({ kind: 'not_due', state: stateFromValues(reply.slice(STATE_FROM)), dueAt: Number(reply[1]) }),
  [TransitionReply.REFUSED]: (reply) => ({
    kind: 'refused',
    state: stateFromValues(reply.slice(STATE_FROM)),
    reason: reply[1] as 'AUCTION_ENDED' | 'AUCTION_CANCELLED',
  }),
};

/** One place that turns a transition script's reply into the port's result. */
const transitionResult = (reply: ScriptArg[]): EngineTransitionResult => decodeReply('a transition script', transitionDecoders, reply.map(String), undefined);

/** Refuses to run on a Redis that could silently evict auction state or lacks what the scripts need. */
async function checkServers(redis: Redis | Cluster): Promise<void> {
  const nodes = 'nodes' in redis && typeof (redis as Cluster).nodes === 'function' && (redis as Cluster).isCluster ? (redis as Cluster).nodes('master') : [redis as Redis];
  for (const node of nodes) {
    const info = await node.info();
    const version = /redis_version:(\d+)\.(\d+)/.exec(info);
    const policy = /maxmemory_policy:(\S+)/.exec(info)?.[1];
    if (!version || Number(version[1]) < 6 || (Number(version[1]) === 6 && Number(version[2]) < 2)) {
      throw new Error(`@outbid/redis needs Redis 6.2 or newer (found ${version ? `${version[1]}.${version[2]}` : 'unknown'}).`);
    }
    if (policy !== 'noeviction') {
      throw new Error(
        `@outbid/redis needs maxmemory-policy noeviction (found ${policy ?? 'unknown'}): an evicted auction would be decided on stale state. Run CONFIG SET maxmemory-policy noeviction.`,
      );
    }
  }
}

/**
 * The bid engine on Redis: every decision is made inside a Lua script (compare-and-set on the auction's hash),
 * timed by Redis TIME; bids on one auction that arrive together share one script call (`maxBidsPerCall`). Runs on
 * a single Redis or a Redis Cluster.
 */
export async function createRedisEngine(options: RedisEngineOptions): Promise<BidEngine> {
  const { redis } = options;
  const prefix = options.prefix ?? 'outbid';
  const idempotencyTtlMs = engineIdempotencyTtlMs(options.idempotencyTtlMs);
  const retentionMs = String(options.sealedRetentionMs ?? ENGINE_RETENTION.sealedRetentionMs);
  const maxBidsPerCall = options.maxBidsPerCall ?? DEFAULT_MAX_BIDS_PER_CALL;
  if (!Number.isInteger(maxBidsPerCall) || maxBidsPerCall < 1) throw new TypeError(`@outbid/redis: maxBidsPerCall must be a whole number of at least 1 (got ${maxBidsPerCall})`);
  await whenReady(redis);
  if (!options.skipServerChecks) await checkServers(redis);
  const call = registerScripts(redis, ['place_bid', 'place_bids', 'start', 'end', 'cancel', 'hydrate']);
  /** A single Redis (not a Cluster): its bid script calls go by EVALSHA alone, on a corked socket (see dispatch). */
  const single = (redis as Cluster).isCluster ? null : (redis as Redis);
  // Loaded now, so that the first EVALSHA finds them. A Redis that refuses SCRIPT LOAD costs only that first call
  // (it is sent again with EVAL).
  if (single) await loadScripts(single, ['place_bid', 'place_bids']).catch(() => {});
  const keys = (auctionId: string) => [`${prefix}:{a:${auctionId}}:state`, `${prefix}:{a:${auctionId}}:idem`] as const;

  const bidArgs = (cmd: PlaceBidCommand): QueuedBid['args'] => [
    cmd.bidderId,
    cmd.amount === null ? '' : String(cmd.amount),
    cmd.bidId,
    cmd.idempotencyKey === null ? '' : idempotencyField(cmd.bidderId, cmd.idempotencyKey),
    cmd.fingerprint,
    cmd.maxAmount == null ? '' : String(cmd.maxAmount),
    cmd.buyNow ? '1' : '0',
  ];
  const settle = (bid: QueuedBid, reply: ScriptArg[]) => {
    try {
      bid.resolve(decodeReply('place_bid', placeBidDecoders, reply.map(String), bid.cmd));
    } catch (error) {
      bid.reject(error);
    }
  };
  /** One script call for bids of one auction, in arrival order: place_bid for one, place_bids for several. */
  const send = (auctionId: string, bids: QueuedBid[], via: ScriptCall): void => {
    const [stateKey, idemKey] = keys(auctionId);
    const fail = (error: unknown) => {
      for (const bid of bids) bid.reject(error);
    };
    try {
      if (bids.length === 1) {
        const [bidderId, amount, bidId, field, fingerprint, maxAmount, buyNow] = bids[0]!.args;
        via('place_bid', stateKey, idemKey, bidderId, amount, bidId, field, fingerprint, idempotencyTtlMs, maxAmount, buyNow, retentionMs).then(
          (reply) => settle(bids[0]!, reply),
          fail,
        );
        return;
      }
      via('place_bids', stateKey, idemKey, bids.length, idempotencyTtlMs, retentionMs, bids.flatMap((b) => b.args)).then((replies) => {
        if (!Array.isArray(replies) || replies.length !== bids.length) return fail(new Error(`unexpected reply from place_bids for ${bids.length} bids`));
        bids.forEach((bid, i) => settle(bid, replies[i]!));
      }, fail);
    } catch (error) {
      fail(error);
    }
  };
  /**
   * On a single Redis: each call its own command, sent at once (directCall), with the connection's socket corked
   * while a turn's calls are written, so they leave in one write. A Cluster's calls are spread over its nodes by
   * slot, so there each call goes its own way (auto-pipelined by node when enabled).
   */
  const direct = single ? directCall(single) : call;
  /** Sends the script calls for these bids (per auction, in arrival order, up to maxBidsPerCall each) now. */
  const dispatch = (auctions: Iterable<readonly [string, QueuedBid[]]>) => {
    const socket = single?.stream;
    socket?.cork();
    try {
      for (const [auctionId, bids] of auctions) {
        for (let i = 0; i < bids.length; i += maxBidsPerCall) send(auctionId, bids.slice(i, i + maxBidsPerCall), direct);
      }
    } finally {
      socket?.uncork();
    }
  };
  let queued = new Map<string, QueuedBid[]>();
  let flushScheduled = false;
  const flush = () => {
    flushScheduled = false;
    const auctions = queued;
    queued = new Map();
    dispatch(auctions);
  };

  return {
    specificationVersion: ENGINE_SPECIFICATION_VERSION,
    name: 'redis',
    placeBid(cmd: PlaceBidCommand): Promise<EngineBidResult> {
      return new Promise((resolve, reject) => {
        const bid: QueuedBid = { cmd, args: bidArgs(cmd), resolve, reject };
        if (maxBidsPerCall === 1) return dispatch([[cmd.auctionId, [bid]]]);
        const queue = queued.get(cmd.auctionId);
        if (queue) queue.push(bid);
        else queued.set(cmd.auctionId, [bid]);
        if (!flushScheduled) {
          flushScheduled = true;
          // After this turn's I/O callbacks: every bid they placed joins its auction's call.
          setImmediate(flush);
        }
      });
    },
    async start(auctionId, mode: TransitionMode) {
      return transitionResult(await call('start', keys(auctionId)[0], mode));
    },
    async end(auctionId, mode: TransitionMode) {
      return transitionResult(await call('end', ...keys(auctionId), mode, retentionMs));
    },
    async cancel(auctionId) {
      return transitionResult(await call('cancel', ...keys(auctionId), retentionMs));
    },
    async getState(auctionId) {
      const values = await redis.hmget(keys(auctionId)[0], ...STATE_FIELDS);
      // Every hash hydrate writes has an id: without one there is no auction here (as state_values in common.lua).
      return values[0] === null ? null : stateFromValues(values.map((v) => v ?? ''));
    },
    async hydrate(state, records = []) {
      const fields = stateToFields(state);
      const answers = records.flatMap((r) =>
        r.idempotencyKey === null || !isStoredDecision(r.decision) ? [] : [idempotencyField(r.bidderId, r.idempotencyKey), pack([r.fingerprint, ...decisionToFields(r.decision)])],
      );
      const reply = await call('hydrate', ...keys(state.id), String(state.version), retentionMs, idempotencyTtlMs, fields.length, fields, answers);
      return Number(reply[0]) === HydrateReply.APPLIED ? { applied: true } : { applied: false, currentVersion: Number(reply[1]) };
    },
    async drop(auctionId) {
      await redis.del(...keys(auctionId));
    },
    async now() {
      const [seconds, micros] = await redis.time();
      return Number(seconds) * 1_000 + Math.floor(Number(micros) / 1_000);
    },
    async close() {
      if (options.quitOnClose) await redis.quit();
    },
  };
}
