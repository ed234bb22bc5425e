export const PURGER_SPECIFICATION_VERSION = 'v1';

/**
 * Invalidates edge-cached copies of an auction (e.g. `GET /auctions/:id` behind a CDN) after it changes.
 * Best effort: a failed purge only means the edge serves a copy up to its max-age longer.
 */
export interface CachePurger {
  readonly specificationVersion: typeof PURGER_SPECIFICATION_VERSION;
  readonly name: string;
  /** Queues the auction's cached URLs for purging (batched by the implementation). */
  purge(auctionId: string): void;
  /** Sends whatever is queued now. */
  flush(): Promise<void>;
  close(): Promise<void>;
}

/** The default: nothing is cached at an edge, nothing to purge. */
export function createNoopPurger(): CachePurger {
  return {
    specificationVersion: PURGER_SPECIFICATION_VERSION,
    name: 'noop',
    purge() {},
    async flush() {},
    async close() {},
  };
}
