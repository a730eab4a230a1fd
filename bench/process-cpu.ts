/** CPU time of processes the benchmark started, from /proc/<pid>/stat (Linux). */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';

let ticksPerSecond: number | undefined;

function clockTicks(): number {
  if (ticksPerSecond === undefined) {
    try {
      ticksPerSecond = Number(execFileSync('getconf', ['CLK_TCK']).toString().trim()) || 100;
    } catch {
      ticksPerSecond = 100;
    }
  }
  return ticksPerSecond;
}

/** User + system CPU ms of one process so far, or null when it is gone. */
export function processCpuMs(pid: number): number | null {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command name (which may contain spaces) start at field 3.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const utime = Number(fields[11]);
    const stime = Number(fields[12]);
    return ((utime + stime) * 1000) / clockTicks();
  } catch {
    return null;
  }
}

/** CPU ms per named process group, between two samples. */
export type CpuSample = Record<string, number>;

export function sampleCpu(groups: Record<string, readonly number[]>): CpuSample {
  const out: CpuSample = {};
  for (const [name, pids] of Object.entries(groups)) {
    out[name] = pids.reduce((sum, pid) => sum + (processCpuMs(pid) ?? 0), 0);
  }
  return out;
}

export function cpuBetween(start: CpuSample, end: CpuSample): CpuSample {
  const out: CpuSample = {};
  for (const name of Object.keys(end)) out[name] = (end[name] ?? 0) - (start[name] ?? 0);
  return out;
}
