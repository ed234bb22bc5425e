#!/usr/bin/env node
// `pnpm test`: installs the system services the suites need (unless OUTBID_SKIP_SYSTEM_DEPS=1), then runs every
// vitest suite in the workspace. Extra arguments go to vitest (e.g. `pnpm test packages/core`).
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';

const step = (title, command, args, env = {}) => {
  console.log(`\n[outbid] ${title}`);
  const result = spawnSync(command, args, { stdio: 'inherit', env: { ...process.env, ...env } });
  if (result.status !== 0) process.exit(result.status ?? 1);
};

if (process.env.OUTBID_SKIP_SYSTEM_DEPS !== '1') step('checking system services', 'bash', ['scripts/ensure-system-deps.sh']);

// Debian keeps the PostgreSQL server binaries outside PATH.
const pgBin = existsSync('/usr/lib/postgresql') ? readdirSync('/usr/lib/postgresql').map((v) => `/usr/lib/postgresql/${v}/bin`) : [];
const PATH = [process.env.PATH, ...pgBin].join(':');

// Tests with time bounds under load (2,000 simultaneous ends; the browser's "within a second") run after the rest,
// one file at a time: on 2 shared cores, running them beside other suites would measure the other suites. The chaos
// run (`pnpm chaos --quick`, ~2 min, two servers and every service under faults) is one of them for the same reason.
const SOLO = ['tests/integration/test/ends.test.ts', 'examples/live-auction/test/e2e.test.ts', 'tests/chaos/test/quick.test.ts'];
const args = process.argv.slice(2);
if (args.length > 0) {
  step('running the selected test suites', 'npx', ['vitest', 'run', ...args], { PATH });
} else {
  step('running the test suites', 'npx', ['vitest', 'run', ...SOLO.flatMap((f) => ['--exclude', f])], { PATH });
  step('running the timing-sensitive suites alone', 'npx', ['vitest', 'run', '--no-file-parallelism', ...SOLO], { PATH });
}
