import { outbidTsupConfig } from '../../tools/build/tsup.config.mjs';

export default outbidTsupConfig(
  { index: 'src/index.ts', testing: 'src/testing/index.ts', protocol: 'src/protocol/index.ts' },
  { external: ['vitest'] },
);
