import { readdirSync, readFileSync } from 'node:fs';

const CLOCK_TICKS = 100; // USER_HZ on Linux

/** The fields of /proc/PID/stat after the command name (ppid is [1], utime [11], stime [12]); null once it is gone. */
export function procStat(pid: number | string): string[] | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  } catch {
    return null;
  }
}

/** utime + stime in ms (with `children`, also the reaped children's cutime + cstime); NaN for a process gone. */
export const cpuMsOfStat = (fields: string[] | null, children = false): number =>
  fields ? ((Number(fields[11]) + Number(fields[12]) + (children ? Number(fields[13]) + Number(fields[14]) : 0)) * 1_000) / CLOCK_TICKS : NaN;
export const cpuMsOf = (pid: number, children = false) => cpuMsOfStat(procStat(pid), children);

/**
 * CPU ms used so far by a Postgres server: its postmaster (with the children it has reaped) and every live child
 * (backends, WAL writer, checkpointer, autovacuum). `backendPid` is any backend's pid (`SELECT pg_backend_pid()`):
 * its parent is the postmaster.
 */
export function postgresCpuMeter(backendPid: number): () => number {
  const postmaster = Number(procStat(backendPid)?.[1]);
  return () => {
    let total = cpuMsOf(postmaster, true);
    for (const entry of readdirSync('/proc')) {
      if (!/^\d+$/.test(entry)) continue;
      // A child that exited meanwhile (null) is in the postmaster's reaped children's time.
      const fields = procStat(entry);
      if (fields && Number(fields[1]) === postmaster) total += cpuMsOfStat(fields);
    }
    return total;
  };
}
