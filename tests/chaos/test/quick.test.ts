import { spawn } from 'node:child_process';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

/**
 * `pnpm chaos --quick` inside `pnpm test`: the real system under load and seeded faults, checked as a whole.
 * Enabled once the bugs it found (RELIABILITY.md) were fixed and seeds 1, 3, 7 and 42 gave 0 violations.
 */
/** A fixed seed, so a failure in CI is replayed with `pnpm chaos --quick --seed 1`. */
const SEED = 1;
const ROOT = resolve(import.meta.dirname, '../../..');

describe('pnpm chaos --quick', () => {
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
