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

/** One sample: series name -> MB. A pm2 instance keeps its name across reloads (its pid changes). */
export type MemorySample = Map<string, number>;

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
    if (rss !== null) sample.set(`${app.name}#${app.pmId} RSS`, rss);
  }
  for (const node of nodes) {
    const used = await redisUsedMb(node);
    if (used !== null) sample.set(`redis :${node.port} used_memory`, used);
  }
  return sample;
}

/** Least-squares slope of (minute, MB) points, in MB per hour; null with fewer than 2 points. */
export function slopePerHour(points: ReadonlyArray<readonly [number, number]>): number | null {
  const n = points.length;
  if (n < 2) return null;
  const meanX = points.reduce((s, [x]) => s + x, 0) / n;
  const meanY = points.reduce((s, [, y]) => s + y, 0) / n;
  let sxy = 0;
  let sxx = 0;
  for (const [x, y] of points) {
    sxy += (x - meanX) * (y - meanY);
    sxx += (x - meanX) ** 2;
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
  points: number;
}

export function summarize(
  samples: ReadonlyArray<{ minute: number; memory: MemorySample }>,
  warmUpMinutes: number,
): SeriesSummary[] {
  const names = [...new Set(samples.flatMap((s) => [...s.memory.keys()]))].sort();
  return names.map((name) => {
    const points = samples
      .filter((s) => s.minute >= warmUpMinutes && s.memory.has(name))
      .map((s) => [s.minute, s.memory.get(name) as number] as const);
    return {
      name,
      startMb: points[0]?.[1] ?? NaN,
      endMb: points.at(-1)?.[1] ?? NaN,
      maxMb: Math.max(...points.map(([, y]) => y)),
      slopeMbPerHour: slopePerHour(points),
      points: points.length,
    };
  });
}
