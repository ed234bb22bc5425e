/** The order `pnpm bench bids` measures its setups in, round by round (bench/round-order.ts). */
import { describe, expect, it } from 'vitest';
import { roundOrder } from '../bench/round-order.js';

const setups = ['bare', 'peer', 'redis+pg', 'pg', 'embedded'];

/** Who each setup follows within each of these rounds (the round's first follows no one in it). */
function predecessors(items: string[], rounds: number): Map<string, string[]> {
  const seen = new Map(items.map((s) => [s, [] as string[]]));
  for (let round = 1; round <= rounds; round++) {
    const order = roundOrder(items, round);
    order.slice(1).forEach((s, i) => seen.get(s)!.push(order[i]!));
  }
  return seen;
}

describe('the order of a round', () => {
  it('measures every setup once in every round', () => {
    for (const n of [1, 2, 3, 4, 5, 6, 7, 9]) {
      const items = Array.from({ length: n }, (_, i) => `s${i}`);
      for (let round = 1; round <= 12; round++) expect([...roundOrder(items, round)].sort()).toEqual([...items].sort());
    }
  });

  it('starts with the given order, and round 2 of the default setups no longer puts Redis + Postgres after the peer', () => {
    expect(roundOrder(setups, 1)).toEqual(setups);
    expect(roundOrder(setups, 2)).toEqual(['peer', 'pg', 'bare', 'redis+pg', 'embedded']);
  });

  it('never has one of five setups follow the same setup twice in rounds 1 to 4', () => {
    for (const [setup, before] of predecessors(setups, 4)) {
      expect(new Set(before).size, `${setup} follows ${before.join(', ')}`).toBe(before.length);
      expect(before).not.toContain(setup);
    }
    // Round by round, the predecessors of all five: 4 rounds × 4 setups after the first, no pair twice.
    const pairs = [...predecessors(setups, 4)].flatMap(([s, before]) => before.map((b) => `${b}→${s}`));
    expect(pairs).toHaveLength(16);
    expect(new Set(pairs).size).toBe(16);
  });

  it('changes the first setup every round, so no setup always opens a workload', () => {
    expect([1, 2, 3, 4, 5].map((r) => roundOrder(setups, r)[0])).toEqual(setups);
  });

  it('alternates two setups, as a paired run against a baseline needs', () => {
    expect([1, 2, 3, 4].map((r) => roundOrder(['redis+pg', 'base'], r))).toEqual([
      ['redis+pg', 'base'],
      ['base', 'redis+pg'],
      ['redis+pg', 'base'],
      ['base', 'redis+pg'],
    ]);
  });
});
