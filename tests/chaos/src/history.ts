/**
 * What a chaos run records: every bid request and its outcome, every SSE viewer's frames, the faults, and at the
 * end the ledger as read straight from Postgres and the state the API serves. The checker reads only this, so a
 * saved history can be checked again (and doctored histories can test the checker).
 */

export type IncrementRule = { type: 'fixed'; amount: number } | { type: 'table'; tiers: Array<{ from: number; increment: number }> };

/** One HTTP attempt of a bid. A client's retries of one bid share `key` and `amount`. */
export interface BidAttempt {
  /** Order of recording (the order outcomes were received). */
  seq: number;
  client: string;
  bidderId: string;
  auctionId: string;
  key: string;
  amount: number;
  /** 0 for the first send of this key by this client; later attempts are retries. */
  attempt: number;
  /** 'retry' after a transient outcome, 'resend' when a client sends an already answered key again (its answer "lost"). */
  why: 'first' | 'retry' | 'resend' | 'probe';
  /** Probes only: the version the ledger says this bid must get (the ledger's version + 1 when it was sent). */
  expectVersion?: number;
  instance: string;
  sentAt: number;
  receivedAt: number;
  outcome:
    | { type: 'response'; status: number; body: string; replayed: boolean }
    | { type: 'error'; error: string };
}

export interface ViewerFrame {
  at: number;
  /** The SSE `id` (the auction version). */
  version: number;
  event: string;
  status: string;
}

export interface ViewerRecord {
  viewer: string;
  auctionId: string;
  instance: string;
  frames: ViewerFrame[];
  connects: number;
}

export interface FaultRecord {
  at: number;
  kind: string;
  target?: string;
  detail?: string;
  healedAt?: number;
}

/** A row of outbid_auctions. */
export interface LedgerAuction {
  id: string;
  status: string;
  startPrice: number;
  increment: IncrementRule;
  endAt: number;
  effectiveEndAt: number;
  currentPrice: number;
  currentWinnerId: string | null;
  version: number;
  bidCount: number;
  closedAt: number | null;
}

/** A row of outbid_bids. */
export interface LedgerBid {
  bidId: string;
  auctionId: string;
  bidderId: string;
  amount: number;
  status: string;
  reason: string | null;
  version: number | null;
  idempotencyKey: string | null;
  createdAt: number;
  /** The stored answer (JSON text of the decision). */
  decision: string;
}

/** A row of outbid_outbox. */
export interface LedgerEvent {
  id: string;
  auctionId: string;
  type: string;
  /** Parsed payload: at least version, and for AuctionEnded winnerId and finalPrice. */
  payload: { version: number; winnerId?: string | null; finalPrice?: number | null; [k: string]: unknown };
}

/** GET /auctions/:id through one instance after the faults healed. */
export interface ApiState {
  instance: string;
  auctionId: string;
  status: number;
  body: { status?: string; currentPrice?: number; currentWinnerId?: string | null; version?: number; endAt?: string; bidCount?: number } | null;
}

export interface History {
  seed: number;
  profile: string;
  startedAt: number;
  finishedAt: number;
  /** The auctions the run created (id → the rules it was created with). */
  auctions: Array<{ id: string; startPrice: number; increment: IncrementRule; endAt: number; softClose: boolean }>;
  attempts: BidAttempt[];
  viewers: ViewerRecord[];
  faults: FaultRecord[];
  ledger: { auctions: LedgerAuction[]; bids: LedgerBid[]; events: LedgerEvent[] };
  apiStates: ApiState[];
  /** When the ledger was read: auctions whose effective end is earlier than this minus the grace must be ended. */
  ledgerReadAt: number;
  /** How long after its effective end an auction may still be open (the guard's interval plus slack). */
  endGraceMs: number;
}
