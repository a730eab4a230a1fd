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

/** Jiffies of all cores since boot: busy (not idle, not waiting for I/O) and in all. */
export interface MachineCpu {
  busy: number;
  total: number;
}

/** The machine's CPU counters from /proc/stat, or null where there is none. */
export function sampleMachineCpu(): MachineCpu | null {
  try {
    const line = fs.readFileSync('/proc/stat', 'utf8').split('\n')[0] ?? '';
    // cpu  user nice system idle iowait irq softirq steal guest guest_nice
    const [, ...fields] = line.trim().split(/\s+/);
    const values = fields.slice(0, 8).map(Number);
    if (values.length < 5 || values.some((v) => !Number.isFinite(v))) return null;
    const total = values.reduce((a, b) => a + b, 0);
    return { busy: total - (values[3] ?? 0) - (values[4] ?? 0), total };
  } catch {
    return null;
  }
}

/**
 * The share of the machine's CPU (all cores) that was busy between two
 * samples, 0 to 1: everything running on the machine, the load generator
 * and other work included. Near 1, the figures measure a machine without
 * CPU to spare, and latencies include the wait for it.
 */
export function machineBusyBetween(
  start: MachineCpu | null,
  end: MachineCpu | null,
): number | undefined {
  if (!start || !end || end.total <= start.total) return undefined;
  return (end.busy - start.busy) / (end.total - start.total);
}
