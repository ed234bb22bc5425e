/** Shared by the delivery benchmarks: server processes, SSE viewers on raw sockets, bids over HTTP. */
import { spawn, type ChildProcess } from 'node:child_process';
import { request, Agent } from 'node:http';
import { join, resolve } from 'node:path';
import { randomUUID } from 'node:crypto';
import { issueDevToken } from '@outbid/server';

export const SECRET = 'bench-secret-of-at-least-32-characters!!';
const ROOT = resolve(import.meta.dirname, '../../..');
const MAIN = join(ROOT, 'packages/server/src/main.ts');

export interface ServerProc {
  url: string;
  child: ChildProcess;
  /** ms from spawn to the "listening" log line and to the first 200 from /readyz. */
  listeningMs: number;
  readyMs: number;
  stop(): Promise<void>;
}

/** Starts the Outbid server (or another script printing the same "listening" line, e.g. the fan-out floor). */
export async function serverProcess(env: Record<string, string>, script = MAIN): Promise<ServerProc> {
  const started = performance.now();
  const child = spawn(process.execPath, ['--import', 'tsx', '--conditions=@outbid/source', script], {
    env: { ...process.env, PORT: '0', HOST: '127.0.0.1', OUTBID_JWT_SECRET: SECRET, OUTBID_BID_RATE_PER_SECOND: '1000', OUTBID_BID_BURST: '1000', ...env },
    cwd: ROOT,
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  process.once('exit', () => child.kill('SIGKILL'));
  const url = await new Promise<string>((resolveUrl, reject) => {
    let out = '';
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      const line = out.split('\n').find((l) => l.includes('Outbid server listening'));
      if (line) resolveUrl((JSON.parse(line) as { url: string }).url);
    });
    child.once('exit', (code) => reject(new Error(`server exited (${code}): ${out.slice(-500)}`)));
  });
  const listeningMs = performance.now() - started;
  for (;;) {
    const res = await fetch(`${url}/readyz`).catch(() => null);
    if (res?.status === 200) break;
    await new Promise((r) => setTimeout(r, 20));
  }
  const readyMs = performance.now() - started;
  const stop = () =>
    new Promise<void>((done) => {
      if (child.exitCode !== null) return done();
      child.once('exit', () => done());
      child.kill('SIGTERM');
      setTimeout(() => child.exitCode === null && child.kill('SIGKILL'), 10_000).unref();
    });
  return { url, child, listeningMs, readyMs, stop };
}

export const token = (id: string, roles: Array<'creator' | 'bidder' | 'viewer'>) => issueDevToken(SECRET, id, roles);

export async function createAuction(url: string, minutes = 30): Promise<string> {
  const res = await fetch(`${url}/auctions`, {
    method: 'POST',
    headers: { authorization: `Bearer ${await token('seller', ['creator'])}`, 'content-type': 'application/json' },
    body: JSON.stringify({ postId: randomUUID(), startAt: new Date().toISOString(), endAt: new Date(Date.now() + minutes * 60_000).toISOString(), startPrice: 100, minIncrement: 1 }),
  });
  if (res.status !== 201) throw new Error(`create: ${res.status} ${await res.text()}`);
  return ((await res.json()) as { id: string }).id;
}

const bidAgent = new Agent({ keepAlive: true, maxSockets: 4 });
/** Places a bid; resolves with the status, the new version and the time the answer arrived. */
export function placeBid(url: string, auctionId: string, amount: number, auth: string): Promise<{ status: number; version: number; at: number; ms: number }> {
  const t0 = performance.now();
  const u = new URL(`${url}/auctions/${auctionId}/bids`);
  const body = JSON.stringify({ amount });
  return new Promise((resolveBid, reject) => {
    const req = request(
      { host: u.hostname, port: u.port, path: u.pathname, method: 'POST', agent: bidAgent, headers: { authorization: `Bearer ${auth}`, 'content-type': 'application/json', 'content-length': Buffer.byteLength(body), 'idempotency-key': randomUUID() } },
      (res) => {
        let text = '';
        res.on('data', (d: Buffer) => (text += d.toString()));
        res.on('end', () => {
          const at = performance.now();
          let version = 0;
          try {
            version = (JSON.parse(text) as { version?: number }).version ?? 0;
          } catch {}
          resolveBid({ status: res.statusCode ?? 0, version, at, ms: at - t0 });
        });
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

/** A raw SSE reader: calls onFrame(version, event, receivedAt) for every state frame (ticks ignored). */
export function sseViewer(url: string, auctionId: string, auth: string, onFrame: (version: number, event: string, at: number) => void, localAddress?: string): Promise<() => void> {
  const u = new URL(`${url}/auctions/${auctionId}/stream`);
  return new Promise((resolveViewer, reject) => {
    const req = request({ host: u.hostname, port: u.port, path: u.pathname, agent: false, localAddress, headers: { authorization: `Bearer ${auth}`, accept: 'text/event-stream' } }, (res) => {
      if (res.statusCode !== 200) return reject(new Error(`stream: ${res.statusCode}`));
      let buf = '';
      res.on('data', (d: Buffer) => {
        const at = performance.now();
        buf += d.toString();
        let i;
        while ((i = buf.indexOf('\n\n')) >= 0) {
          const frame = buf.slice(0, i);
          buf = buf.slice(i + 2);
          const id = /^id: (\d+)$/m.exec(frame);
          const ev = /^event: (\w+)$/m.exec(frame);
          if (id && ev && ev[1] !== 'tick') onFrame(Number(id[1]), ev[1]!, at);
        }
      });
      res.on('error', () => undefined);
      resolveViewer(() => req.destroy());
    });
    req.on('error', reject);
    req.end();
  });
}

export function percentile(values: number[], p: number): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}
