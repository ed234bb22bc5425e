import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { expect, it } from 'vitest';
import { startServer } from '../src/index.js';

it('the README walkthrough runs as printed against a live server', async () => {
  const readme = readFileSync(join(import.meta.dirname, '../README.md'), 'utf8');
  const block = readme.split('```sh\n').find((b) => b.startsWith('B=${B:-'))!.split('```')[0]!;
  const dataDir = mkdtempSync(join(tmpdir(), 'outbid-readme-'));
  const server = await startServer({ OUTBID_DATA_DIR: dataDir, PORT: '0', HOST: '127.0.0.1', OUTBID_LOG_LEVEL: 'silent' });
  try {
    const { stdout } = await promisify(execFile)('bash', ['-c', `set -e\n${block}`], { env: { ...process.env, B: server.url }, timeout: 30_000 });
    expect(stdout).toContain('"status":"accepted"');
    expect(stdout).toContain('idempotent-replayed: true');
    expect(stdout).toContain('"reason":"BID_TOO_LOW"');
    expect(stdout).toMatch(/event: bid\n/);
    expect(stdout).toMatch(/"status":"ended","currency"/);
  } finally {
    await server.close();
    rmSync(dataDir, { recursive: true, force: true });
  }
}, 60_000);
