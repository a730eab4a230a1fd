import WebSocket from 'ws';
import type { EventRecord, ServerMessage } from '../../src/protocol';

/**
 * Writers that each stream op messages into one document and time every
 * answer: what a fault costs, measured as clients see it. A writer keeps one
 * op message in flight; an error (UNAVAILABLE while Redis fails over) or a
 * lost connection makes it resend the same cseq, which the server must
 * never apply twice. `verify()` then reads each document's history and
 * finds every acked op message at the seq its ack named.
 */
export interface ProbeOp {
  cseq: number;
  /** ms, performance.now() of the first send */
  sentAt: number;
  ackedAt?: number;
  seq?: number | null;
  dup?: boolean;
  /** Error codes answered before it was acked (each followed by a resend). */
  errors: string[];
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

export class ProbeWriter {
  readonly ops: ProbeOp[] = [];
  disconnects = 0;
  /** The epoch of the first join; every later join must name the same. */
  epoch: string | undefined;
  epochChanged = false;
  private ws: WebSocket | null = null;
  private running = false;
  private loop: Promise<void> | undefined;
  private waiting: ((m: ServerMessage | null) => void) | null = null;
  private urlIndex: number;

  constructor(
    readonly doc: string,
    readonly client: string,
    private readonly urls: readonly string[],
    first: number,
    private readonly intervalMs: number,
  ) {
    this.urlIndex = first;
  }

  /** Connects and joins; then streams until `stop()`. */
  start(): void {
    this.running = true;
    this.loop = this.run();
  }

  async stop(): Promise<void> {
    this.running = false;
    await this.loop;
    this.ws?.terminate();
  }

  private async connect(): Promise<void> {
    for (let attempt = 0; this.running; attempt++) {
      const url = this.urls[this.urlIndex % this.urls.length] as string;
      const ok = await new Promise<boolean>((resolve) => {
        const ws = new WebSocket(`${url}?client=${this.client}`);
        ws.on('error', () => resolve(false));
        ws.on('close', () => {
          resolve(false);
          if (this.ws === ws) {
            this.ws = null;
            this.disconnects++;
            this.waiting?.(null);
          }
        });
        ws.on('message', (data) => {
          const message = JSON.parse(String(data)) as ServerMessage;
          if (message.type === 'welcome') {
            this.ws = ws;
            resolve(true);
          } else this.waiting?.(message);
        });
      });
      if (ok) {
        const joined = await this.answer({ type: 'join', doc: this.doc }, 10_000);
        if (joined?.type === 'joined') {
          if (this.epoch !== undefined && this.epoch !== joined.epoch) this.epochChanged = true;
          this.epoch ??= joined.epoch;
          return;
        }
        this.ws?.terminate();
      }
      this.urlIndex++;
      await sleep(Math.min(1000, 50 * 2 ** attempt));
    }
  }

  /** Sends and waits for the next message about this document (or null: connection lost, timeout). */
  private answer(message: object, timeoutMs: number): Promise<ServerMessage | null> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => finish(null), timeoutMs);
      const finish = (m: ServerMessage | null) => {
        clearTimeout(timer);
        this.waiting = null;
        resolve(m);
      };
      this.waiting = (m) => {
        if (m === null) finish(null);
        else if (m.type === 'joined' || m.type === 'ack' || m.type === 'error') finish(m);
      };
      this.ws?.send(JSON.stringify(message));
    });
  }

  private async run(): Promise<void> {
    let cseq = 0;
    while (this.running) {
      if (!this.ws) await this.connect();
      if (!this.running) break;
      cseq++;
      const op: ProbeOp = { cseq, sentAt: performance.now(), errors: [] };
      this.ops.push(op);
      const message = {
        type: 'op',
        doc: this.doc,
        cseq,
        ops: [{ op: 'set', coll: 'probe', id: this.client, value: { cseq } }],
      };
      // Resend the same cseq until it is acked: what the SDK does.
      for (;;) {
        if (!this.ws) await this.connect();
        if (!this.ws) break; // stopped while reconnecting
        const reply = await this.answer(message, 15_000);
        if (reply?.type === 'ack' && reply.cseq === cseq) {
          op.ackedAt = performance.now();
          op.seq = reply.seq;
          op.dup = reply.dup === true;
          break;
        }
        op.errors.push(
          reply === null ? 'NO_ANSWER' : reply.type === 'error' ? reply.code : reply.type,
        );
        // Stopped: leave it unanswered (verify() checks acked op messages only).
        if (!this.running) break;
        await sleep(100);
      }
      await sleep(this.intervalMs);
    }
  }
}

