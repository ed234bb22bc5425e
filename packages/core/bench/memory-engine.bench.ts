/**
 * `pnpm bench core`: in-process bid decisions per second of the memory engine (target ≥ 1,000,000/s on one
 * core). Each round places N bids through `engine.placeBid` (the full port call: idempotency lookup, rules,
 * state change), mostly accepted with a share of rejections, and reports the median of the rounds.
 */
import { createMemoryEngine, type AuctionState, type PlaceBidCommand } from '../src/index.js';

const ROUNDS = Number(process.env.ROUNDS ?? 7);
const BIDS = Number(process.env.BIDS ?? 1_000_000);

function auction(id: string, now: number): AuctionState {
  return {
    id, postId: `p-${id}`, creatorId: 'seller', currency: 'USD', startAt: now - 1_000, endAt: now + 3_600_000,
    effectiveEndAt: now + 3_600_000, startPrice: 100, increment: { type: 'fixed', amount: 1 }, softClose: null,
    status: 'active', currentPrice: 100, currentWinnerId: null, version: 1, bidCount: 0, extensionCount: 0,
    createdAt: now - 2_000, closedAt: null, reservePrice: null, buyNowPrice: null, buyNowPolicy: null, leaderMax: null,
  };
}

async function round(auctions: number, withKeys: boolean): Promise<number> {
  const engine = createMemoryEngine();
  const now = Date.now();
  const ids = Array.from({ length: auctions }, (_, i) => `a${i}`);
  for (const id of ids) await engine.hydrate(auction(id, now));
  const prices = new Array<number>(auctions).fill(100);
  const cmd: PlaceBidCommand = { auctionId: '', bidderId: '', amount: 0, bidId: 'b', idempotencyKey: null, fingerprint: '' };
  const started = process.hrtime.bigint();
  for (let i = 0; i < BIDS; i++) {
    const slot = i % auctions;
    cmd.auctionId = ids[slot]!;
    cmd.bidderId = Math.floor(i / auctions) & 1 ? 'alice' : 'bob';
    // Every 8th bid is too low (a rejection); the rest outbid the leader by one step.
    cmd.amount = (i & 7) === 7 ? 1 : ++prices[slot]!;
    cmd.idempotencyKey = withKeys ? `k${i}` : null;
    cmd.fingerprint = withKeys ? `{"amount":${cmd.amount}}` : '';
    await engine.placeBid(cmd);
  }
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  await engine.close();
  return BIDS / seconds;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const fmt = (n: number) => Math.round(n).toLocaleString('en-US');

async function scenario(name: string, auctions: number, withKeys: boolean) {
  const results: number[] = [];
  for (let r = 0; r < ROUNDS; r++) {
    results.push(await round(auctions, withKeys));
    process.stderr.write(`  ${name}: round ${r + 1}/${ROUNDS} ${fmt(results.at(-1)!)} decisions/s\n`);
  }
  return { name, median: median(results), min: Math.min(...results), max: Math.max(...results) };
}

console.log(`memory engine, ${fmt(BIDS)} bids per round, ${ROUNDS} rounds, node ${process.version}`);
const rows = [
  await scenario('1 hot auction, no idempotency key', 1, false),
  await scenario('1,000 auctions, no idempotency key', 1_000, false),
  await scenario('1 hot auction, idempotency key on every bid', 1, true),
];
console.log('\n| scenario | median decisions/s | min | max |\n|---|---:|---:|---:|');
for (const r of rows) console.log(`| ${r.name} | ${fmt(r.median)} | ${fmt(r.min)} | ${fmt(r.max)} |`);
const target = 1_000_000;
const verdict = rows[0]!.median >= target ? 'meets' : 'misses';
console.log(`\nHot-auction median ${verdict} the 1,000,000 decisions/s target.`);
