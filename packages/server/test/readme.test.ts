import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { expect, it } from 'vitest';
import { startServer } from '../src/index.js';

interface Frame {
  event: string;
  id: number;
  data: { status: string; version: number; currentPrice: number; winnerId: string | null };
}

/**
 * The SSE frames in the block's output. The background stream shares stdout with the foreground commands, so a
 * frame may follow another command's output on the same line: match frames anywhere, not at line starts.
 */
function framesIn(stdout: string): Frame[] {
  return [...stdout.matchAll(/id: (\d+)\nevent: (\w+)\ndata: (\{[^\n]*\})\n\n/g)].map((m) => ({ id: Number(m[1]), event: m[2]!, data: JSON.parse(m[3]!) }));
}

it('the README walkthrough runs as printed against a live server', async () => {
  const readme = readFileSync(join(import.meta.dirname, '../README.md'), 'utf8');
  const block = readme.split('```sh\n').find((b) => b.startsWith('B=${B:-'))!.split('```')[0]!;
  const dataDir = mkdtempSync(join(tmpdir(), 'outbid-readme-'));
  const server = await startServer({ OUTBID_AUTH: 'dev', OUTBID_DATA_DIR: dataDir, PORT: '0', HOST: '127.0.0.1', OUTBID_LOG_LEVEL: 'silent' });
  try {
    const { stdout } = await promisify(execFile)('bash', ['-c', `set -e\n${block}`], { env: { ...process.env, B: server.url }, timeout: 30_000 });
    expect(stdout).toContain('"status":"accepted"');
    expect(stdout).toContain('idempotent-replayed: true');
    expect(stdout).toContain('"reason":"BID_TOO_LOW"');
    expect(stdout).toMatch(/"status":"ended","currency"/);

    // What the stream guarantees whatever the timing: a snapshot first, then versions that only rise (ticks repeat
    // the last one), ending at the `ended` frame of the final state. Which changes coalesce depends on when the
    // stream connected and how far apart the bids came, so no particular `bid` frame is promised.
    const finalVersion = Number(/"status":"ended","currency"[^\n]*?"version":(\d+)/.exec(stdout)?.[1]);
    const frames = framesIn(stdout);
    expect(frames[0]?.event).toBe('snapshot');
    const changes = frames.filter((f) => f.event !== 'tick');
    for (let i = 1; i < changes.length; i++) expect(changes[i]!.id).toBeGreaterThan(changes[i - 1]!.id);
    for (const f of frames) expect(f.data.version).toBe(f.id);
    const last = changes.at(-1)!;
    expect(last).toMatchObject({ event: 'ended', id: finalVersion, data: { status: 'ended', currentPrice: 2100, winnerId: 'bob' } });
    expect(frames.filter((f) => f.event === 'tick').every((t) => t.id <= finalVersion)).toBe(true);
  } finally {
    await server.close();
    rmSync(dataDir, { recursive: true, force: true });
  }
}, 60_000);