export interface ProbeVerdict {
  acked: number;
  /** Acked op messages missing from the history at the seq their ack named. */
  lost: Array<{ doc: string; cseq: number; seq: number; found: string }>;
  /** Op messages of a writer found at more than one seq. */
  appliedTwice: number;
  /** Documents whose epoch changed (their whole history was lost, or it went back and moved on). */
  epochChanges: number;
  /** Those documents. */
  changedEpochDocs: string[];
  /** Op messages answered UNAVAILABLE ("nothing was applied") whose resend was a duplicate. */
  unavailableButApplied: number;
  /** Seq gaps or repeats in a history. */
  holes: number;
  /** Documents whose join was refused at the end (their ops could not be checked): doc -> the error. */
  unreadable: Record<string, string>;
}

/** Reads every writer's document (join with since 0) and checks each acked op. */
export async function verify(url: string, writers: readonly ProbeWriter[]): Promise<ProbeVerdict> {
  const verdict: ProbeVerdict = {
    acked: 0,
    lost: [],
    appliedTwice: 0,
    epochChanges: 0,
    changedEpochDocs: [],
    unavailableButApplied: 0,
    holes: 0,
    unreadable: {},
  };
  const ws = new WebSocket(url);
  const inbox: ServerMessage[] = [];
  const waiters: Array<() => void> = [];
  ws.on('message', (data) => {
    inbox.push(JSON.parse(String(data)) as ServerMessage);
    waiters.splice(0).forEach((w) => w());
  });
  await new Promise((resolve) => ws.once('open', resolve));
  const request = async (message: Record<string, unknown>) => {
    const ref = Math.random().toString(36).slice(2);
    ws.send(JSON.stringify({ ...message, ref }));
    const deadline = Date.now() + 15_000;
    for (;;) {
      const found = inbox.find((m) => 'ref' in m && m.ref === ref);
      if (found) return found;
      if (Date.now() > deadline) throw new Error(`no answer to ${JSON.stringify(message)}`);
      await new Promise<void>((resolve) => {
        waiters.push(resolve);
        setTimeout(resolve, 100);
      });
    }
  };
  try {
    for (const writer of writers) {
      const answer = await request({ type: 'join', doc: writer.doc });
      if (answer.type !== 'joined') {
        verdict.unreadable[writer.doc] = answer.type === 'error' ? answer.message : answer.type;
        continue;
      }
      const joined = answer as { epoch: string; seq: number };
      if (writer.epochChanged || writer.epoch !== joined.epoch) {
        verdict.epochChanges++;
        verdict.changedEpochDocs.push(writer.doc);
      }
      const history = (await request({
        type: 'join',
        doc: writer.doc,
        since: 0,
        epoch: joined.epoch,
      })) as { events?: EventRecord[] };
      const events = history.events ?? [];
      if (events.length !== joined.seq) verdict.holes++;
      const bySeq = new Map<number, EventRecord>();
      for (const [i, event] of events.entries()) {
        if (event.seq !== i + 1) verdict.holes++;
        bySeq.set(event.seq, event);
      }
      const seen = new Set<number>();
      for (const event of events) {
        if (event.client !== writer.client) continue;
        if (seen.has(event.cseq)) verdict.appliedTwice++;
        seen.add(event.cseq);
      }
      for (const op of writer.ops) {
        if (op.ackedAt === undefined) continue;
        verdict.acked++;
        if (op.dup && op.errors.length > 0 && op.errors.every((e) => e === 'UNAVAILABLE'))
          verdict.unavailableButApplied++;
        if (!seen.has(op.cseq)) {
          const at = op.seq === null || op.seq === undefined ? undefined : bySeq.get(op.seq);
          verdict.lost.push({
            doc: writer.doc,
            cseq: op.cseq,
            seq: op.seq ?? -1,
            found: at ? `${at.client}/${at.cseq}` : 'nothing',
          });
        } else if (typeof op.seq === 'number') {
          const at = bySeq.get(op.seq);
          if (at?.client !== writer.client || at.cseq !== op.cseq) {
            verdict.lost.push({
              doc: writer.doc,
              cseq: op.cseq,
              seq: op.seq,
              found: at ? `${at.client}/${at.cseq}` : 'nothing',
            });
          }
        }
      }
    }
  } finally {
    ws.terminate();
  }
  return verdict;
}

/**
 * How long after `at` (ms, performance.now()) each writer waited for its
 * first ack: of an op sent before `at` that was still waiting, or of the
 * next one.
 */
export function recoveryAfter(writer: ProbeWriter, at: number): number | null {
  const next = writer.ops.find((op) => op.ackedAt !== undefined && op.ackedAt >= at);
  return next?.ackedAt === undefined ? null : next.ackedAt - at;
}

/** The longest time between two consecutive acks of a writer (its worst stall). */
export function longestStall(writer: ProbeWriter): number {
  let longest = 0;
  let last: number | undefined;
  for (const op of writer.ops) {
    if (op.ackedAt === undefined) continue;
    if (last !== undefined) longest = Math.max(longest, op.ackedAt - last);
    last = op.ackedAt;
  }
  return longest;
}
