/**
 * One load generator thread of bench/memory.ts: its share of the clients, each
 * joined to one document, each keeping `window` op messages in flight. Checks
 * on the way that every client sees its document's seq grow by exactly 1 from
 * one ack or event to the next.
 */
import { Socket } from 'node:net';
import { parentPort, workerData } from 'node:worker_threads';
import WebSocket from 'ws';
import type { JoinMessage, ServerMessage } from '../src/protocol';
import {
  Counter,
  Phase,
  encodeOp,
  type AnomalyReport,
  type FromWorker,
  type ToWorker,
  type WorkerInput,
} from './memory-shared';

const CONNECT_TIMEOUT_MS = 30_000;
const DRAIN_TIMEOUT_MS = 10_000;
const FINAL_TIMEOUT_MS = 5_000;
const CLOSE_TIMEOUT_MS = 2_000;
const MAX_EXAMPLES = 10;

const input = workerData as WorkerInput;
const port = parentPort;
if (!port) throw new Error('bench/memory-worker.ts runs as a worker thread of bench/memory.ts');

const counters = new Int32Array(input.counters);
const phase = new Int32Array(input.phase);
const W = input.window;

/** Single writer: plain writes; the coordinator reads with Atomics.load. */
function bump(slot: number): void {
  counters[slot] = (counters[slot] as number) + 1;
}

// ---- anomalies --------------------------------------------------------------

const anomalies: AnomalyReport = { counts: {}, examples: [] };
function anomaly(kind: string, detail: string): void {
  anomalies.counts[kind] = (anomalies.counts[kind] ?? 0) + 1;
  bump(Counter.anomalies);
  if (anomalies.examples.length < MAX_EXAMPLES) anomalies.examples.push(`${kind}: ${detail}`);
}

// ---- latency samples (ms), only while measuring -------------------------------

let samples = new Float64Array(1 << 16);
let sampleCount = 0;
function record(ms: number): void {
  if (sampleCount === samples.length) {
    const bigger = new Float64Array(samples.length * 2);
    bigger.set(samples);
    samples = bigger;
  }
  samples[sampleCount++] = ms;
}

// ---- clients ----------------------------------------------------------------

interface Client {
  id: string;
  doc: string;
  docJson: string;
  /** Byte prefixes of the two hot messages of this client's document. */
  eventPrefix: Buffer;
  ackPrefix: Buffer;
  ws: WebSocket;
  joined: boolean;
  /** Last seq seen in joined, ack or event; -1 before joined. */
  lastSeq: number;
  nextCseq: number;
  ackedCseq: number;
  /** cseqs answered with an error instead of an ack, above ackedCseq. */
  failed: Set<number>;
  inflight: number;
  sending: boolean;
  closing: boolean;
  /** Its socket is corked until the next tick. */
  corked: boolean;
  /** Send time of cseq k at k % W: at most W are in flight. */
  sendAt: Float64Array;
}

const clients: Client[] = [];
const prefixes = new Map<string, { event: Buffer; ack: Buffer }>();
let stopped = false;

function prefixesOf(docJson: string): { event: Buffer; ack: Buffer } {
  let found = prefixes.get(docJson);
  if (!found) {
    // The field order of the server's encode(): {type, doc, seq, ...} and {type, doc, cseq, seq}.
    found = {
      event: Buffer.from(`{"type":"event","doc":${docJson},"seq":`),
      ack: Buffer.from(`{"type":"ack","doc":${docJson},"cseq":`),
    };
    prefixes.set(docJson, found);
  }
  return found;
}

function startsWith(buf: Buffer, prefix: Buffer): boolean {
  const n = prefix.length;
  if (buf.length <= n) return false;
  for (let i = 0; i < n; i++) if (buf[i] !== prefix[i]) return false;
  return true;
}

/** Reads a non-negative decimal integer at `pos`; sets `intEnd` to the byte after it, -1 when none. */
let intEnd = -1;
function readInt(buf: Buffer, pos: number): number {
  let value = 0;
  let i = pos;
  for (; i < buf.length && i - pos < 16; i++) {
    const b = buf[i] as number;
    if (b < 48 || b > 57) break;
    value = value * 10 + (b - 48);
  }
  intEnd = i === pos ? -1 : i;
  return value;
}

const SEQ_AFTER_CSEQ = Buffer.from(',"seq":');

/**
 * ws has no cork API: its net.Socket is the private `_socket`. Corking it until
 * the current batch of frames has been handled turns the op messages sent in
 * answer to the acks of one read into one writev instead of one each. Without
 * `_socket` (a future ws), sends are simply not corked.
 */
function socketOf(ws: WebSocket): Socket | undefined {
  const socket = (ws as unknown as { _socket?: unknown })._socket;
  return socket instanceof Socket ? socket : undefined;
}

const corked: Client[] = [];
function uncorkAll(): void {
  for (const c of corked) {
    c.corked = false;
    socketOf(c.ws)?.uncork();
  }
  corked.length = 0;
}

