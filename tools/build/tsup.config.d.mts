import type { Options } from 'tsup';
export declare function outbidTsupConfig(entry: Record<string, string>, overrides?: Options): ReturnType<typeof import('tsup').defineConfig>;
