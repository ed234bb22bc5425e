#!/usr/bin/env node
// `pnpm bench <name>`: runs one benchmark from its package (never part of `pnpm test`).
import { spawnSync } from 'node:child_process';

const benches = {
  core: ['packages/core/bench/memory-engine.bench.ts'],
  redis: ['packages/adapters/redis/bench/place-bid.bench.ts'],
  ledger: ['packages/adapters/postgres/bench/ledger.bench.ts'],
  'ledger-cpu': ['packages/adapters/postgres/bench/ledger-cpu.bench.ts'],
  ends: ['tests/integration/bench/ends.bench.ts'],
  bids: ['tests/integration/bench/bids.bench.ts'],
  'kafka-latency': ['tests/integration/bench/kafka-latency.bench.ts'],
  fanout: ['tests/integration/bench/fanout.bench.ts'],
  'kafka-join': ['packages/adapters/kafka/bench/group-join.bench.ts'],
};
const name = process.argv[2];
if (!benches[name]) {
  console.error(`usage: pnpm bench <${Object.keys(benches).join('|')}>`);
  process.exit(2);
}
const result = spawnSync('npx', ['tsx', '--conditions=@outbid/source', ...benches[name], ...process.argv.slice(3)], { stdio: 'inherit' });
process.exit(result.status ?? 1);
