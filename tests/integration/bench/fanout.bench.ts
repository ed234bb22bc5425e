/**
 * `pnpm bench fanout`: N SSE viewers of one auction, a bid every 100 ms, side by side on
 *   - bare (the floor: plain node:http holding the responses, no framework, auth, engine or ledger; fanout-bare.ts)
 *   - embedded (one process, memory engine/bus, PGlite)
 *   - redis+pg (one process, Redis + Postgres, no Kafka)
 *   - kafka x2 (two processes on Redis + Postgres + Kafka mock; viewers split over both, bids through A)
 * Delivery = a bid's 201 → the frame carrying its version (or a later one) reaching the last viewer.
 * Env: VIEWERS (default "1000,10000"), DURATION_S (default 20), SETUPS (default all, comma separated),
 * SOURCES (127.0.0.x source addresses, default 8). Prints progress, a table and a JSON line.
 * RSS per idle viewer: the server's RSS growth from before the viewers to 3 s after the last connected, divided by
 * N; and the growth over the second half of the viewers alone (start-up garbage collected meanwhile cannot hide in it).
 */
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startKafkaMock, startPostgres, startRedis } from '@outbid/test-services';
import { createAuction, percentile, placeBid, serverProcess, sseViewer, token, type ServerProc } from './harness.js';

const VIEWERS = (process.env.VIEWERS ?? '1000,10000').split(',').map(Number);
const DURATION_S = Number(process.env.DURATION_S ?? 20);
const SOURCES = Number(process.env.SOURCES ?? 8);
const ALL = ['bare', 'embedded', 'redis+pg', 'kafka x2'] as const;
const BARE = join(import.meta.dirname, 'fanout-bare.ts');
const SETUPS = (process.env.SETUPS?.split(',') ?? ALL) as Array<(typeof ALL)[number]>;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const rssKb = (pid: number) => Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0);

const [redis, pg, kafka] = await Promise.all([startRedis(), startPostgres(), startKafkaMock({ topics: [{ name: 'outbid.auction-events', partitions: 3 }] })]);
console.log(`fanout: viewers ${VIEWERS.join(', ')}; a bid every 100 ms for ${DURATION_S} s; setups ${SETUPS.join(', ')}; node ${process.version}`);
let db = 0;

type Row = Record<string, string | number>;
const rows: Row[] = [];
const freshRedis = { server: redis };

