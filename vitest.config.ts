import { defineConfig } from 'vitest/config';

// Tests run against the TypeScript sources: every package exports them under the `@outbid/source` condition.
export default defineConfig({
  resolve: { conditions: ['@outbid/source', 'import', 'module', 'node', 'default'] },
  ssr: { resolve: { conditions: ['@outbid/source', 'import', 'module', 'node', 'default'] } },
  test: {
    include: ['packages/**/test/**/*.test.ts', 'tests/**/*.test.ts', 'examples/**/test/**/*.test.ts', 'tools/**/test/**/*.test.ts'],
    exclude: ['**/node_modules/**', '**/dist/**'],
    testTimeout: 30_000,
    hookTimeout: 120_000,
    pool: 'forks',
    maxWorkers: 2,
  },
});