function sendNext(c: Client): void {
  const cseq = c.nextCseq++;
  c.sendAt[cseq % W] = performance.now();
  c.inflight++;
  bump(Counter.sent);
  if (input.cork && !c.corked) {
    const socket = socketOf(c.ws);
    if (socket) {
      socket.cork();
      c.corked = true;
      if (corked.push(c) === 1) process.nextTick(uncorkAll);
    }
  }
  c.ws.send(encodeOp(c.docJson, cseq));
}

function checkSeq(c: Client, seq: number, what: string): void {
  if (seq !== c.lastSeq + 1) {
    const kind = c.lastSeq < 0 ? 'before-joined' : seq <= c.lastSeq ? 'seq-repeat' : 'seq-gap';
    anomaly(kind, `${c.id} on ${c.doc}: ${what} seq ${seq} after ${c.lastSeq}`);
  }
  if (seq > c.lastSeq) c.lastSeq = seq;
}

function onAck(c: Client, cseq: number, seq: number): void {
  bump(Counter.acks);
  let expected = c.ackedCseq + 1;
  // Op messages answered with an error are not acked: skip them.
  while (c.failed.size > 0 && c.failed.delete(expected)) expected++;
  if (cseq !== expected) {
    anomaly('ack-order', `${c.id} on ${c.doc}: ack of cseq ${cseq} after ${c.ackedCseq}`);
  }
  if (cseq > c.ackedCseq) c.ackedCseq = cseq;
  checkSeq(c, seq, 'ack');
  if (phase[0] === Phase.measuring) record(performance.now() - (c.sendAt[cseq % W] as number));
  c.inflight--;
  if (c.sending) sendNext(c);
  else if (stopped && c.inflight === 0) maybeDrained();
}

function onEvent(c: Client, seq: number): void {
  bump(Counter.events);
  checkSeq(c, seq, 'event');
}

function onFrame(c: Client, buf: Buffer): void {
  // Fast paths for the two messages that make up nearly all the traffic.
  if (startsWith(buf, c.eventPrefix)) {
    const seq = readInt(buf, c.eventPrefix.length);
    if (intEnd > 0 && buf[intEnd] === 44 /* , */) {
      onEvent(c, seq);
      return;
    }
  } else if (startsWith(buf, c.ackPrefix)) {
    const cseq = readInt(buf, c.ackPrefix.length);
    if (
      intEnd > 0 &&
      buf.compare(
        SEQ_AFTER_CSEQ,
        0,
        SEQ_AFTER_CSEQ.length,
        intEnd,
        intEnd + SEQ_AFTER_CSEQ.length,
      ) === 0
    ) {
      const seq = readInt(buf, intEnd + SEQ_AFTER_CSEQ.length);
      // Only a plain `...,"seq":N}`: dup, ref or a null seq take the slow path.
      if (intEnd > 0 && intEnd === buf.length - 1 && buf[intEnd] === 125 /* } */) {
        onAck(c, cseq, seq);
        return;
      }
    }
  }
  onMessage(c, JSON.parse(buf.toString('utf8')) as ServerMessage);
}

function onMessage(c: Client, message: ServerMessage): void {
  switch (message.type) {
    case 'welcome':
      c.ws.send(JSON.stringify({ type: 'join', doc: c.doc } satisfies JoinMessage));
      return;
    case 'joined':
      if (c.joined)
        anomaly('rejoined', `${c.id} on ${c.doc}: joined again at seq ${message.seq} (feed reset)`);
      c.joined = true;
      c.lastSeq = message.seq;
      onJoined();
      return;
    case 'ack':
      if (message.doc !== c.doc) {
        anomaly('wrong-doc', `${c.id}: ack for ${message.doc}, joined ${c.doc}`);
        return;
      }
      if (message.dup)
        anomaly('dup-ack', `${c.id} on ${c.doc}: cseq ${message.cseq} acked as a duplicate`);
      if (message.seq === null) {
        anomaly('null-seq', `${c.id} on ${c.doc}: ack of cseq ${message.cseq} without seq`);
        return;
      }
      onAck(c, message.cseq, message.seq);
      return;
    case 'event':
      if (message.doc !== c.doc) {
        anomaly('wrong-doc', `${c.id}: event for ${message.doc}, joined ${c.doc}`);
        return;
      }
      if (message.client === c.id)
        anomaly('own-event', `${c.id} on ${c.doc}: got its own event ${message.seq}`);
      onEvent(c, message.seq);
      return;
    case 'error':
      anomaly(`error:${message.code}`, `${c.id} on ${c.doc}: ${message.message}`);
      // An op that failed is not in flight any more; nothing else would free its slot.
      if (message.cseq !== undefined) {
        c.failed.add(message.cseq);
        c.inflight--;
        if (c.sending) sendNext(c);
        else if (stopped && c.inflight === 0) maybeDrained();
      }
      return;
    case 'presence':
    case 'pong':
    case 'left':
      return;
  }
}

