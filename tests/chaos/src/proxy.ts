import { createServer, createConnection, type Server, type Socket } from 'node:net';

/**
 * A loopback TCP proxy the harness puts between a client and a service, to stall or cut its connections.
 * The target can change (a restarted server listens on a new port) or be absent (the service is down: new
 * connections are refused by closing them at once).
 */
export interface FaultProxy {
  name: string;
  port: number;
  url(scheme: string, path?: string): string;
  setTarget(port: number | null): void;
  /** Holds every byte, both ways, on every connection (new ones included) for `ms`. */
  stall(ms: number): Promise<void>;
  /** Destroys every open connection (both sides). */
  cut(): number;
  close(): Promise<void>;
}

interface Pair {
  client: Socket;
  upstream: Socket;
  piped: boolean;
}

function connect(pair: Pair) {
  pair.client.pipe(pair.upstream);
  pair.upstream.pipe(pair.client);
  pair.piped = true;
}

export async function startProxy(name: string, targetPort: number | null): Promise<FaultProxy> {
  let target = targetPort;
  let stalled = false;
  const pairs = new Set<Pair>();

  const server: Server = createServer((client) => {
    if (target === null) {
      client.destroy();
      return;
    }
    const upstream = createConnection({ host: '127.0.0.1', port: target });
    const pair: Pair = { client, upstream, piped: false };
    pairs.add(pair);
    const end = () => {
      pairs.delete(pair);
      client.destroy();
      upstream.destroy();
    };
    client.on('error', end).on('close', end);
    upstream.on('error', end).on('close', end);
    if (stalled) {
      client.pause();
      upstream.pause();
    } else connect(pair);
  });
  await new Promise<void>((ready) => server.listen(0, '127.0.0.1', ready));
  const port = (server.address() as { port: number }).port;

  const setPaused = (paused: boolean) => {
    for (const pair of pairs) {
      if (paused && pair.piped) {
        pair.client.unpipe(pair.upstream);
        pair.upstream.unpipe(pair.client);
        pair.client.pause();
        pair.upstream.pause();
        pair.piped = false;
      } else if (!paused && !pair.piped) connect(pair);
    }
  };

  return {
    name,
    port,
    url: (scheme, path = '') => `${scheme}://127.0.0.1:${port}${path}`,
    setTarget(p) {
      target = p;
    },
    async stall(ms) {
      stalled = true;
      setPaused(true);
      await new Promise((r) => setTimeout(r, ms));
      stalled = false;
      setPaused(false);
    },
    cut() {
      const n = pairs.size;
      for (const pair of [...pairs]) {
        pair.client.destroy();
        pair.upstream.destroy();
      }
      pairs.clear();
      return n;
    },
    close: () =>
      new Promise<void>((done) => {
        for (const pair of pairs) {
          pair.client.destroy();
          pair.upstream.destroy();
        }
        server.close(() => done());
      }),
  };
}
