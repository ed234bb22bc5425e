/**
 * Summarises a V8 `.cpuprofile` (from `node --cpu-prof`): where the main thread's time went, by self time, per
 * function and per category (socket writes, GC, a package, Node internals, Outbid's own packages…).
 * Used by `pnpm bench bids --profile`; standalone: `npx tsx tests/integration/bench/cpuprofile-summary.ts FILE [FROM_US TO_US]`
 * (the optional window is in the profile's own microsecond clock).
 */
import { readFileSync } from 'node:fs';
import { pathToFileURL } from 'node:url';

interface CallFrame {
  functionName: string;
  url: string;
  lineNumber: number;
}
interface ProfileNode {
  id: number;
  callFrame: CallFrame;
}
export interface CpuProfile {
  nodes: ProfileNode[];
  startTime: number;
  endTime: number;
  samples: number[];
  timeDeltas: number[];
}

const SOCKET_WRITES = new Set(['writev', 'writeBuffer', 'writeUtf8String', 'writeLatin1String', 'writeAsciiString', 'writeUcs2String']);

/** The category a frame's self time is charged to. */
export function categoryOf(frame: CallFrame): string {
  const name = frame.functionName;
  if (name === '(idle)') return '(idle)';
  if (name === '(garbage collector)') return 'garbage collector';
  if (name === '(program)' || name === '(root)') return '(program: V8/native, unattributed)';
  if (SOCKET_WRITES.has(name)) return 'socket writes (writev/writeBuffer/writeUtf8String…)';
  const url = frame.url;
  if (!url) return `native: ${name || '(anonymous)'}`;
  const pkg = /node_modules\/(?:\.pnpm\/[^/]+\/node_modules\/)?((?:@[^/]+\/)?[^/]+)\//.exec(url);
  if (pkg) return `npm: ${pkg[1]}`;
  const ours = /\/packages\/((?:adapters\/)?[^/]+)\/(?:src|dist)\/(.+)$/.exec(url); // dist: a built server (--built)
  if (ours) return `outbid: ${ours[1]}`;
  if (url.startsWith('node:')) {
    const parts = url.slice(5).split('/');
    return `node: ${parts[0] === 'internal' ? parts.slice(1, 2).join('/').replace(/\.js$/, '') : parts[0]}`;
  }
  return 'other';
}

const where = (f: CallFrame) => {
  if (!f.url) return 'native';
  const short = f.url.replace(/^.*node_modules\/(?:\.pnpm\/[^/]+\/node_modules\/)?/, '').replace(/^file:\/\/.*\/packages\//, 'packages/');
  return `${short}:${f.lineNumber + 1}`;
};

export function summariseProfile(profile: CpuProfile, options: { decisions?: number; fromUs?: number; toUs?: number; top?: number } = {}): string {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const selfUs = new Map<number, number>();
  let t = profile.startTime;
  let total = 0;
  let inWindow = 0;
  for (let i = 0; i < profile.samples.length; i++) {
    t += profile.timeDeltas[i] ?? 0;
    const delta = profile.timeDeltas[i + 1] ?? 0; // a sample stands for the time until the next one
    if (options.fromUs !== undefined && (t < options.fromUs || t > options.toUs!)) continue;
    inWindow++;
    selfUs.set(profile.samples[i]!, (selfUs.get(profile.samples[i]!) ?? 0) + delta);
    total += delta;
  }
  const lines: string[] = [];
  const windowed = options.fromUs !== undefined;
  if (windowed && inWindow === 0) return summariseProfile(profile, { ...options, fromUs: undefined, toUs: undefined });
  const byFunction = new Map<string, { us: number; category: string }>();
  const byCategory = new Map<string, number>();
  for (const [id, us] of selfUs) {
    const frame = byId.get(id)!.callFrame;
    const key = `${frame.functionName || '(anonymous)'}  ${where(frame)}`;
    const category = categoryOf(frame);
    const entry = byFunction.get(key) ?? { us: 0, category };
    entry.us += us;
    byFunction.set(key, entry);
    byCategory.set(category, (byCategory.get(category) ?? 0) + us);
  }
  const idle = byCategory.get('(idle)') ?? 0;
  const busy = total - idle;
  const pct = (us: number, of: number) => `${((us / Math.max(1, of)) * 100).toFixed(1)}%`;
  const perDecision = (us: number) => (options.decisions ? ` | ${(us / options.decisions).toFixed(1)}` : '');
  lines.push(
    `\nCPU profile${windowed ? ' (load window only)' : ' (whole process life)'}: ${(total / 1e6).toFixed(1)} s sampled, main thread busy ${pct(busy, total)}` +
      `${options.decisions ? `, ${options.decisions} decisions, ${(busy / options.decisions).toFixed(0)} µs busy per decision` : ''}`,
  );
  lines.push(`\n| category (self time) | % of busy${options.decisions ? ' | µs per decision' : ''} |\n|---|---:|${options.decisions ? '---:|' : ''}`);
  for (const [category, us] of [...byCategory].filter(([c]) => c !== '(idle)').sort((a, b) => b[1] - a[1]).slice(0, 20)) {
    lines.push(`| ${category} | ${pct(us, busy)}${perDecision(us)} |`);
  }
  lines.push(`\n| function (self time) | where | % of busy |\n|---|---|---:|`);
  for (const [key, { us }] of [...byFunction].filter(([, v]) => v.category !== '(idle)').sort((a, b) => b[1].us - a[1].us).slice(0, options.top ?? 25)) {
    const [name, at] = key.split('  ');
    lines.push(`| \`${name}\` | ${at} | ${pct(us, busy)} |`);
  }
  return lines.join('\n');
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const [file, from, to] = process.argv.slice(2);
  if (!file) {
    console.error('usage: npx tsx tests/integration/bench/cpuprofile-summary.ts FILE.cpuprofile [FROM_US TO_US]');
    process.exit(2);
  }
  const profile = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile;
  console.log(summariseProfile(profile, from && to ? { fromUs: Number(from), toUs: Number(to) } : {}));
}
