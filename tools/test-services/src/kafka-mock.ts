import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { requireBinary, run } from './system.js';

export interface KafkaMock {
  brokers: string[];
  stop(): Promise<void>;
}

const SOURCE = resolve(import.meta.dirname, '../kafka-mock/mock-broker.c');

/** Compiles the launcher once per source version (gcc + librdkafka-dev) into a cache directory. */
function launcher(): string {
  requireBinary('gcc', 'gcc');
  if (!existsSync('/usr/include/librdkafka/rdkafka_mock.h')) {
    throw new Error('librdkafka-dev is not installed. Run `bash scripts/ensure-system-deps.sh` (pnpm test does) or `apt-get install -y librdkafka-dev`.');
  }
  const hash = createHash('sha1').update(readFileSync(SOURCE)).digest('hex').slice(0, 12);
  const dir = join(tmpdir(), 'outbid-kafka-mock');
  const binary = join(dir, `mock-broker-${hash}`);
  if (!existsSync(binary)) {
    mkdirSync(dir, { recursive: true });
    run('gcc', ['-O2', '-o', binary, SOURCE, '-lrdkafka']);
  }
  return binary;
}

/**
 * A Kafka-protocol broker on loopback: librdkafka's mock cluster with the given topics created up front (its
 * CreateTopics is not supported). kafkajs works against it for produce, consumer groups and committed offsets.
 */
export async function startKafkaMock(options: { topics: Array<{ name: string; partitions: number }>; brokers?: number }): Promise<KafkaMock> {
  const child = spawn(launcher(), [String(options.brokers ?? 1), ...options.topics.map((t) => `${t.name}:${t.partitions}`)], { stdio: ['ignore', 'pipe', 'pipe'] });
  const bootstrap = await new Promise<string>((resolveLine, reject) => {
    let out = '';
    let err = '';
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      if (out.includes('\n')) resolveLine(out.trim());
    });
    child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
    child.once('exit', (code) => reject(new Error(`mock broker exited (${code}): ${err}`)));
  });
  const brokers = bootstrap.split(',').map((b) => b.trim());
  if (!brokers.every((b) => b.startsWith('127.0.0.1:') || b.startsWith('localhost:'))) {
    child.kill('SIGKILL');
    throw new Error(`the mock broker is not on loopback: ${bootstrap}`);
  }
  return {
    brokers,
    stop: () =>
      new Promise<void>((done) => {
        if (child.exitCode !== null) return done();
        child.once('exit', () => done());
        child.kill('SIGTERM');
      }),
  };
}
