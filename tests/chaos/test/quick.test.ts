import { spawn } from 'node:child_process';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

/**
 * `pnpm chaos --quick` inside `pnpm test`: the real system under load and seeded faults, checked as a whole.
 *
 * NOT YET ENABLED. The checker finds real bugs today (issue 13 item 1 and more: see RELIABILITY.md), so this
 * run fails until they are fixed. Once `pnpm chaos --quick` reports 0 violations for a few seeds, set
 * CHAOS_QUICK_ENABLED to true (or run it now with OUTBID_CHAOS_QUICK=1 pnpm test tests/chaos).
 */
const CHAOS_QUICK_ENABLED = false;
/** A fixed seed, so a failure in CI is replayed with `pnpm chaos --quick --seed 1`. */
const SEED = 1;
const ROOT = resolve(import.meta.dirname, '../../..');

describe.skipIf(!CHAOS_QUICK_ENABLED && process.env.OUTBID_CHAOS_QUICK !== '1')('pnpm chaos --quick', () => {
  it('finds no violation in a seeded run with every kind of fault', async () => {
    const { code, output } = await new Promise<{ code: number | null; output: string }>((done) => {
      const child = spawn(process.execPath, [resolve(ROOT, 'scripts/chaos.mjs'), '--quick', '--seed', String(SEED)], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
      let text = '';
      child.stdout.on('data', (d: Buffer) => (text += d.toString()));
      child.stderr.on('data', (d: Buffer) => (text += d.toString()));
      child.on('exit', (exitCode) => done({ code: exitCode, output: text }));
    });
    const summary = output.split('\n').filter((l) => l.includes('VIOLATION') || l.startsWith('|') || l.startsWith('chaos seed'));
    expect(summary.at(-1), summary.join('\n')).toBe(`chaos seed ${SEED}: 0 violations`);
    expect(code).toBe(0);
  }, 240_000);
});
