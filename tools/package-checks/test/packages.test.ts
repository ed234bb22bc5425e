import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

/**
 * Every published package builds with the shared tsup config, passes `publint --strict` and
 * `attw --pack --profile node16` (types resolve for ESM and CJS consumers). Node10 resolution is not
 * checked: subpath exports such as `@outbid/core/testing` need node16-style resolution.
 */
const root = resolve(import.meta.dirname, '../../..');
const packages = ['packages/core', 'packages/adapters/redis', 'packages/adapters/postgres', 'packages/adapters/kafka', 'packages/server', 'packages/client-sdk'];

function run(cwd: string, command: string, args: string[]) {
  const result = spawnSync(command, args, { cwd, encoding: 'utf8', env: { ...process.env, FORCE_COLOR: '0', NO_COLOR: '1' } });
  return { status: result.status, output: `${result.stdout}\n${result.stderr}` };
}

describe.each(packages)('%s is publishable', (dir) => {
  const cwd = join(root, dir);
  const name = (JSON.parse(readFileSync(join(cwd, 'package.json'), 'utf8')) as { name: string }).name;

  it(`${name} builds ESM, CJS and declarations`, () => {
    const build = run(cwd, 'npx', ['tsup', '--silent']);
    expect(build.status, build.output).toBe(0);
  }, 180_000);

  it(`${name} passes publint --strict`, () => {
    const lint = run(cwd, 'npx', ['publint', '--strict']);
    expect(lint.status, lint.output).toBe(0);
    expect(lint.output).not.toMatch(/Warnings:|Errors:/);
  }, 120_000);

  it(`${name} passes attw (node16 ESM and CJS, bundler)`, () => {
    const attw = run(cwd, 'npx', ['attw', '--pack', '.', '--profile', 'node16', '--format', 'ascii']);
    expect(attw.status, attw.output).toBe(0);
  }, 180_000);
});

// Runs after the builds above. The worker thread's script is not part of the bundle: it must be in `dist` beside it,
// and found from both formats (`import.meta.url` is shimmed in the CJS build).
it('@outbid/postgres runs PGlite in a worker thread from its build, as ESM and as CJS', () => {
  const dist = join(root, 'packages/adapters/postgres/dist');
  const open = (load: string) =>
    `${load}.then(async ({ createPgliteLedger }) => { const l = await createPgliteLedger({ thread: true }); await l.ping(); await l.close(); console.log('ok'); })`;
  const esm = run(dist, process.execPath, ['--input-type=module', '-e', open(`import(${JSON.stringify(join(dist, 'index.js'))})`)]);
  expect(esm, esm.output).toMatchObject({ status: 0, output: expect.stringMatching(/^ok\n/) });
  const cjs = run(dist, process.execPath, ['-e', open(`Promise.resolve(require(${JSON.stringify(join(dist, 'index.cjs'))}))`)]);
  expect(cjs, cjs.output).toMatchObject({ status: 0, output: expect.stringMatching(/^ok\n/) });
}, 120_000);
