/**
 * The timeline of a reload run: the load report's ack max says how long the
 * worst op waited, not when, in which documents or why. This lines up each
 * op's latency (as seen by an observer member of every document) with the
 * pm2 apps' log lines, the processes starting and exiting and the CPU, around
 * each reload.
 */
import { existsSync, readFileSync } from 'node:fs';
import WebSocket from 'ws';
import type { Pm2Sandbox } from '../test/ops/pm2-harness';
import { TICK_MS, type CpuSample } from './process-sampler';

const clock = (ms: number) => new Date(ms).toISOString().slice(11, 23);

/** The load tester's clock (CLOCK_MONOTONIC µs, as src/loadtest/ops.ts nowUs) in wall ms. */
function nowUs(): number {
  const [s, ns] = process.hrtime();
  return s * 1e6 + ns / 1e3;
}
const monoToWallMs = Date.now() - nowUs() / 1000;

// ---- the observer: one member of every document, reading each op's send time ----

export interface Seen {
  doc: number;
  /** Send time (wall ms) the load tester intended, and receipt (wall ms) here. */
  sentMs: number;
  recvMs: number;
}

export class Observer {
  readonly seen: Seen[] = [];
  readonly notes: Array<{ atMs: number; text: string }> = [];
  private ws: WebSocket | null = null;
  private closing = false;

  constructor(
    private readonly url: string,
    private readonly docs: readonly string[],
  ) {}

  connect(): void {
    if (this.closing) return;
    const ws = new WebSocket(`${this.url}?client=reload-observer`, { perMessageDeflate: false });
    this.ws = ws;
    const index = new Map(this.docs.map((d, i) => [d, i]));
    ws.on('message', (data: Buffer) => {
      const recvUs = nowUs();
      const m = JSON.parse(data.toString('utf8')) as {
        type: string;
        doc?: string;
        ops?: Array<{ op: string; value?: { t?: number }; fields?: { t?: number } }>;
        code?: string;
      };
      if (m.type === 'welcome') {
        for (const doc of this.docs) ws.send(JSON.stringify({ type: 'join', doc, ref: doc }));
        return;
      }
      if (m.type === 'error')
        this.notes.push({ atMs: Date.now(), text: `observer: error ${m.code}` });
      if (m.type !== 'event' || m.doc === undefined) return;
      const op = m.ops?.[0];
      const t = op?.value?.t ?? op?.fields?.t;
      if (typeof t !== 'number') return;
      this.seen.push({
        doc: index.get(m.doc) ?? -1,
        sentMs: t / 1000 + monoToWallMs,
        recvMs: recvUs / 1000 + monoToWallMs,
      });
    });
    ws.on('error', () => undefined);
    ws.on('close', (code) => {
      if (this.closing) return;
      this.notes.push({
        atMs: Date.now(),
        text: `observer: connection closed (${code}); rejoining`,
      });
      setTimeout(() => this.connect(), 100);
    });
  }

  close(): void {
    this.closing = true;
    this.ws?.terminate();
  }
}

// ---- the pm2 apps' log lines (pino JSON) ----

export interface LogLine {
  atMs: number;
  text: string;
}

export function appLogLines(pm2: Pm2Sandbox): LogLine[] {
  const lines: LogLine[] = [];
  for (const app of ['worker', 'gateway']) {
    for (const stream of ['out', 'error'] as const) {
      const file = pm2.logFile(app, stream);
      if (!existsSync(file)) continue;
      for (const raw of readFileSync(file, 'utf8').split('\n')) {
        if (!raw.startsWith('{')) continue;
        try {
          const { time, msg, node, level, ...rest } = JSON.parse(raw) as Record<string, unknown>;
          delete rest.pid;
          delete rest.hostname;
          delete rest.role;
          const extra =
            Object.keys(rest).length > 0 ? ` ${JSON.stringify(rest).slice(0, 160)}` : '';
          const pid = String(node).split('-').pop();
          lines.push({
            atMs: Number(time),
            text: `${app} ${pid} [${String(level)}] ${String(msg)}${extra}`.replace(
              /lt-reload-[a-z0-9]+-d(\d+)/g,
              'd$1',
            ),
          });
        } catch {
          // not a pino line
        }
      }
    }
  }
  return lines;
}

// ---- the printed timeline ----

/** One pm2 reload: when its command started and returned (wall ms). */
export interface ReloadTime {
  app: string;
  beganMs: number;
  endedMs: number;
}

