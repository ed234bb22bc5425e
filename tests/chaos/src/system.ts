import { execFile, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { chmodSync, copyFileSync, createWriteStream, existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { createConnection } from 'node:net';
import { promisify } from 'node:util';
import { freePort, isRoot, redisCommand, requireBinary, startKafkaMock, waitFor, type KafkaMock } from '@outbid/test-services';
import { startProxy, type FaultProxy } from './proxy.js';

const run = promisify(execFile);
const ROOT = resolve(import.meta.dirname, '../../..');
const MAIN = join(ROOT, 'packages/server/src/main.ts');
export const JWT_SECRET = 'chaos-harness-secret-of-32-characters!!';
const PG_USER = 'outbidpg';

/**
 * The real system the harness runs: redis-server (with an append-only file, so it can come back with its data
 * or, its files removed, empty), a Postgres cluster, the Kafka mock broker, and two server processes. Servers reach
 * Redis and Postgres, and clients reach the servers, through fault proxies. Every process is started here and
 * stopped by `stop()` by its pid. Process control is asynchronous so the proxies (in this process) keep running.
 */
export interface System {
  dir: string;
  /** Direct URL of the database (the ledger reader uses it; servers go through the proxy). */
  databaseUrl: string;
  proxies: Record<'redis' | 'pg' | 'http-a' | 'http-b', FaultProxy>;
  /** Base URL through the proxy for an instance. */
  instanceUrl(name: 'a' | 'b'): string;
  killRedis(): Promise<void>;
  startRedis(options: { empty: boolean }): Promise<void>;
  stopPostgres(mode: 'fast' | 'immediate'): Promise<void>;
  startPostgres(): Promise<void>;
  killServer(name: 'a' | 'b'): Promise<void>;
  startServer(name: 'a' | 'b'): Promise<void>;
  serverUp(name: 'a' | 'b'): boolean;
  /** Null while every service the harness does not fault is alive; else what died (an environment failure, not a finding). */
  environmentProblem(): Promise<string | null>;
  /** Stops everything; first copies the servers' and Postgres's logs to `keepLogsIn` when given. */
  stop(keepLogsIn?: string): Promise<void>;
}

const exited = (child: ChildProcess) => child.exitCode !== null || child.signalCode !== null;
function killAndWait(child: ChildProcess | null, signal: NodeJS.Signals): Promise<void> {
  if (!child || exited(child)) return Promise.resolve();
  return new Promise((done) => {
    child.once('exit', () => done());
    child.kill(signal);
  });
}

export async function startSystem(log: (line: string) => void): Promise<System> {
  const redisServer = requireBinary('redis-server', 'redis-server');
  requireBinary('pg_ctl', 'postgresql');
  const dir = mkdtempSync(join(tmpdir(), 'outbid-chaos-'));
  chmodSync(dir, 0o777);
  const children = new Set<ChildProcess>();
  let kafka: KafkaMock | null = null;
  let redis: ChildProcess | null = null;
  const servers: Record<'a' | 'b', ChildProcess | null> = { a: null, b: null };
  let pgRunning = false;

  // --- redis-server: AOF with fsync on every write, so a SIGKILL loses nothing when it comes back "with its data".
  const redisPort = await freePort();
  const redisDir = join(dir, 'redis');
  const startRedis = async ({ empty }: { empty: boolean }) => {
    if (empty) rmSync(redisDir, { recursive: true, force: true });
    mkdirSync(redisDir, { recursive: true });
    const child = spawn(
      redisServer,
      ['--port', String(redisPort), '--bind', '127.0.0.1', '--dir', redisDir, '--save', '', '--appendonly', 'yes', '--appendfsync', 'always', '--maxmemory-policy', 'noeviction'],
      { stdio: 'ignore' },
    );
    children.add(child);
    child.once('exit', () => children.delete(child));
    redis = child;
    await waitFor(async () => (await redisCommand(redisPort, 'PING')) === '+PONG', `redis-server on ${redisPort}`);
  };
  const killRedis = () => killAndWait(redis, 'SIGKILL');

  // --- Postgres, run as an unprivileged user when we are root (as tools/test-services does).
  const user = isRoot() ? PG_USER : undefined;
  const as = (command: string, args: string[]) => (user ? run('runuser', ['-u', user, '--', command, ...args]) : run(command, args));
  if (user && spawnSync('id', ['-u', PG_USER]).status !== 0) {
    await run('useradd', ['--system', '--no-create-home', '--shell', '/usr/sbin/nologin', PG_USER]);
  }
  const pgDir = join(dir, 'pg');
  mkdirSync(pgDir);
  if (user) await run('chown', ['-R', `${user}:${user}`, pgDir]);
  const pgData = join(pgDir, 'data');
  const pgPort = await freePort();
  await as('initdb', ['-D', pgData, '-A', 'trust', '-U', 'postgres', '--no-sync']);
  const startPostgres = async () => {
    await as('pg_ctl', ['-D', pgData, '-o', `-p ${pgPort} -k ${pgDir} -c listen_addresses=127.0.0.1 -c fsync=on -c max_connections=300`, '-l', join(pgDir, 'log'), '-w', 'start']);
    pgRunning = true;
  };
  const stopPostgres = async (mode: 'fast' | 'immediate') => {
    await as('pg_ctl', ['-D', pgData, '-m', mode, '-w', 'stop']);
    pgRunning = false;
  };

  const proxies = {} as System['proxies'];
  const stop = async (keepLogsIn?: string) => {
    await Promise.allSettled(Object.values(proxies).map((p) => p.close()));
    if (keepLogsIn) {
      mkdirSync(keepLogsIn, { recursive: true });
      for (const [from, to] of [['server-a.log', 'server-a.log'], ['server-b.log', 'server-b.log'], ['pg/log', 'postgres.log']]) {
        if (existsSync(join(dir, from!))) copyFileSync(join(dir, from!), join(keepLogsIn, to!));
      }
    }
    await Promise.allSettled([...children].map((c) => killAndWait(c, 'SIGKILL')));
    // A broker that died by a signal never emits 'exit' again for stop() to wait on: bounded.
    await Promise.race([kafka?.stop().catch(() => undefined), new Promise((r) => setTimeout(r, 3_000))]);
    if (pgRunning) await stopPostgres('immediate').catch(() => undefined);
    rmSync(dir, { recursive: true, force: true });
  };

  try {
    await startRedis({ empty: true });
    await startPostgres();
    await run('psql', ['-h', '127.0.0.1', '-p', String(pgPort), '-U', 'postgres', '-c', 'CREATE DATABASE chaos']);
    kafka = await startKafkaMock({ topics: [{ name: 'outbid.auction-events', partitions: 4 }] });
    proxies.redis = await startProxy('redis', redisPort);
    proxies.pg = await startProxy('pg', pgPort);
    proxies['http-a'] = await startProxy('http-a', null);
    proxies['http-b'] = await startProxy('http-b', null);
  } catch (error) {
    await stop();
    throw error;
  }

  const startServer = async (name: 'a' | 'b') => {
    const logFile = createWriteStream(join(dir, `server-${name}.log`), { flags: 'a' });
    const child = spawn(process.execPath, ['--import', 'tsx', '--conditions=@outbid/source', MAIN], {
      env: {
        ...process.env,
        NODE_ENV: 'production',
        REDIS_URL: proxies.redis.url('redis'),
        DATABASE_URL: `postgres://postgres@127.0.0.1:${proxies.pg.port}/chaos`,
        KAFKA_BROKERS: kafka!.brokers.join(','),
        PORT: '0',
        HOST: '127.0.0.1',
        OUTBID_JWT_SECRET: JWT_SECRET,
        OUTBID_FLUSH_MS: '0',
        OUTBID_HEARTBEAT_MS: '2000',
        OUTBID_GUARD_INTERVAL_MS: '1000',
        OUTBID_BID_RATE_PER_SECOND: '100000',
        OUTBID_BID_BURST: '100000',
        OUTBID_CREATE_RATE_PER_MINUTE: '100000000',
        OUTBID_MAX_STREAMS_PER_USER: '1000',
        OUTBID_LOG_LEVEL: 'info',
      },
      cwd: ROOT,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    children.add(child);
    servers[name] = child;
    let out = '';
    child.stderr!.on('data', (d: Buffer) => {
      logFile.write(d);
      if (out.length < 100_000) out += d.toString();
    });
    const port = await new Promise<number>((listening, failed) => {
      const timer = setTimeout(() => failed(new Error(`server ${name} did not listen within 60 s: ${out.slice(-500)}`)), 60_000);
      child.stdout!.on('data', (d: Buffer) => {
        logFile.write(d);
        if (out.length < 100_000) out += d.toString();
        const line = out.split('\n').find((l) => l.includes('Outbid server listening'));
        if (line && timer) {
          clearTimeout(timer);
          listening(Number(new URL((JSON.parse(line) as { url: string }).url).port));
        }
      });
      child.once('exit', (code, signal) => {
        children.delete(child);
        clearTimeout(timer);
        failed(new Error(`server ${name} exited (${code ?? signal}) before listening: ${out.slice(-500)}`));
      });
    });
    // It listens before its bus subscription joined; traffic only once /readyz says 200.
    for (const until = Date.now() + 60_000; ; ) {
      const res = await fetch(`http://127.0.0.1:${port}/readyz`).catch(() => null);
      if (res?.status === 200) break;
      if (Date.now() > until || child.exitCode !== null) throw new Error(`server ${name} did not become ready within 60 s: ${out.slice(-500)}`);
      await new Promise((r) => setTimeout(r, 50));
    }
    proxies[`http-${name}`].setTarget(port);
    log(`server ${name} (pid ${child.pid}) listening on ${port}`);
  };
  const startServerWithRetries = async (name: 'a' | 'b') => {
    for (let attempt = 1; ; attempt++) {
      try {
        return await startServer(name);
      } catch (error) {
        if (attempt >= 3) throw error;
        log(`server ${name} did not start (${(error as Error).message.split('\n')[0]}); trying again`);
        await new Promise((r) => setTimeout(r, 2_000));
      }
    }
  };
  const reachable = (hostPort: string) =>
    new Promise<boolean>((answer) => {
      const [host, port] = hostPort.split(':');
      const socket = createConnection({ host: host!, port: Number(port) });
      socket.setTimeout(2_000, () => socket.destroy());
      socket.once('connect', () => {
        socket.destroy();
        answer(true);
      });
      socket.once('error', () => answer(false));
      socket.once('close', () => answer(false));
    });
  const killServer = async (name: 'a' | 'b') => {
    proxies[`http-${name}`].setTarget(null);
    proxies[`http-${name}`].cut();
    await killAndWait(servers[name], 'SIGKILL');
  };

  return {
    dir,
    databaseUrl: `postgres://postgres@127.0.0.1:${pgPort}/chaos`,
    proxies,
    instanceUrl: (name) => proxies[`http-${name}`].url('http'),
    killRedis,
    startRedis,
    stopPostgres,
    startPostgres,
    killServer,
    startServer: startServerWithRetries,
    environmentProblem: async () => ((await reachable(kafka!.brokers[0]!)) ? null : `the Kafka mock broker (${kafka!.brokers[0]}) is gone: not an injected fault`),
    serverUp: (name) => servers[name] !== null && !exited(servers[name]),
    stop,
  };
}
