/**
 * What bench/memory.ts (the coordinator) and bench/memory-worker.ts (a load
 * generator thread) share: the worker's input, the messages between them, the
 * layout of the shared counters and the op message the clients send.
 */
import type { OpMessage } from '../src/protocol';

/** Slots of the per-thread Int32Array counters (written by the worker only). */
export const Counter = {
  /** acks received, all phases */
  acks: 0,
  /** events received, all phases */
  events: 1,
  /** op messages sent */
  sent: 2,
  /** anomalies seen so far */
  anomalies: 3,
} as const;
export const COUNTER_SLOTS = 4;

/** Slot 0 of the shared phase array: which phase the run is in. */
export const Phase = { warmup: 0, measuring: 1, after: 2 } as const;

export interface BenchClient {
  id: string;
  doc: string;
}

export interface WorkerInput {
  thread: number;
  url: string;
  clients: BenchClient[];
  window: number;
  /** Cork each socket while the acks of one read are answered (one writev, not one per op). */
  cork: boolean;
  /** Int32Array(COUNTER_SLOTS) of this thread. */
  counters: SharedArrayBuffer;
  /** Int32Array(1), written by the coordinator. */
  phase: SharedArrayBuffer;
}

export type ToWorker =
  | { type: 'go' }
  | { type: 'stop' }
  /** The server's seq of every document once nothing is in flight. */
  | { type: 'final'; seqs: Record<string, number> };

export interface AnomalyReport {
  /** kind -> count */
  counts: Record<string, number>;
  /** the first few, in words */
  examples: string[];
}

export interface WorkerResult {
  thread: number;
  anomalies: AnomalyReport;
  /** Ack latencies in milliseconds of the acks received while measuring. */
  latencies: Float64Array;
  /** Last seq each client saw, by client id. */
  lastSeq: Record<string, number>;
}

export type FromWorker =
  | { type: 'ready'; thread: number; connectMs: number }
  | { type: 'drained'; thread: number; undrained: number }
  | { type: 'result'; result: WorkerResult }
  | { type: 'failed'; thread: number; error: string };

/** The op message of the brief: one `set` of entity n<cseq> in collection `nodes`. */
export function opMessage(doc: string, cseq: number): OpMessage {
  return {
    type: 'op',
    doc,
    cseq,
    ops: [{ op: 'set', coll: 'nodes', id: `n${cseq}`, value: { x: cseq } }],
  };
}

/**
 * The same message as text without JSON.stringify: the generator sends
 * hundreds of thousands of these per second. `checkEncoder` holds it to
 * `opMessage`. Document ids never need escaping (PROTOCOL.md section 2).
 */
export function encodeOp(docJson: string, cseq: number): string {
  return `{"type":"op","doc":${docJson},"cseq":${cseq},"ops":[{"op":"set","coll":"nodes","id":"n${cseq}","value":{"x":${cseq}}}]}`;
}

export function checkEncoder(doc: string): void {
  for (const cseq of [1, 42, 9007199254740991]) {
    const fast = encodeOp(JSON.stringify(doc), cseq);
    const slow = JSON.stringify(opMessage(doc, cseq));
    if (fast !== slow)
      throw new Error(`op encoder drifted from the protocol type:\n${fast}\n${slow}`);
  }
}
