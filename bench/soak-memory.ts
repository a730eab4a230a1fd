/**
 * What the soak run samples every minute: the resident memory of every Flow
 * process under its pm2 name, and `used_memory` of every Redis node; and the
 * least-squares slope of each series, the figure that tells a leak.
 */
import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { promisify } from 'node:util';
import type { RedisEndpoint } from '../test/support/redis-types';

const run = promisify(execFile);
const MB = 1024 * 1024;

/**
 * One sample: series name -> MB and the process it was read from. A pm2
 * instance keeps its name across reloads; its pid (the segment) changes.
 */
export type MemorySample = Map<string, { mb: number; segment: number }>;

export interface Pm2App {
  name: string;
  pmId: number;
  pid: number;
}

/** Resident set size of a process, MB; null when it is gone. */
export async function residentMb(pid: number): Promise<number | null> {
  try {
    const status = await readFile(`/proc/${pid}/status`, 'utf8');
    const kb = /^VmRSS:\s+(\d+) kB/m.exec(status)?.[1];
    return kb === undefined ? null : (Number(kb) * 1024) / MB;
  } catch {
    return null;
  }
}

export async function redisUsedMb(node: RedisEndpoint): Promise<number | null> {
  try {
    const { stdout } = await run('redis-cli', [
      '-h',
      node.host,
      '-p',
      String(node.port),
      'info',
      'memory',
    ]);
    const bytes = /^used_memory:(\d+)/m.exec(stdout)?.[1];
    return bytes === undefined ? null : Number(bytes) / MB;
  } catch {
    return null;
  }
}

export async function sampleMemory(
  apps: readonly Pm2App[],
  nodes: readonly RedisEndpoint[],
): Promise<MemorySample> {
  const sample: MemorySample = new Map();
  for (const app of apps) {
    const rss = await residentMb(app.pid);
    if (rss !== null) sample.set(`${app.name}#${app.pmId} RSS`, { mb: rss, segment: app.pid });
  }
  for (const node of nodes) {
    const used = await redisUsedMb(node);
    if (used !== null) sample.set(`redis:${node.port} used_memory`, { mb: used, segment: 0 });
  }
  return sample;
}

/**
 * Least-squares slope of (minute, MB) points, in MB per hour, one slope for
 * all segments with a level of their own each (a reload starts a process
 * again lower): the growth within each process's life, not the drop at its
 * restart. Null when no segment has two points.
 */
export function slopePerHour(
  segments: ReadonlyArray<ReadonlyArray<readonly [number, number]>>,
): number | null {
  let sxy = 0;
  let sxx = 0;
  for (const points of segments) {
    const n = points.length;
    if (n < 2) continue;
    const meanX = points.reduce((s, [x]) => s + x, 0) / n;
    const meanY = points.reduce((s, [, y]) => s + y, 0) / n;
    for (const [x, y] of points) {
      sxy += (x - meanX) * (y - meanY);
      sxx += (x - meanX) ** 2;
    }
  }
  return sxx === 0 ? null : (sxy / sxx) * 60;
}

/** Per series: first and last value after the warm-up, and the slope over those minutes. */
export interface SeriesSummary {
  name: string;
  startMb: number;
  endMb: number;
  maxMb: number;
  slopeMbPerHour: number | null;
  /** Points in the slope. */
  points: number;
  /** Processes (pids) the series went through: 1 + the reloads it saw. */
  processes: number;
}

export function summarize(
  samples: ReadonlyArray<{ minute: number; memory: MemorySample }>,
  warmUpMinutes: number,
): SeriesSummary[] {
  const names = [...new Set(samples.flatMap((s) => [...s.memory.keys()]))].sort();
  return names.map((name) => {
    const all = samples.flatMap((s) => {
      const value = s.memory.get(name);
      return value ? [{ minute: s.minute, ...value }] : [];
    });
    const first = all[0]?.segment;
    const segments = new Map<number, Array<readonly [number, number]>>();
    for (const { minute, mb, segment } of all) {
      let points = segments.get(segment);
      // A process restarted by a reload has its first minute as its warm-up: its first sample is skipped.
      if (!points) {
        segments.set(segment, (points = []));
        if (segment !== first) continue;
      }
      if (minute >= warmUpMinutes) points.push([minute, mb]);
    }
    const kept = [...segments.values()];
    const after = all.filter((p) => p.minute >= warmUpMinutes);
    return {
      name,
      startMb: after[0]?.mb ?? NaN,
      endMb: after.at(-1)?.mb ?? NaN,
      maxMb: Math.max(...after.map((p) => p.mb)),
      slopeMbPerHour: slopePerHour(kept),
      points: kept.reduce((n, p) => n + p.length, 0),
      processes: segments.size,
    };
  });
}
