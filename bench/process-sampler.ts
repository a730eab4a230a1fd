/**
 * CPU of the machine and of each process of a reload run, by role, every
 * 100 ms, and when gateway and worker processes appear and exit: on a small
 * machine a stall in the ops may be a busy CPU rather than a process change,
 * and this tells the two apart. Reads /proc (Linux).
 */
import { readdirSync, readFileSync } from 'node:fs';
import os from 'node:os';

/** The sampling period, in ms; the timeline bins ops by it too. */
export const TICK_MS = 100;
const HZ = 100; // USER_HZ of /proc/<pid>/stat

export interface CpuSample {
  atMs: number;
  /** Cores busy over the last tick, whole machine. */
  machine: number;
  /** Cores busy over the last tick, per role label (e.g. "worker 1234"). */
  byProcess: Map<string, number>;
}

export class CpuSampler {
  readonly samples: CpuSample[] = [];
  readonly notes: Array<{ atMs: number; text: string }> = [];
  private timer: NodeJS.Timeout | undefined;
  private lastMachine: { busy: number; total: number } | null = null;
  private lastTicks = new Map<number, number>();
  private labels = new Map<number, string | null>();

  /** `redisPorts`: the cluster of this run (other Redis servers on the machine are not counted). */
  constructor(private readonly redisPorts: readonly number[]) {}

  start(): void {
    this.sample();
    this.timer = setInterval(() => this.sample(), TICK_MS);
  }

  stop(): void {
    clearInterval(this.timer);
  }

  private label(pid: number): string | null {
    const known = this.labels.get(pid);
    // Final labels stay. A process pm2 has just forked shows the daemon's
    // command line until its exec: 'pm2' is read again at every tick, other
    // processes at every tenth.
    if (known !== undefined && known !== null && known !== 'pm2') return known;
    if (known === null && this.samples.length % 10 !== 0) return null;
    let label: string | null = null;
    try {
      const args = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean);
      const text = args.join(' ');
      if (text.includes('cli-from-source.js') || text.includes('dist/cli.js')) {
        // pm2 starts `node dist/cli.js` with the app's name in the environment.
        const environ = readFileSync(`/proc/${pid}/environ`, 'utf8').split('\0');
        const name = environ.find((v) => v.startsWith('name='))?.slice(5) ?? 'flow';
        label = `${name} ${pid}`;
      } else if (text.includes('loadtest/cli.js')) label = 'loadtest';
      else if (text.includes('redis-server') && this.redisPorts.some((p) => text.includes(`:${p}`)))
        label = 'redis';
      else if (text.includes('PM2') || text.includes('God Daemon')) label = 'pm2';
    } catch {
      label = null;
    }
    this.labels.set(pid, label);
    if (label !== known && label && /^(worker|gateway) /.test(label) && this.samples.length > 0)
      this.notes.push({ atMs: Date.now(), text: `process ${label} appeared` });
    return label;
  }

  private sample(): void {
    const atMs = Date.now();
    const stat = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).slice(1);
    const nums = stat.map(Number);
    const total = nums.reduce((a, b) => a + b, 0);
    const idle = (nums[3] ?? 0) + (nums[4] ?? 0);
    const machineNow = { busy: total - idle, total };
    const cores = os.cpus().length;
    const machine = this.lastMachine
      ? ((machineNow.busy - this.lastMachine.busy) /
          Math.max(1, machineNow.total - this.lastMachine.total)) *
        cores
      : 0;
    this.lastMachine = machineNow;
    const byProcess = new Map<string, number>();
    const alive = new Set<number>();
    for (const entry of readdirSync('/proc')) {
      if (!/^\d+$/.test(entry)) continue;
      const pid = Number(entry);
      const label = this.label(pid);
      if (!label) continue;
      let ticks: number;
      try {
        const text = readFileSync(`/proc/${pid}/stat`, 'utf8');
        const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
        ticks = Number(fields[11]) + Number(fields[12]); // utime + stime
      } catch {
        continue;
      }
      alive.add(pid);
      const last = this.lastTicks.get(pid);
      this.lastTicks.set(pid, ticks);
      if (last === undefined) continue;
      byProcess.set(label, (byProcess.get(label) ?? 0) + (ticks - last) / HZ / (TICK_MS / 1000));
    }
    for (const pid of [...this.lastTicks.keys()]) {
      if (alive.has(pid)) continue;
      this.lastTicks.delete(pid);
      const label = this.labels.get(pid);
      if (label && /^(worker|gateway) /.test(label))
        this.notes.push({ atMs, text: `process ${label} exited` });
    }
    this.samples.push({ atMs, machine, byProcess });
  }
}
