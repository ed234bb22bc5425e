/**
 * `pnpm bench kafka-latency`: two server processes on Redis + Postgres + the Kafka mock (3 partitions). A viewer on
 * B and one on A; 20 bids through A, 50 ms apart. Delivery = the bid's 201 → the first frame carrying that version
 * (or a later one), per viewer. Also: spawn → listening and spawn → /readyz 200 for each instance.
 */
import { startKafkaMock, startPostgres, startRedis } from '@outbid/test-services';
import { createAuction, percentile, placeBid, serverProcess, sseViewer, token } from './harness.js';

const BIDS = Number(process.env.BIDS ?? 20);
const GAP = Number(process.env.GAP_MS ?? 50);
const [redis, pg, kafka] = await Promise.all([startRedis(), startPostgres(), startKafkaMock({ topics: [{ name: 'outbid.auction-events', partitions: 3 }] })]);
const env = { REDIS_URL: redis.url, DATABASE_URL: await pg.createDatabase('kafka_latency'), KAFKA_BROKERS: kafka.brokers.join(','), OUTBID_FLUSH_MS: process.env.OUTBID_FLUSH_MS ?? '50' };
const a = await serverProcess(env);
const b = await serverProcess(env);
try {
  console.log(`start-up: A listening ${a.listeningMs.toFixed(0)} ms, ready ${a.readyMs.toFixed(0)} ms; B listening ${b.listeningMs.toFixed(0)} ms, ready ${b.readyMs.toFixed(0)} ms`);
  const auctionId = await createAuction(a.url);
  const frames: Record<'A' | 'B', Array<{ v: number; at: number }>> = { A: [], B: [] };
  const viewerAuth = await token('viewer', ['viewer']);
  const stops = [await sseViewer(a.url, auctionId, viewerAuth, (v, _e, at) => frames.A.push({ v, at })), await sseViewer(b.url, auctionId, viewerAuth, (v, _e, at) => frames.B.push({ v, at }))];
  const t1 = Date.now();
  while ((frames.A.length === 0 || frames.B.length === 0) && Date.now() - t1 < 10_000) await new Promise((r) => setTimeout(r, 20));
  const bidders = [await token('ann', ['bidder']), await token('ben', ['bidder'])];
  const answers: Array<{ version: number; at: number }> = [];
  const inflight: Promise<unknown>[] = [];
  for (let i = 0; i < BIDS; i++) {
    inflight.push(placeBid(a.url, auctionId, 100 + i * 10, bidders[i % 2]!).then((r) => { if (r.status === 201) answers.push(r); }));
    await new Promise((r) => setTimeout(r, GAP));
  }
  await Promise.all(inflight);
  console.log(`${answers.length} of ${BIDS} bids accepted (a later bid can overtake an earlier one)`);
  const last = Math.max(...answers.map((x) => x.version));
  const t2 = Date.now();
  while ((frames.A.at(-1)!.v < last || frames.B.at(-1)!.v < last) && Date.now() - t2 < 30_000) await new Promise((r) => setTimeout(r, 20));
  for (const name of ['A', 'B'] as const) {
    const lat = answers.map((ans) => { const f = frames[name].find((x) => x.v >= ans.version); return f ? f.at - ans.at : NaN; });
    const first = lat[0]!;
    console.log(`viewer on ${name}${name === 'A' ? ' (accepting instance)' : ' (other instance)'}: first bid ${first.toFixed(0)} ms, p50 ${percentile(lat, 50).toFixed(0)} ms, max ${Math.max(...lat).toFixed(0)} ms, state frames after snapshot ${frames[name].length - 1} for ${answers.length} accepted bids`);
  }
  for (const s of stops) s();
} finally {
  await Promise.allSettled([a.stop(), b.stop()]);
  await Promise.allSettled([redis.stop(), pg.stop(), kafka.stop()]);
}
