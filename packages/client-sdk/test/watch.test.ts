import { describe, expect, it } from 'vitest';
import { createOutbidClient, type WatchSnapshot } from '../src/index.js';
import { frame, json, scriptedServer, until } from './scripted.js';

function setup(rest?: Parameters<typeof scriptedServer>[0]) {
  const server = scriptedServer(rest);
  const client = createOutbidClient({ baseUrl: 'http://outbid.test/', fetch: server.fetch, getToken: () => 'token-1' });
  const seen: WatchSnapshot[] = [];
  return { server, client, seen, listener: (s: WatchSnapshot) => seen.push(s) };
}
const last = (seen: WatchSnapshot[]) => seen.at(-1)!;

describe('watchAuction', () => {
  it('streams with Authorization, applies frames by version and drops older and duplicate ones', async () => {
    const { server, client, seen, listener } = setup();
    const stop = client.watchAuction('a1', listener, { baseDelayMs: 5 });
    await until(() => server.streams.length === 1);
    const s = server.streams[0]!;
    expect(s.headers.authorization).toBe('Bearer token-1');
    expect(s.headers['last-event-id']).toBeUndefined();
    s.send('snapshot', frame(3));
    s.send('bid', frame(5));
    s.send('bid', frame(4)); // out of order: older than what we show
    s.send('bid', frame(5)); // duplicate (at-least-once delivery)
    s.send('tick', frame(5, { type: 'tick', currentPrice: 1 })); // ticks never change the state
    s.send('bid', frame(6));
    await until(() => last(seen).auction?.version === 6);
    const versions = seen.map((x) => x.auction?.version ?? null);
    expect(versions.filter((v, i) => v !== versions[i - 1])).toEqual([null, 3, 5, 6]);
    expect(last(seen)).toMatchObject({ connection: 'live', auction: { currentPrice: 1_060, winnerId: 'b6' } });
    stop();
  });

  it('keeps the same state object while nothing changes', async () => {
    const { server, client, seen, listener } = setup();
    const stop = client.watchAuction('a1', listener);
    await until(() => server.streams.length === 1);
    server.streams[0]!.send('snapshot', frame(2));
    await until(() => last(seen).auction?.version === 2);
    const before = last(seen).auction;
    const count = seen.length;
    server.streams[0]!.send('bid', frame(2));
    server.streams[0]!.send('tick', frame(2, { type: 'tick' }));
    await new Promise((r) => setTimeout(r, 30));
    expect(seen.length).toBe(count);
    expect(last(seen).auction).toBe(before);
    stop();
  });

  it('reconnects after a dropped connection with Last-Event-ID and backoff, and never goes back a version', async () => {
    const { server, client, seen, listener } = setup();
    const stop = client.watchAuction('a1', listener, { baseDelayMs: 5, maxDelayMs: 20 });
    await until(() => server.streams.length === 1);
    server.streams[0]!.send('snapshot', frame(7));
    await until(() => last(seen).auction?.version === 7);
    server.streams[0]!.drop();
    await until(() => server.streams.length === 2);
    expect(seen.some((x) => x.connection === 'reconnecting')).toBe(true);
    expect(server.streams[1]!.headers['last-event-id']).toBe('7');
    server.streams[1]!.send('snapshot', frame(6)); // a lagging instance: older, ignored
    server.streams[1]!.send('bid', frame(8));
    await until(() => last(seen).auction?.version === 8);
    const versions = seen.map((x) => x.auction?.version ?? 0);
    for (let i = 1; i < versions.length; i++) expect(versions[i]!).toBeGreaterThanOrEqual(versions[i - 1]!);
    expect(last(seen).connection).toBe('live');
    stop();
  });

  it('treats two heartbeat intervals of silence as a dead connection', async () => {
    const { server, client, listener } = setup();
    const stop = client.watchAuction('a1', listener, { heartbeatMs: 40, baseDelayMs: 1 });
    await until(() => server.streams.length === 1);
    const first = server.streams[0]!;
    first.send('snapshot', frame(1));
    for (let i = 0; i < 4; i++) {
      await new Promise((r) => setTimeout(r, 30));
      first.comment(); // heartbeats keep it alive past 2 × 40 ms
    }
    expect(server.streams).toHaveLength(1);
    await until(() => server.streams.length === 2, 1_000); // then silence
    expect(first.aborted).toBe(true);
    stop();
  });

  it('a version jump right after reconnecting refetches the auction and continues from it', async () => {
    const { server, client, seen, listener } = setup((method, path) =>
      method === 'GET' && path === '/auctions/a1'
        ? json(200, { id: 'a1', status: 'active', currentPrice: 2_000, currentWinnerId: 'z', version: 12, endAt: new Date(Date.now() + 60_000).toISOString(), serverTime: new Date().toISOString() })
        : json(404, {}),
    );
    const stop = client.watchAuction('a1', listener, { baseDelayMs: 1 });
    await until(() => server.streams.length === 1);
    server.streams[0]!.send('snapshot', frame(4));
    await until(() => last(seen).auction?.version === 4);
    server.streams[0]!.drop();
    await until(() => server.streams.length === 2);
    server.streams[1]!.send('bid', frame(9)); // 5..8 never arrived
    await until(() => last(seen).auction?.version === 12);
    expect(server.requests.some((r) => r.method === 'GET' && r.path === '/auctions/a1')).toBe(true);
    expect(last(seen).auction).toMatchObject({ currentPrice: 2_000, winnerId: 'z' });
    stop();
  });

  it('carries reserveMet, buyNowPrice and buyNowAvailable when the frames have them, and only then', async () => {
    const { server, client, seen, listener } = setup();
    const stop = client.watchAuction('a1', listener);
    await until(() => server.streams.length === 1);
    const s = server.streams[0]!;
    s.send('snapshot', frame(1, { winnerId: null, currentPrice: 2_000, reserveMet: false, buyNowPrice: 10_000, buyNowAvailable: true }));
    await until(() => last(seen).auction?.version === 1);
    expect(last(seen).auction).toMatchObject({ reserveMet: false, buyNowPrice: 10_000, buyNowAvailable: true });
    s.send('bid', frame(2, { reserveMet: false, buyNowPrice: 10_000, buyNowAvailable: false })); // the first bid: Buy It Now is gone
    await until(() => last(seen).auction?.version === 2);
    expect(last(seen).auction).toMatchObject({ reserveMet: false, buyNowPrice: 10_000, buyNowAvailable: false });
    s.send('bid', frame(3, { reserveMet: true, buyNowPrice: 10_000, buyNowAvailable: false, leaderMax: 9_999, reservePrice: 5_000 }));
    await until(() => last(seen).auction?.version === 3);
    expect(last(seen).auction).toMatchObject({ reserveMet: true, buyNowAvailable: false });
    // Nothing but the public state reaches the snapshot, even if a frame carried more.
    expect(Object.keys(last(seen).auction!).sort()).toEqual(['auctionId', 'buyNowAvailable', 'buyNowPrice', 'currentPrice', 'endAt', 'reserveMet', 'status', 'version', 'winnerId']);
    stop();

    // An auction without a reserve or Buy It Now: the fields are absent, not false.
    const plain = setup();
    const stopPlain = plain.client.watchAuction('a1', plain.listener);
    await until(() => plain.server.streams.length === 1);
    plain.server.streams[0]!.send('snapshot', frame(1));
    await until(() => last(plain.seen).auction?.version === 1);
    for (const key of ['reserveMet', 'buyNowPrice', 'buyNowAvailable']) expect(last(plain.seen).auction).not.toHaveProperty(key);
    stopPlain();
  });

  it('a refetched auction carries reserveMet and Buy It Now too', async () => {
    const { server, client, seen, listener } = setup((method, path) =>
      method === 'GET' && path === '/auctions/a1'
        ? json(200, { id: 'a1', status: 'active', currentPrice: 5_000, currentWinnerId: 'z', version: 12, endAt: new Date(Date.now() + 60_000).toISOString(), reserveMet: true, buyNowPrice: 10_000, buyNowAvailable: false, serverTime: new Date().toISOString() })
        : json(404, {}),
    );
    const stop = client.watchAuction('a1', listener, { baseDelayMs: 1 });
    await until(() => server.streams.length === 1);
    server.streams[0]!.send('snapshot', frame(4, { reserveMet: false, buyNowPrice: 10_000, buyNowAvailable: true }));
    await until(() => last(seen).auction?.version === 4);
    server.streams[0]!.drop();
    await until(() => server.streams.length === 2);
    server.streams[1]!.send('bid', frame(9, { reserveMet: false, buyNowPrice: 10_000, buyNowAvailable: false })); // a gap: refetch
    await until(() => last(seen).auction?.version === 12);
    expect(last(seen).auction).toMatchObject({ currentPrice: 5_000, winnerId: 'z', reserveMet: true, buyNowPrice: 10_000, buyNowAvailable: false });
    stop();
  });

  it('closes on the ended frame and on 204; does not reconnect after 401', async () => {
    const { server, client, seen, listener } = setup();
    client.watchAuction('a1', listener);
    await until(() => server.streams.length === 1);
    server.streams[0]!.send('ended', frame(9, { type: 'ended', status: 'ended', remainingMs: 0 }));
    await until(() => last(seen).connection === 'closed');
    expect(last(seen)).toMatchObject({ auction: { status: 'ended', version: 9 }, error: null });

    const other = setup();
    other.server.streamStatus.push(204);
    other.client.watchAuction('a1', other.listener);
    await until(() => last(other.seen)?.connection === 'closed');
    const denied = setup();
    denied.server.streamStatus.push(401);
    denied.client.watchAuction('a1', denied.listener, { baseDelayMs: 1 });
    await until(() => last(denied.seen)?.connection === 'closed');
    expect(last(denied.seen).error).toMatchObject({ kind: 'auth', status: 401 });
    await new Promise((r) => setTimeout(r, 30));
    expect(denied.server.requests.filter((r) => r.path.endsWith('/stream'))).toHaveLength(1);
  });
});
