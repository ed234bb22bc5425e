import { outbidTsupConfig } from '@outbid/build-tools/tsup';

export default outbidTsupConfig({ index: 'src/index.ts' });
