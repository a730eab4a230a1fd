import { readFileSync } from 'node:fs';
import { encodeHistogram, newHistogram, recordUs } from './latency';
import { Counter, type HistogramsEncoded } from './thread-protocol';

/**
 * What one generator thread measures. Counters go to the shared array that
 * the coordinator reads for its progress line; latencies go to histograms,
 * counted only for ops whose intended send time falls in the measured window
 * (the ramp-up and the drain are not measured).
 */
export class ThreadMetrics {
  readonly counters: Float64Array;
  readonly errors: Record<string, number> = {};
  private readonly ack = newHistogram();
  private readonly fanout = newHistogram();
  private readonly sendLag = newHistogram();
  /** Acks of the last second, for the progress line. */
  private interval = newHistogram();
  private windowFrom = Infinity;
  private windowTo = -Infinity;

  constructor(counters: SharedArrayBuffer) {
    this.counters = new Float64Array(counters);
  }

  setWindow(fromUs: number, toUs: number): void {
    this.windowFrom = fromUs;
    this.windowTo = toUs;
  }

  inWindow(us: number): boolean {
    return us >= this.windowFrom && us < this.windowTo;
  }

  add(slot: number, n = 1): void {
    this.counters[slot] = (this.counters[slot] as number) + n;
  }

  created(intendedUs: number): void {
    this.add(Counter.created);
    if (this.inWindow(intendedUs)) this.add(Counter.windowCreated);
    const pending = (this.counters[Counter.pending] as number) + 1;
    this.counters[Counter.pending] = pending;
    if (pending > (this.counters[Counter.maxPending] as number))
      this.counters[Counter.maxPending] = pending;
  }

  /**
   * An op message written to its socket. `onSchedule` when written the moment
   * it was created: only those measure the generator's own lag (the others
   * waited for a join).
   */
  sent(intendedUs: number, nowUs: number, resend: boolean, onSchedule = false): void {
    this.add(Counter.sent);
    if (resend) this.add(Counter.resent);
    if (onSchedule && this.inWindow(intendedUs)) recordUs(this.sendLag, nowUs - intendedUs);
  }

  /** The first answer to an op message (ack, duplicate ack or an error). */
  answered(): void {
    this.add(Counter.pending, -1);
  }

  acked(intendedUs: number, nowUs: number): void {
    this.add(Counter.acked);
    if (this.inWindow(nowUs)) this.add(Counter.windowAcked);
    if (this.inWindow(intendedUs)) recordUs(this.ack, nowUs - intendedUs);
    recordUs(this.interval, nowUs - intendedUs);
  }

  delivered(sentUs: number | undefined, nowUs: number): void {
    this.add(Counter.delivered);
    if (this.inWindow(nowUs)) this.add(Counter.windowDelivered);
    if (sentUs !== undefined && this.inWindow(sentUs)) recordUs(this.fanout, nowUs - sentUs);
  }

  error(code: string): void {
    this.add(Counter.errors);
    this.errors[code] = (this.errors[code] ?? 0) + 1;
  }

  /** p50 and p99 of the acks since the last call, in µs (0 when none). */
  takeInterval(): { p50: number; p99: number } {
    const h = this.interval;
    const result =
      h.totalCount === 0
        ? { p50: 0, p99: 0 }
        : { p50: h.getValueAtPercentile(50), p99: h.getValueAtPercentile(99) };
    h.reset();
    return result;
  }

  encode(): HistogramsEncoded {
    const result = {
      ack: encodeHistogram(this.ack),
      fanout: encodeHistogram(this.fanout),
      sendLag: encodeHistogram(this.sendLag),
    };
    this.interval = newHistogram();
    return result;
  }
}

/** Linux reports thread CPU in clock ticks of USER_HZ, which is 100 on every common build. */
const USER_HZ = 100;

/**
 * CPU seconds of the calling thread, from /proc/thread-self/stat (readFileSync
 * runs on the calling thread, so in a worker thread this is that thread);
 * null where there is no such file.
 */
export function threadCpuSeconds(): { user: number; system: number } | null {
  try {
    const stat = readFileSync('/proc/thread-self/stat', 'utf8');
    // After "tid (comm) ": state ppid pgrp session tty tpgid flags minflt cminflt majflt cmajflt utime stime
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return { user: Number(fields[11]) / USER_HZ, system: Number(fields[12]) / USER_HZ };
  } catch {
    return null;
  }
}
