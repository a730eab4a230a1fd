/**
 * What the coordinator (runner.ts) and a generator thread (generator-thread.ts)
 * say to each other. Counters that the progress line reads every second live
 * in a SharedArrayBuffer instead (one writer each: the thread).
 */
import type { ClientDocHistory } from './history';
import type { ClientSpec } from './plan';

/** Slots of a thread's Float64Array counters. */
export const Counter = {
  /** op messages created by the schedule (the offered load) */
  created: 0,
  /** op messages written to a socket, resends included */
  sent: 1,
  /** op messages answered by an ack (first answer only) */
  acked: 2,
  /** events received */
  delivered: 3,
  /** error messages received */
  errors: 4,
  /** successful reconnects after a drop */
  reconnects: 5,
  /** connections lost (not closed by the load tester) */
  disconnects: 6,
  presenceSent: 7,
  presenceReceived: 8,
  /** op messages sent again after a reconnect or re-join */
  resent: 9,
  /** acks with dup:true */
  dupAcks: 10,
  /** op messages created and not answered yet (in flight or waiting for a join) */
  pending: 11,
  /** the largest `pending` seen */
  maxPending: 12,
  /** same as created/acked/delivered, counted only inside the measured window */
  windowCreated: 13,
  windowAcked: 14,
  windowDelivered: 15,
  /** memberships joined at least once */
  joined: 16,
  /** acks with dup:true for op messages this client sent only once */
  dupAcksUnprompted: 17,
} as const;
export const COUNTER_SLOTS = 18;

export interface GeneratorInput {
  thread: number;
  urls: string[];
  clients: ClientSpec[];
  opSize: number;
  /** Float64Array(COUNTER_SLOTS) of this thread. */
  counters: SharedArrayBuffer;
}

/** When to send, on the nowUs() clock; rates are this thread's share. */
export interface Schedule {
  t0Us: number;
  rampUpS: number;
  durationS: number;
  rate: number;
  presenceRate: number;
}

export type ToThread =
  | { type: 'go'; schedule: Schedule }
  | { type: 'drain'; timeoutMs: number }
  /** The server's epoch and seq of each document (null: no session), once nothing is in flight. */
  | {
      type: 'final';
      server: Record<string, { epoch: string; seq: number } | null>;
      timeoutMs: number;
    };

export interface HistogramsEncoded {
  /** send -> ack, µs */
  ack: string;
  /** send -> event at each other client, µs */
  fanout: string;
  /** intended send time -> actual send, µs: the generator's own lag */
  sendLag: string;
}

export interface ThreadResult {
  thread: number;
  histograms: HistogramsEncoded;
  histories: ClientDocHistory[];
  errors: Record<string, number>;
  /** CPU seconds of this thread over the measured window; null where /proc is missing. */
  cpu: { user: number; system: number } | null;
  /** Event loop utilization over the measured window, 0-1. */
  elu: number;
  /** Memberships whose replica never reached the server's seq in the final phase. */
  behind: number;
}

export type FromThread =
  | { type: 'ready'; thread: number; setupMs: number; memberships: number }
  | { type: 'tick'; thread: number; ackP50Us: number; ackP99Us: number; elu: number }
  | { type: 'drained'; thread: number; pending: number }
  | { type: 'result'; result: ThreadResult }
  | { type: 'failed'; thread: number; error: string };
