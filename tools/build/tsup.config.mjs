// @ts-check
import { defineConfig } from 'tsup';

/**
 * One tsup configuration shared by every published package: ESM + CJS + declarations for each entry.
 * Each package's own tsup.config.ts names its entries and nothing else. (Plain JS: tsup loads this file
 * with Node, which cannot import TypeScript from another package.)
 * @param {Record<string, string>} entry
 * @param {import('tsup').Options} [overrides]
 */
export function outbidTsupConfig(entry, overrides = {}) {
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
