import type { FaultRecord } from './history.js';
import type { Rng } from './rng.js';
import type { System } from './system.js';

export const FAULT_KINDS = [
  'redis-kill-empty',
  'redis-kill-keep',
  'pg-restart-fast',
  'pg-restart-immediate',
  'server-kill',
  'proxy-stall',
  'proxy-cut',
] as const;
export type FaultKind = (typeof FAULT_KINDS)[number];

export interface PlannedFault {
  /** Ms after the load started. */
  at: number;
  kind: FaultKind;
  target?: string;
  /** Outage or stall length in ms. */
  ms: number;
}

const PROXIES = ['redis', 'pg', 'http-a', 'http-b'] as const;

/**
 * The fault schedule, from the seed alone: every kind once in a seeded order, then seeded picks, spaced by
 * `gapMs`. The same seed gives the same schedule (what, where, how long, when).
 */
export function planFaults(rng: Rng, options: { fromMs: number; untilMs: number; gapMs: [number, number] }): PlannedFault[] {
  const order: FaultKind[] = [...FAULT_KINDS];
  for (let i = order.length - 1; i > 0; i--) {
    const j = rng.int(0, i);
    [order[i], order[j]] = [order[j]!, order[i]!];
  }
  const plan: PlannedFault[] = [];
  for (let at = options.fromMs, i = 0; at < options.untilMs; at += rng.int(options.gapMs[0], options.gapMs[1]), i++) {
    const kind = i < order.length ? order[i]! : rng.pick(FAULT_KINDS);
    switch (kind) {
      case 'redis-kill-empty':
      case 'redis-kill-keep':
        plan.push({ at, kind, ms: rng.int(200, 2_000) });
        break;
      case 'pg-restart-fast':
      case 'pg-restart-immediate':
        plan.push({ at, kind, ms: rng.int(0, 1_500) });
        break;
      case 'server-kill':
        plan.push({ at, kind, target: rng.pick(['a', 'b']), ms: rng.int(0, 1_000) });
        break;
      case 'proxy-stall':
        plan.push({ at, kind, target: rng.pick(PROXIES), ms: rng.int(500, 3_500) });
        break;
      case 'proxy-cut':
        plan.push({ at, kind, target: rng.pick(PROXIES), ms: 0 });
        break;
    }
  }
  return plan;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Injects one fault and heals it (the service is back, or the stall is over) before resolving. */
export async function injectFault(system: System, fault: PlannedFault, record: FaultRecord): Promise<void> {
  switch (fault.kind) {
    case 'redis-kill-empty':
    case 'redis-kill-keep':
      await system.killRedis();
      await sleep(fault.ms);
      await system.startRedis({ empty: fault.kind === 'redis-kill-empty' });
      break;
    case 'pg-restart-fast':
    case 'pg-restart-immediate':
      await system.stopPostgres(fault.kind === 'pg-restart-fast' ? 'fast' : 'immediate');
      await sleep(fault.ms);
      await system.startPostgres();
      break;
    case 'server-kill': {
      const name = fault.target as 'a' | 'b';
      await system.killServer(name);
      await sleep(fault.ms);
      await system.startServer(name);
      break;
    }
    case 'proxy-stall':
      await system.proxies[fault.target as (typeof PROXIES)[number]].stall(fault.ms);
      break;
    case 'proxy-cut':
      record.detail = `${system.proxies[fault.target as (typeof PROXIES)[number]].cut()} connections cut`;
      break;
  }
}
