import { describe, expect, it } from 'vitest';
import { uuidv7 } from '../src/ids.js';

const FORMAT = /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

describe('uuidv7', () => {
  it('is an RFC 9562 version 7 UUID carrying its millisecond', () => {
    const now = Date.UTC(2030, 0, 1, 12, 0, 0, 123);
    const id = uuidv7(now);
    expect(id).toMatch(FORMAT);
    expect(parseInt(id.replace(/-/g, '').slice(0, 12), 16)).toBe(now);
  });

  it('10,000 ids (many refills of the random pool) are distinct and rise within one millisecond and across them', () => {
    const start = Date.UTC(2030, 0, 1);
    // 100 ids per millisecond: each millisecond's counter starts at random and counts up.
    const ids = Array.from({ length: 10_000 }, (_, i) => uuidv7(start + Math.floor(i / 100)));
    expect(new Set(ids).size).toBe(ids.length);
    for (const id of ids) expect(id).toMatch(FORMAT);
    expect([...ids].sort()).toEqual(ids);
    // The random part differs between ids of one millisecond: the pool is not handed out twice.
    const tails = new Set(ids.map((id) => id.slice(19)));
    expect(tails.size).toBe(ids.length);
  });
});
