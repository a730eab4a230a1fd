import { performance, type EventLoopUtilization } from 'node:perf_hooks';
import { historyBuffers } from './history';
import { CorkBatch, LoadClient } from './load-client';
import type { Membership } from './membership';
import { nowUs } from './ops';
import { dueAt, dueBy } from './schedule';
import { ThreadMetrics, threadCpuSeconds } from './thread-metrics';
import {
  Counter,
  type FromThread,
  type GeneratorInput,
  type Schedule,
  type ThreadResult,
  type ToThread,
} from './thread-protocol';

const SETUP_TIMEOUT_MS = 120_000;
const POLL_MS = 20;

type Emit = (message: FromThread, transfer?: ArrayBuffer[]) => void;

/**
 * One generator thread's work: its clients, the open-loop schedule of their
 * op and presence messages, and the phases the coordinator drives (go,
 * drain, final). Runs inside a worker thread (generator-thread.ts).
 */
export class LoadGenerator {
  private readonly metrics: ThreadMetrics;
  private readonly clients: LoadClient[];
  /** Round-robin order of the sends: one document of every client, then the next. */
  private readonly order: Membership[] = [];
  private schedule: Schedule | undefined;
  private opsCreated = 0;
  private presenceDue = 0;
  private nextOp = 0;
  private nextPresence = 0;
  private tickTimer: NodeJS.Timeout | undefined;
  private intervalTimer: NodeJS.Timeout | undefined;
  private windowStart: {
    cpu: ReturnType<typeof threadCpuSeconds>;
    elu: EventLoopUtilization;
  } | null = null;
  private windowResult: { cpu: ThreadResult['cpu']; elu: number } | null = null;
  private lastTickElu = performance.eventLoopUtilization();

  constructor(
    private readonly input: GeneratorInput,
    private readonly emit: Emit,
  ) {
    this.metrics = new ThreadMetrics(input.counters);
    const corks = new CorkBatch();
    this.clients = input.clients.map(
      (spec) => new LoadClient(spec, input.urls, this.metrics, input.opSize, corks),
    );
    const widest = Math.max(0, ...input.clients.map((c) => c.docs.length));
    for (let j = 0; j < widest; j++) {
      for (const client of this.clients) {
        const doc = client.spec.docs[j];
        if (doc !== undefined) this.order.push(client.memberships.get(doc) as Membership);
      }
    }
  }

  handle(message: ToThread): void {
    switch (message.type) {
      case 'go':
        this.go(message.schedule);
        return;
      case 'drain':
        this.drain(message.timeoutMs);
        return;
      case 'final':
        void this.final(message.server, message.timeoutMs).catch((err: unknown) => this.fail(err));
        return;
    }
  }

  /** Connects every client; reports `ready` once every membership has joined. */
  start(): void {
    const started = performance.now();
    for (const client of this.clients) client.connect();
    const check = () => {
      const joined = this.metrics.counters[Counter.joined] as number;
      if (joined >= this.order.length) {
        this.emit({
          type: 'ready',
          thread: this.input.thread,
          setupMs: performance.now() - started,
          memberships: this.order.length,
        });
      } else if (performance.now() - started > SETUP_TIMEOUT_MS) {
        this.fail(
          new Error(
            `only ${joined} of ${this.order.length} document joins answered within ${SETUP_TIMEOUT_MS / 1000} s`,
          ),
        );
      } else setTimeout(check, POLL_MS);
    };
    check();
  }

  private go(schedule: Schedule): void {
    this.schedule = schedule;
    const from = schedule.t0Us + schedule.rampUpS * 1e6;
    const to = from + schedule.durationS * 1e6;
    this.metrics.setWindow(from, to);
    const at = (us: number, fn: () => void) =>
      setTimeout(fn, Math.max(0, (us - nowUs()) / 1000)).unref();
    at(from, () => {
      this.windowStart = { cpu: threadCpuSeconds(), elu: performance.eventLoopUtilization() };
    });
    at(to, () => this.closeWindow());
    this.intervalTimer = setInterval(() => this.progressTick(), 1000);
    this.tick();
  }

