import { spawn, type ChildProcess } from 'node:child_process';
import { createConnection } from 'node:net';
import { freePort, waitFor } from './ports.js';
import { requireBinary } from './system.js';

export interface RedisServer {
  port: number;
  url: string;
  /** Kills the process (default SIGKILL): the data set is gone, as after a crash without persistence. */
  kill(signal?: NodeJS.Signals): Promise<void>;
  /** Starts it again on the same port, empty. */
  restart(): Promise<void>;
  stop(): Promise<void>;
}

/** Sends one inline command and resolves with the first reply line. */
export function redisCommand(port: number, command: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = createConnection({ host: '127.0.0.1', port });
    socket.setTimeout(2_000, () => socket.destroy(new Error('redis timeout')));
    socket.once('error', reject);
    socket.once('data', (data) => {
      resolve(data.toString('utf8').split('\r\n')[0]!);
      socket.end();
    });
    socket.write(`${command}\r\n`);
  });
}

/** A throwaway redis-server on a free loopback port: no persistence, noeviction, stopped by `stop()`. */
export async function startRedis(extraArgs: string[] = []): Promise<RedisServer> {
  const binary = requireBinary('redis-server', 'redis-server');
  const port = await freePort();
  let child: ChildProcess | null = null;
  const launch = async () => {
    child = spawn(
      binary,
      ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--maxmemory-policy', 'noeviction', ...extraArgs],
      { stdio: 'ignore' },
    );
    await waitFor(async () => (await redisCommand(port, 'PING')) === '+PONG', `redis-server on ${port}`);
  };
  const kill = async (signal: NodeJS.Signals = 'SIGKILL') => {
    const proc = child;
    if (!proc || proc.exitCode !== null || proc.signalCode !== null) return;
    await new Promise<void>((resolve) => {
      proc.once('exit', () => resolve());
      proc.kill(signal);
    });
  };
  await launch();
  return {
    port,
    url: `redis://127.0.0.1:${port}`,
    kill,
    async restart() {
      await kill();
      await launch();
    },
    stop: () => kill('SIGTERM'),
  };
}