export function printTimeline(
  seen: readonly Seen[],
  cpu: readonly CpuSample[],
  notes: readonly LogLine[],
  reloads: readonly ReloadTime[],
  docs: number,
): void {
  const SLOW_MS = 250;
  for (const r of reloads) {
    const from = r.beganMs - 1000;
    const to = r.endedMs + 3000;
    console.log(
      `\n== timeline of pm2 reload ${r.app} (began ${clock(r.beganMs)}, ended ${clock(r.endedMs)}); ` +
        `times relative to its start; ops binned by send time (observer: ${seen.length} events) ==`,
    );
    console.log(
      '    +ms   ops  max_ms  >250ms  docs>250  recv_max_ms | machine cores | cores by process',
    );
    const bins = new Map<number, Seen[]>();
    for (const s of seen) {
      if (s.sentMs < from || s.sentMs >= to) continue;
      const bin = Math.floor((s.sentMs - r.beganMs) / TICK_MS);
      let list = bins.get(bin);
      if (!list) bins.set(bin, (list = []));
      list.push(s);
    }
    const recvMax = new Map<number, number>();
    for (const s of seen) {
      if (s.recvMs < from || s.recvMs >= to) continue;
      const bin = Math.floor((s.recvMs - r.beganMs) / TICK_MS);
      recvMax.set(bin, Math.max(recvMax.get(bin) ?? 0, s.recvMs - s.sentMs));
    }
    const events = notes
      .filter((n) => n.atMs >= from && n.atMs < to)
      .sort((a, b) => a.atMs - b.atMs);
    let e = 0;
    for (
      let bin = Math.floor((from - r.beganMs) / TICK_MS);
      bin * TICK_MS < to - r.beganMs;
      bin++
    ) {
      const binStart = r.beganMs + bin * TICK_MS;
      while (e < events.length && events[e]!.atMs < binStart + TICK_MS) {
        const ev = events[e++]!;
        console.log(`  ${String(Math.round(ev.atMs - r.beganMs)).padStart(6)}  ** ${ev.text}`);
      }
      const list = bins.get(bin) ?? [];
      const lat = list.map((s) => s.recvMs - s.sentMs);
      const max = lat.length ? Math.max(...lat) : 0;
      const slow = list.filter((s) => s.recvMs - s.sentMs > SLOW_MS);
      const slowDocs = new Set(slow.map((s) => s.doc)).size;
      const sample = cpu.find((c) => c.atMs >= binStart + TICK_MS) ?? null;
      const procs = sample
        ? [...sample.byProcess.entries()]
            .filter(([, v]) => v >= 0.05)
            .sort((a, b) => b[1] - a[1])
            .map(([k, v]) => `${k} ${v.toFixed(2)}`)
            .join(', ')
        : '';
      console.log(
        `  ${String(bin * TICK_MS).padStart(6)} ${String(list.length).padStart(5)} ${max.toFixed(0).padStart(7)} ` +
          `${String(slow.length).padStart(7)} ${String(slowDocs).padStart(9)} ${(recvMax.get(bin) ?? 0).toFixed(0).padStart(12)} | ` +
          `${sample ? sample.machine.toFixed(2) : '-'} | ${procs}`,
      );
    }
    // Per document: the longest gap between its events' receipts in the window, and its max latency.
    console.log(`  per document (window): longest gap between events received, max latency`);
    const rows: string[] = [];
    for (let d = 0; d < docs; d++) {
      const mine = seen.filter((s) => s.doc === d && s.recvMs >= from && s.recvMs < to);
      if (mine.length === 0) continue;
      let gap = 0;
      let gapEnd = 0;
      for (let i = 1; i < mine.length; i++) {
        const g = mine[i]!.recvMs - mine[i - 1]!.recvMs;
        if (g > gap) {
          gap = g;
          gapEnd = mine[i]!.recvMs;
        }
      }
      const worst = mine.reduce((a, b) => (b.recvMs - b.sentMs > a.recvMs - a.sentMs ? b : a));
      rows.push(
        `    d${d}: gap ${gap.toFixed(0)} ms (${(gapEnd - gap - r.beganMs).toFixed(0)}..${(gapEnd - r.beganMs).toFixed(0)}), ` +
          `max ${(worst.recvMs - worst.sentMs).toFixed(0)} ms (sent +${(worst.sentMs - r.beganMs).toFixed(0)})`,
      );
    }
    console.log(rows.join('\n'));
  }
}
