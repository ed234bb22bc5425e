import { outbidTsupConfig } from '../../tools/build/tsup.config.mjs';

// The library in ESM and CJS; the command (`outbid-server`, top-level await) in ESM only.
export default [
  outbidTsupConfig({ index: 'src/index.ts' }),
  outbidTsupConfig({ main: 'src/main.ts' }, { format: ['esm'], clean: false }),
];
