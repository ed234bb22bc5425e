import { defineConfig, type Options } from 'tsup';

/**
 * One tsup configuration shared by every published package: ESM + CJS + declarations for each entry.
 * Each package's own tsup.config.ts names its entries and nothing else.
 */
export function outbidTsupConfig(entry: Record<string, string>, overrides: Options = {}) {
  return defineConfig({
    entry,
    format: ['esm', 'cjs'],
    dts: true,
    sourcemap: true,
    clean: true,
    target: 'node20',
    splitting: false,
    treeshake: true,
    ...overrides,
  });
}
