#!/usr/bin/env node
// `pnpm start` at the root: builds the demo page, then runs the server with the embedded default and its data in
// ./.outbid here. With no authentication configured it asks for dev mode by name (OUTBID_AUTH=dev: an open token
// endpoint on loopback); the server package's own `start` and the `outbid-server` bin never do.
import { spawnSync } from 'node:child_process';
import { resolve } from 'node:path';

const env = { ...process.env };
env.OUTBID_DATA_DIR ??= resolve('.outbid');
if (!env.OUTBID_AUTH && !env.OUTBID_JWT_SECRET && !env.OUTBID_JWKS_URL) env.OUTBID_AUTH = 'dev';

const run = (args) => spawnSync('pnpm', args, { stdio: 'inherit', env });
const built = run(['--filter', '@outbid/example-live-auction', 'build']);
if (built.status !== 0) process.exit(built.status ?? 1);
process.exit(run(['--filter', '@outbid/server', 'start']).status ?? 1);
