import { spawnSync } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from './ports.js';
import { isRoot, requireBinary, run } from './system.js';

/** Postgres refuses to run as root: as root, the server runs as this unprivileged user. */
const PG_USER = 'outbidpg';

export interface PostgresServer {
  port: number;
  /** postgres://postgres@127.0.0.1:PORT/postgres (trust auth on loopback). */
  url: string;
  /** Stops with `pg_ctl stop -m immediate` (a crash) or fast, then starts again on the same data. */
  restart(mode?: 'immediate' | 'fast'): Promise<void>;
  stopServer(mode?: 'immediate' | 'fast'): Promise<void>;
  startServer(): Promise<void>;
  /** Creates a fresh database and returns its URL. */
  createDatabase(name: string): Promise<string>;
  stop(): Promise<void>;
}

function ensureUser() {
  if (spawnSync('id', ['-u', PG_USER]).status !== 0) {
    run('useradd', ['--system', '--no-create-home', '--shell', '/usr/sbin/nologin', PG_USER]);
  }
}

/** A throwaway Postgres cluster (initdb + pg_ctl) on a free loopback port, removed by `stop()`. */
export async function startPostgres(): Promise<PostgresServer> {
  requireBinary('initdb', 'postgresql');
  requireBinary('pg_ctl', 'postgresql');
  const user = isRoot() ? PG_USER : undefined;
  if (user) ensureUser();
  const dir = mkdtempSync(join(tmpdir(), 'outbid-pg-'));
  chmodSync(dir, 0o777);
  const data = join(dir, 'data');
  const port = await freePort();
  if (user) run('chown', ['-R', `${user}:${user}`, dir]);
  run('initdb', ['-D', data, '-A', 'trust', '-U', 'postgres', '--no-sync'], { user });
  const start = async () => {
    run(
      'pg_ctl',
      ['-D', data, '-o', `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c fsync=on -c max_connections=200`, '-l', join(dir, 'log'), '-w', 'start'],
      { user },
    );
  };
  const stopServer = async (mode: 'immediate' | 'fast' = 'fast') => {
    run('pg_ctl', ['-D', data, '-m', mode, '-w', 'stop'], { user });
  };
  await start();
  const url = (db: string) => `postgres://postgres@127.0.0.1:${port}/${db}`;
  return {
    port,
    url: url('postgres'),
    startServer: start,
    stopServer,
    async restart(mode = 'immediate') {
      await stopServer(mode);
      await start();
    },
    async createDatabase(name) {
      run('psql', ['-h', '127.0.0.1', '-p', String(port), '-U', 'postgres', '-c', `CREATE DATABASE "${name}"`]);
      return url(name);
    },
    async stop() {
      try {
        await stopServer('immediate');
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    },
  };
}
