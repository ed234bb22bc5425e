import { outbidTsupConfig } from '../../../tools/build/tsup.config.mjs';

export default outbidTsupConfig({ index: 'src/index.ts' });
