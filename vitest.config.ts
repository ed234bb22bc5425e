import { defineConfig } from 'vitest/config';

// Tests run against the TypeScript sources: every package exports them under the `@outbid/source` condition.
// The rest are Vite's defaults; never add `import` here, it leaks into Node's own require() of dependencies.
export default defineConfig({
  resolve: { conditions: ['@outbid/source', 'module', 'browser', 'development|production'] },
  ssr: { resolve: { conditions: ['@outbid/source', 'module', 'node', 'development|production'] } },
  test: {
    include: ['packages/**/test/**/*.test.ts', 'tests/**/*.test.ts', 'examples/**/test/**/*.test.ts', 'tools/**/test/**/*.test.ts'],
    exclude: ['**/node_modules/**', '**/dist/**'],
    testTimeout: 30_000,
    hookTimeout: 120_000,
    pool: 'forks',
    maxWorkers: 2,
  },
});
