import { defineConfig } from 'vite';

export default defineConfig({
  // The SDK's TypeScript sources, like the tests: no package build needed first.
  resolve: { conditions: ['@outbid/source', 'module', 'browser', 'development|production'] },
  build: { outDir: 'dist', emptyOutDir: true },
  server: { proxy: { '/auctions': 'http://localhost:8787', '/dev': 'http://localhost:8787' } },
});