// ---- phases -------------------------------------------------------------------

function post(message: FromWorker): void {
  port?.postMessage(message);
}

const connectStarted = performance.now();
let joinedCount = 0;
let connectTimer: NodeJS.Timeout | undefined;
function onJoined(): void {
  if (++joinedCount !== clients.length) return;
  clearTimeout(connectTimer);
  post({ type: 'ready', thread: input.thread, connectMs: performance.now() - connectStarted });
}

function connectAll(): void {
  connectTimer = setTimeout(() => {
    post({
      type: 'failed',
      thread: input.thread,
      error: `only ${joinedCount} of ${clients.length} clients joined within ${CONNECT_TIMEOUT_MS} ms`,
    });
  }, CONNECT_TIMEOUT_MS);
  for (const { id, doc } of input.clients) {
    const docJson = JSON.stringify(doc);
    const { event, ack } = prefixesOf(docJson);
    const ws = new WebSocket(`${input.url}?client=${encodeURIComponent(id)}`, {
      perMessageDeflate: false,
      skipUTF8Validation: true,
    });
    const c: Client = {
      id,
      doc,
      docJson,
      eventPrefix: event,
      ackPrefix: ack,
      ws,
      joined: false,
      lastSeq: -1,
      nextCseq: 1,
      ackedCseq: 0,
      failed: new Set(),
      inflight: 0,
      sending: false,
      closing: false,
      corked: false,
      sendAt: new Float64Array(W),
    };
    clients.push(c);
    ws.on('message', (data: Buffer, isBinary: boolean) => {
      if (isBinary) anomaly('binary', `${c.id}: binary frame`);
      else onFrame(c, data);
    });
    ws.on('error', (err) => anomaly('socket-error', `${c.id}: ${err.message}`));
    ws.on('close', (code, reason) => {
      if (!c.closing)
        anomaly('closed', `${c.id}: closed by the server with ${code} ${reason.toString()}`);
      c.inflight = 0;
      c.sending = false;
      closedCount++;
      if (closingDone && closedCount === clients.length) closingDone();
      if (stopped) maybeDrained();
    });
  }
}

function go(): void {
  for (const c of clients) {
    if (c.ws.readyState !== WebSocket.OPEN) continue;
    c.sending = true;
    for (let i = 0; i < W; i++) sendNext(c);
  }
}

let drainedPosted = false;
let drainTimer: NodeJS.Timeout | undefined;
function maybeDrained(force = false): void {
  if (drainedPosted) return;
  let undrained = 0;
  for (const c of clients) undrained += c.inflight;
  if (undrained > 0 && !force) return;
  drainedPosted = true;
  clearTimeout(drainTimer);
  if (undrained > 0)
    anomaly('undrained', `${undrained} op messages never answered within ${DRAIN_TIMEOUT_MS} ms`);
  post({ type: 'drained', thread: input.thread, undrained });
}

function stop(): void {
  stopped = true;
  for (const c of clients) c.sending = false;
  drainTimer = setTimeout(() => maybeDrained(true), DRAIN_TIMEOUT_MS);
  maybeDrained();
}

let closedCount = 0;
let closingDone: (() => void) | null = null;

async function finish(seqs: Record<string, number>): Promise<void> {
  // Events of other threads' clients may still be on the way: wait for them.
  const deadline = performance.now() + FINAL_TIMEOUT_MS;
  const behind = () => clients.filter((c) => c.lastSeq !== seqs[c.doc]);
  while (behind().length > 0 && performance.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  for (const c of behind()) {
    anomaly(
      'final-seq',
      `${c.id} on ${c.doc}: last saw seq ${c.lastSeq}, the server is at ${seqs[c.doc]}`,
    );
  }
  const lastSeq: Record<string, number> = {};
  for (const c of clients) lastSeq[c.id] = c.lastSeq;

  await new Promise<void>((resolve) => {
    const timer = setTimeout(resolve, CLOSE_TIMEOUT_MS);
    closingDone = () => {
      clearTimeout(timer);
      resolve();
    };
    for (const c of clients) {
      c.closing = true;
      c.ws.close(1000, 'benchmark done');
    }
    if (closedCount === clients.length) closingDone();
  });
  for (const c of clients) if (c.ws.readyState !== WebSocket.CLOSED) c.ws.terminate();

  const latencies = samples.slice(0, sampleCount);
  const message: FromWorker = {
    type: 'result',
    result: { thread: input.thread, anomalies, latencies, lastSeq },
  };
  port?.postMessage(message, [latencies.buffer]);
}

port.on('message', (message: ToWorker) => {
  switch (message.type) {
    case 'go':
      go();
      return;
    case 'stop':
      stop();
      return;
    case 'final':
      finish(message.seqs).catch((err: unknown) =>
        post({ type: 'failed', thread: input.thread, error: String(err) }),
      );
      return;
  }
});

connectAll();
