#!/usr/bin/env node
// `pnpm chaos [--quick | --long] [--seed N] [--load-seconds S] [--check FILE]`: the history checker (tests/chaos).
// Runs two server processes on redis-server + Postgres + the Kafka mock broker under bidding load and seeded
// faults, then checks the recorded history. Exits 1 on any violation. See RELIABILITY.md.
import { spawn } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
// Debian keeps the PostgreSQL server binaries outside PATH.
const pgBin = existsSync('/usr/lib/postgresql') ? readdirSync('/usr/lib/postgresql').map((v) => `/usr/lib/postgresql/${v}/bin`) : [];
const child = spawn(process.execPath, ['--import', 'tsx', '--conditions=@outbid/source', join(root, 'tests/chaos/src/main.ts'), ...process.argv.slice(2)], {
  cwd: root,
  stdio: 'inherit',
  env: { ...process.env, PATH: [process.env.PATH, ...pgBin].join(':') },
});
for (const signal of ['SIGINT', 'SIGTERM']) process.on(signal, () => child.kill(signal));
child.on('exit', (code, signal) => process.exit(code ?? (signal ? 1 : 0)));