for (const n of VIEWERS) {
  for (const setup of SETUPS) {
    let env: Record<string, string>;
    if (setup === 'bare') env = {};
    else if (setup === 'embedded') env = { OUTBID_DATA_DIR: mkdtempSync(join(tmpdir(), 'outbid-fanout-')) };
    else {
      env = { REDIS_URL: freshRedis.server.url, DATABASE_URL: await pg.createDatabase(`fanout_${db++}`) };
      if (setup === 'kafka x2') env.KAFKA_BROKERS = kafka.brokers.join(',');
    }
    env.OUTBID_MAX_STREAMS_PER_USER = String(n + 10);
    env.OUTBID_ANONYMOUS_READS = 'true';
    const servers: ServerProc[] = [await serverProcess(env, setup === 'bare' ? BARE : undefined)];
    if (setup === 'kafka x2') servers.push(await serverProcess(env));
    try {
      const readyMs = Math.max(...servers.map((s) => s.readyMs));
      console.log(`[${setup} n=${n}] ready in ${servers.map((s) => s.readyMs.toFixed(0)).join(' / ')} ms`);
      const auctionId = await createAuction(servers[0]!.url);
      await sleep(500);
      const rssBefore = servers.map((s) => rssKb(s.child.pid!));
      const viewerAuth = await token('viewer', ['viewer']);
      // Per viewer: its last version; per version: viewers reached and when the last one was.
      const reached = new Map<number, { count: number; lastAt: number }>();
      let frames = 0;
      const stops: Array<() => void> = [];
      const batch = 200;
      // RSS is also read with half the viewers connected: the growth over the second half is what a viewer costs,
      // without start-up garbage (PGlite's, collected meanwhile) or what the first connections warmed up.
      let rssMid: number[] = [];
      for (let i = 0; i < n; i += batch) {
        if (i === Math.floor(n / 2 / batch) * batch) {
          await sleep(2_000);
          rssMid = servers.map((s) => rssKb(s.child.pid!));
        }
        await Promise.all(
          Array.from({ length: Math.min(batch, n - i) }, async (_, k) => {
            const idx = i + k;
            let last = 0;
            const server = servers[idx % servers.length]!;
            stops.push(
              await sseViewer(server.url, auctionId, viewerAuth, (v, _e, at) => {
                frames++;
                for (let x = last + 1; x <= v; x++) {
                  const r = reached.get(x) ?? { count: 0, lastAt: 0 };
                  r.count++;
                  r.lastAt = Math.max(r.lastAt, at);
                  reached.set(x, r);
                }
                last = Math.max(last, v);
              }, `127.0.0.${1 + (idx % SOURCES)}`),
            );
          }),
        );
        if ((i / batch) % 10 === 0) process.stdout.write(`\r[${setup} n=${n}] ${Math.min(n, i + batch)} viewers connected`);
      }
      const snapshotFrames = frames;
      await sleep(3_000);
      const rssAfter = servers.map((s) => rssKb(s.child.pid!));
      const sum = (kb: number[]) => kb.reduce((a, b) => a + b, 0);
      const rssPerViewerKb = (sum(rssAfter) - sum(rssBefore)) / n;
      const secondHalf = n - Math.floor(n / 2 / batch) * batch;
      const rssMarginalKb = (sum(rssAfter) - sum(rssMid)) / secondHalf;
      console.log(
        `\n[${setup} n=${n}] idle RSS ${rssAfter.map((k) => (k / 1024).toFixed(0)).join(' / ')} MiB (${rssPerViewerKb.toFixed(1)} KB per viewer over all, ${rssMarginalKb.toFixed(1)} KB over the second half); bidding for ${DURATION_S} s`,
      );
      const bidders = [await token('ann', ['bidder']), await token('ben', ['bidder'])];
      const answers: Array<{ version: number; at: number; ms: number }> = [];
      const pending: Promise<unknown>[] = [];
      const started = performance.now();
      const deadline = started + DURATION_S * 1_000;
      let i = 0;
      let answeredInTime = 0;
      for (let next = started; next < deadline; next += 100) {
        await sleep(Math.max(0, next - performance.now()));
        const k = i++;
        pending.push(
          placeBid(servers[0]!.url, auctionId, 100 + k * 10, bidders[k % 2]!).then((r) => {
            if (r.at <= deadline) answeredInTime++;
            if (r.status === 201) answers.push(r);
          }),
        );
        if (k % 50 === 0) process.stdout.write(`\r[${setup} n=${n}] ${k} bids sent`);
      }
      await Promise.all(pending);
      const lastVersion = Math.max(...answers.map((a) => a.version));
      const t = Date.now();
      while ((reached.get(lastVersion)?.count ?? 0) < n && Date.now() - t < 20_000) await sleep(50);
      const delivery = answers.map((a) => { const r = reached.get(a.version); return r && r.count >= n ? r.lastAt - a.at : NaN; }).filter((x) => !Number.isNaN(x));
      const row: Row = {
        setup,
        viewers: n,
        'ready ms': Math.round(readyMs),
        bids: `${answeredInTime}/${i}`,
        'bid p99 ms': Math.round(percentile(answers.map((a) => a.ms), 99)),
        'p50 ms': Math.round(percentile(delivery, 50)),
        'p99 ms': Math.round(percentile(delivery, 99)),
        'max ms': Math.round(Math.max(...delivery)),
        'delivered': `${delivery.length}/${answers.length}`,
        'frames/viewer': Number(((frames - snapshotFrames) / n).toFixed(1)),
        'KB/idle viewer': Number(rssPerViewerKb.toFixed(1)),
        'KB/viewer, 2nd half': Number(rssMarginalKb.toFixed(1)),
      };
      rows.push(row);
      console.log(`\n[${setup} n=${n}] ${JSON.stringify(row)}`);
      for (const stop of stops) stop();
    } finally {
      await Promise.allSettled(servers.map((s) => s.stop()));
    }
  }
}
console.table(rows);
console.log(JSON.stringify({ bench: 'fanout', durationS: DURATION_S, rows }));
await Promise.allSettled([redis.stop(), pg.stop(), kafka.stop()]);
