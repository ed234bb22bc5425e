import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { createOutbid } from '@outbid/core';
import { MIGRATIONS } from '@outbid/postgres';
import { expect, it } from 'vitest';
import { createApp, startServer } from '../src/index.js';
import { listen } from './socket.js';

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

/** The `sh` block of a README that starts with `start`. */
function shBlock(readme: string, start: string): string {
  const block = readFileSync(join(import.meta.dirname, readme), 'utf8').split('```sh\n').find((b) => b.startsWith(start));
  if (!block) throw new Error(`no sh block starting with ${start} in ${readme}`);
  return block.split('```')[0]!;
}

/**
 * The proxy-bid / reserve / Buy It Now tours (this package's README and the root README's short one), run after the
 * walkthrough's tokens in the same shell, as both say. On the embedded default once the PGlite ledger keeps the reserve and
 * Buy It Now (migration 3); until then on the memory ledger, with the same engine, routes and dev tokens.
 */
it('the README tours of proxy bids, the reserve and Buy It Now run as printed', async () => {
  const script = [
    // The walkthrough's first step (the tokens): its background stream would interleave with the answers.
    shBlock('../README.md', 'B=${B:-').split('\n# 2.')[0]!,
    shBlock('../README.md', '# 6. A hidden reserve'),
    shBlock('../../../README.md', 'ID=$(curl'),
  ].join('\n');
  const dataDir = mkdtempSync(join(tmpdir(), 'outbid-readme-'));
  let server: { url: string; close(): Promise<void> };
  if (MIGRATIONS.some((m) => m.version >= 3)) {
    server = await startServer({ OUTBID_AUTH: 'dev', OUTBID_DATA_DIR: dataDir, PORT: '0', HOST: '127.0.0.1', OUTBID_LOG_LEVEL: 'silent' });
  } else {
    const outbid = createOutbid({ guardIntervalMs: 0 });
    const app = createApp(outbid, { auth: { mode: 'dev', secret: 'readme-test-secret-of-at-least-32-characters' } });
    const listening = await listen(app);
    server = { url: listening.base, close: async () => (await listening.close(), await app.gateway.close(), await outbid.close()) };
  }
  try {
    const { stdout } = await promisify(execFile)('bash', ['-c', `set -e\n${script}`], { env: { ...process.env, B: server.url }, timeout: 30_000 });
    const answers = stdout.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as Record<string, unknown>);
    const [lens, aliceMax, bobPlain, bobMax, historyPage, refusedBuy, bought, tripod, flashMax, flashPlain] = answers;
    expect(lens).toMatchObject({ status: 'active', reserveMet: false, buyNowPrice: 12_000, buyNowAvailable: true });
    expect(JSON.stringify(lens)).not.toMatch(/(?<![0-9A-Za-z])5000(?![0-9A-Za-z])/); // whole tokens: ids may hold the digits
    expect(aliceMax).toMatchObject({ status: 'accepted', amount: 2_000, currentWinnerId: 'alice', maxAmount: 4_000, reserveMet: false, buyNowAvailable: true });
    expect(bobPlain).toMatchObject({ status: 'rejected', reason: 'OUTBID_BY_PROXY', currentPrice: 3_100, currentWinnerId: 'alice' });
    expect(bobMax).toMatchObject({ status: 'accepted', currentPrice: 5_000, currentWinnerId: 'bob', reserveMet: true, buyNowAvailable: false });
    const items = (historyPage as { items: Array<Record<string, unknown>> }).items;
    expect(items.map((b) => [b.bidderId, b.amount, b.automatic ?? false])).toEqual([['bob', 5_000, false], ['alice', 3_100, true], ['alice', 2_000, false]]);
    expect(JSON.stringify(items)).not.toMatch(/maxAmount|(?<![0-9A-Za-z])(4000|6000)(?![0-9A-Za-z])/);
    expect(refusedBuy).toMatchObject({ status: 'rejected', reason: 'BUY_NOW_UNAVAILABLE' });
    expect(bought).toMatchObject({ status: 'accepted', amount: 4_500, currentWinnerId: 'alice' });
    expect(tripod).toMatchObject({ status: 'ended', currentPrice: 4_500, currentWinnerId: 'alice', buyNowAvailable: false });
    expect(flashMax).toMatchObject({ status: 'accepted', amount: 2_000, maxAmount: 4_000 });
    expect(flashPlain).toMatchObject({ status: 'rejected', reason: 'OUTBID_BY_PROXY', currentPrice: 3_100 });
  } finally {
    await server.close();
    rmSync(dataDir, { recursive: true, force: true });
  }
}, 60_000);
