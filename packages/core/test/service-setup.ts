import { afterEach } from 'vitest';
import { createMemoryEngine, createMemoryLedger, createOutbid, type AuctionEvent, type Outbid, type OutbidOptions } from '@outbid/core';
import { FakeClock } from '@outbid/core/testing';

/** The service on memory adapters and a fake clock, closed after each test; `create` opens a 60 s auction by `seller`. */
const open: Outbid[] = [];
afterEach(async () => {
  await Promise.all(open.splice(0).map((o) => o.close()));
});

/** Closes `outbid` after the current test, like the ones `setup` makes. */
export function closeAfterTest(outbid: Outbid): void {
  open.push(outbid);
}

export function setup(overrides: Partial<OutbidOptions> = {}) {
  const clock = new FakeClock();
  const engine = overrides.engine ?? createMemoryEngine({ clock });
  const ledger = overrides.ledger ?? createMemoryLedger();
  const outbid = createOutbid({ clock, engine, ledger, guardIntervalMs: 0, persistTimeoutMs: 200, ...overrides });
  open.push(outbid);
  const events: AuctionEvent[] = [];
  outbid.subscribe((e) => events.push(e));
  const create = (patch: Record<string, unknown> = {}) =>
    outbid.createAuction('seller', {
      postId: `post-${Math.random()}`,
      startAt: clock.now(),
      endAt: clock.now() + 60_000,
      startPrice: 1_000,
      increment: { type: 'fixed', amount: 100 },
      ...patch,
    });
  return { clock, engine, ledger, outbid, events, create };
}