  private closeWindow(): void {
    const start = this.windowStart;
    if (!start || this.windowResult) return;
    const cpu = threadCpuSeconds();
    this.windowResult = {
      cpu:
        cpu && start.cpu
          ? { user: cpu.user - start.cpu.user, system: cpu.system - start.cpu.system }
          : null,
      elu: performance.eventLoopUtilization(start.elu).utilization,
    };
  }

  private progressTick(): void {
    const { p50, p99 } = this.metrics.takeInterval();
    const elu = performance.eventLoopUtilization(this.lastTickElu);
    this.lastTickElu = performance.eventLoopUtilization();
    this.emit({
      type: 'tick',
      thread: this.input.thread,
      ackP50Us: p50,
      ackP99Us: p99,
      elu: elu.utilization,
    });
  }

  /** Creates every op and presence message due by now, then runs again in about 1 ms. */
  private tick = (): void => {
    const s = this.schedule;
    if (!s || this.order.length === 0) return;
    const total = s.rampUpS + s.durationS;
    const elapsed = Math.min((nowUs() - s.t0Us) / 1e6, total);
    const dueOps = Math.floor(dueBy(s.rate, s.rampUpS, elapsed));
    while (this.opsCreated < dueOps) {
      const intended = s.t0Us + dueAt(s.rate, s.rampUpS, this.opsCreated + 1) * 1e6;
      this.opsCreated++;
      const m = this.order[this.nextOp++ % this.order.length] as Membership;
      m.createOp(intended);
    }
    const duePresence = Math.floor(dueBy(s.presenceRate, s.rampUpS, elapsed));
    while (this.presenceDue < duePresence) {
      this.presenceDue++;
      const m = this.order[this.nextPresence++ % this.order.length] as Membership;
      if (m.sendPresence()) this.metrics.add(Counter.presenceSent);
    }
    if (elapsed >= total) {
      this.closeWindow();
      return;
    }
    this.tickTimer = setTimeout(this.tick, 1);
  };

  private pending(): number {
    let n = 0;
    for (const m of this.order) n += m.pendingCount;
    return n;
  }

  /** Reports `drained` once no op message waits for an answer, or after `timeoutMs`. */
  private drain(timeoutMs: number): void {
    clearTimeout(this.tickTimer);
    const deadline = performance.now() + timeoutMs;
    const check = () => {
      const pending = this.pending();
      if (pending === 0 || performance.now() > deadline)
        this.emit({ type: 'drained', thread: this.input.thread, pending });
      else setTimeout(check, POLL_MS);
    };
    check();
  }

  /** Waits for every replica to reach the server's seq, closes, and reports the result. */
  private async final(
    server: Record<string, { epoch: string; seq: number } | null>,
    timeoutMs: number,
  ): Promise<void> {
    clearInterval(this.intervalTimer);
    const deadline = performance.now() + timeoutMs;
    const behind = () =>
      this.order.filter((m) => {
        const target = server[m.doc];
        return target !== undefined && target !== null && (!m.live || m.currentSeq < target.seq);
      });
    while (behind().length > 0 && performance.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, POLL_MS));
    }
    const late = behind().length;
    await Promise.all(this.clients.map((c) => c.close()));
    const histories = this.order.map((m) => m.toHistory());
    this.closeWindow();
    this.emit(
      {
        type: 'result',
        result: {
          thread: this.input.thread,
          histograms: this.metrics.encode(),
          histories,
          errors: this.metrics.errors,
          cpu: this.windowResult?.cpu ?? null,
          elu: this.windowResult?.elu ?? 0,
          behind: late,
        },
      },
      historyBuffers(histories),
    );
  }

  private fail(err: unknown): void {
    this.emit({
      type: 'failed',
      thread: this.input.thread,
      error: err instanceof Error ? (err.stack ?? err.message) : String(err),
    });
  }
}
