import { copyFileSync } from 'node:fs';
import { outbidTsupConfig } from '../../../tools/build/tsup.config.mjs';

export default outbidTsupConfig(
  { index: 'src/index.ts' },
  {
    // `new URL('./pglite-worker.mjs', import.meta.url)` finds the worker thread's script beside the module, from
    // `src` and from `dist`, in ESM and (with the shim) in CJS.
    shims: true,
    onSuccess: async () => copyFileSync('src/pglite-worker.mjs', 'dist/pglite-worker.mjs'),
  },
);
