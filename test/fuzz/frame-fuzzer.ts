import { randomBytes } from 'node:crypto';
import { expect } from 'vitest';
import { applyOps } from '../../src/document/apply-ops';
import type { DocState, EventRecord, ServerMessage } from '../../src/protocol';
import { TestClient, delay } from '../support/ws-client';
import type { Frame } from './frame-arbitraries';

/** Stands for the batch's document in generated frames; replaced before sending. */
export const DOC_PLACEHOLDER = 'fuzz-doc-placeholder';

/**
 * Close codes a hostile frame may earn: 1009 too large; a text frame that is
 * not UTF-8 is a WebSocket protocol error that uWS answers by dropping the
 * connection (1006 at the client) or with 1007.
 */
const EXPECTED_CLOSES = new Set([1007, 1009]);
const EXPECTED_AFTER_BAD_UTF8 = new Set([1006, 1007]);

export interface FuzzTarget {
  url: string;
  http: string;
  /** The frame limit the gateway was started with. */
  maxPayloadBytes: number;
}

export interface FuzzTotals {
  batches: number;
  frames: number;
  applied: number;
  errors: Record<string, number>;
  /** The first message of each code other than BAD_REQUEST, to tell what was refused. */
  samples: Record<string, string>;
  closes: Record<number, number>;
}

/** Only the fields the server keeps of an op, after a JSON round trip (as the history holds it). */
function normalized(op: unknown): unknown {
  const o = op as Record<string, unknown>;
  const kept: Record<string, unknown> = { op: o.op, coll: o.coll, id: o.id };
  if (o.op === 'set') kept.value = o.value;
  if (o.op === 'patch') kept.fields = o.fields;
  return JSON.parse(JSON.stringify(kept));
}

const roundTrip = <T>(value: T): T => JSON.parse(JSON.stringify(value)) as T;

function opFrameOf(text: string, doc: string): { cseq: unknown; ops: unknown[] } | null {
  try {
    const message = JSON.parse(text) as Record<string, unknown>;
    if (message?.type !== 'op' || message.doc !== doc || !Array.isArray(message.ops)) return null;
    return { cseq: message.cseq, ops: message.ops };
  } catch {
    return null;
  }
}

/**
 * Sends batches of generated frames from a client that has joined a fresh
 * document, and after each batch checks what PROTOCOL.md and DESIGN.md
 * invariant 7 promise: the gateway still answers, nothing was answered
 * INTERNAL, and the document holds exactly the op messages that were acked,
 * each equal to what was sent, its state the replay of its history.
 */
export class FrameFuzzer {
  readonly totals: FuzzTotals = {
    batches: 0,
    frames: 0,
    applied: 0,
    errors: {},
    samples: {},
    closes: {},
  };
  /** The kind of the last frame sent on each connection: it explains a close. */
  private readonly lastKind = new WeakMap<TestClient, Frame['kind']>();

  constructor(private readonly target: FuzzTarget) {}

  async runBatch(frames: readonly Frame[]): Promise<void> {
    const doc = `fuzz-${randomBytes(6).toString('hex')}`;
    const clientId = `fuzz-${randomBytes(6).toString('hex')}`;
    const connections: TestClient[] = [];
    const sentOps: Array<{ cseq: unknown; ops: unknown[] }> = [];
    const open = async (id: string) => {
      const client = await TestClient.connect(this.target.url, id);
      client.ws.on('error', () => undefined);
      connections.push(client);
      expect(await client.request({ type: 'join', doc })).toMatchObject({ type: 'joined' });
      return client;
    };
    const control = await open(`ctl-${clientId.slice(5)}`);
    let fuzz = await open(clientId);
    let sentinels = 0;
    let lastSeq = 0;
    /**
     * Ordering is per document and FIFO: once the control client's op is
     * acked, every op message submitted before it has been applied or
     * refused and its answer written; the pong that follows comes behind
     * those answers. Returns how many events the document gained meanwhile.
     */
    const barrier = async (): Promise<number> => {
      expect(await fuzz.request({ type: 'ping' })).toMatchObject({ type: 'pong' });
      sentinels++;
      const sentinel = (await control.request({
        type: 'op',
        doc,
        cseq: sentinels,
        ops: [{ op: 'set', coll: 'sentinel', id: 's', value: { n: sentinels } }],
      })) as { type: string; seq: number };
      expect(sentinel).toMatchObject({ type: 'ack', cseq: sentinels });
      expect(await fuzz.request({ type: 'ping' })).toMatchObject({ type: 'pong' });
      const gained = sentinel.seq - lastSeq;
      lastSeq = sentinel.seq;
      return gained;
    };
    /**
     * An op that arrives while its join is in progress is held and submitted
     * when the join completes, which may be after a barrier: settle when two
     * barriers in a row saw nothing but their own sentinel.
     */
    const settle = async () => {
      let quiet = 0;
      for (let round = 0; quiet < 2; round++) {
        expect(round, 'the document never settled').toBeLessThan(50);
        quiet = (await barrier()) === 1 ? quiet + 1 : 0;
      }
    };
    try {
      for (const frame of frames) {
        if (fuzz.closeCode !== null) fuzz = await open(clientId);
        if (this.mayClose(frame)) {
          // Answers still on their way would be lost with the connection.
          await settle();
          this.send(fuzz, frame, doc, sentOps);
          // Frames on one connection are handled in order: a pong means this one did not close it.
          const pong = fuzz.request({ type: 'ping' }).catch(() => undefined);
          await Promise.race([fuzz.closed, pong, delay(2000)]);
        } else this.send(fuzz, frame, doc, sentOps);
        this.totals.frames++;
      }
      if (fuzz.closeCode !== null) fuzz = await open(clientId);
      await settle();

      await this.checkDocument(doc, clientId, sentinels, control, connections, sentOps);
      // A fresh connection is served: the process is alive and accepting.
      const fresh = await TestClient.connect(this.target.url);
      connections.push(fresh);
      expect(await fresh.request({ type: 'ping' })).toMatchObject({ type: 'pong' });
      this.record(connections);
    } finally {
      await Promise.all(connections.map((c) => c.close()));
    }
    this.totals.batches++;
  }

  /** Whether the gateway may end the connection for this frame (too large, not UTF-8). */
  private mayClose(frame: Frame): boolean {
    if (frame.kind === 'raw-text') return true;
    const bytes = frame.kind === 'binary' ? frame.bytes.length : Buffer.byteLength(frame.text);
    // The placeholder is shorter than a real document id: keep a margin.
    return bytes > this.target.maxPayloadBytes - 64;
  }

  private send(
    client: TestClient,
    frame: Frame,
    doc: string,
    sentOps: Array<{ cseq: unknown; ops: unknown[] }>,
  ): void {
    this.lastKind.set(client, frame.kind);
    if (frame.kind === 'binary') client.ws.send(frame.bytes, { binary: true });
    else if (frame.kind === 'raw-text') client.ws.send(Buffer.from(frame.bytes), { binary: false });
    else {
      const text = frame.text.split(DOC_PLACEHOLDER).join(doc);
      const op = opFrameOf(text, doc);
      if (op) sentOps.push(op);
      client.ws.send(text);
    }
  }

  private async checkDocument(
    doc: string,
    clientId: string,
    sentinels: number,
    control: TestClient,
    connections: TestClient[],
    sentOps: Array<{ cseq: unknown; ops: unknown[] }>,
  ): Promise<void> {
    const joined = (await control.request({ type: 'join', doc })) as { epoch: string; seq: number };
    const history = (await control.request({
      type: 'join',
      doc,
      since: 0,
      epoch: joined.epoch,
    })) as {
      events?: EventRecord[];
      seq: number;
    };
    expect(history.events, 'the whole history of a fresh document is kept').toBeDefined();
    const events = history.events ?? [];
    const res = await fetch(`${this.target.http}/docs/${doc}`);
    expect(res.status).toBe(200);
    const snapshot = (await res.json()) as { seq: number; state: DocState };

    // One gap-free order, and the snapshot is the replay of the history.
    expect(events.map((e) => e.seq)).toEqual(events.map((_, i) => i + 1));
    expect(snapshot.seq).toBe(events.length);
    const replayed: DocState = {};
    for (const event of events) applyOps(replayed, event.ops);
    expect(roundTrip(snapshot.state)).toEqual(roundTrip(replayed));

    // Only the fuzzing client and the control client wrote; the last sentinel last.
    const fromControl = events.filter((e) => e.client !== clientId);
    expect(fromControl.map((e) => e.cseq)).toEqual(
      Array.from({ length: sentinels }, (_, i) => i + 1),
    );
    expect(fromControl.at(-1)?.seq).toBe(events.length);
    expect(
      control
        .of('ack')
        .filter((a) => a.doc === doc)
        .map((a) => a.seq),
    ).toEqual(fromControl.map((e) => e.seq));

    // Exactly the acked op messages are in the history, at the seq of their ack.
    const fuzzConnections = connections.filter((c) => c !== control);
    const acks = fuzzConnections
      .flatMap((c) => c.of('ack'))
      .filter((a) => a.doc === doc && a.dup !== true);
    const fuzzEvents = events.filter((e) => e.client === clientId);
    const acked = acks.map((a) => [a.cseq, a.seq]).sort(byFirst);
    const applied = fuzzEvents.map((e) => [e.cseq, e.seq]).sort(byFirst);
    // A leave or a second join of the document ends the membership that
    // waits for the acks in flight: their ops are applied, the acks not sent
    // (the SDK resends after its re-join and gets a duplicate ack).
    const restarted = fuzzConnections.some(
      (c) =>
        c.of('left').some((m) => m.doc === doc) ||
        c.of('joined').filter((m) => m.doc === doc).length > 1,
    );
    if (restarted) {
      const appliedKeys = new Set(applied.map((pair) => pair.join('/')));
      for (const pair of acked) expect(appliedKeys).toContain(pair.join('/'));
    } else expect(acked).toEqual(applied);
    // Each applied op message is one that was sent, with its ops as sent.
    for (const event of fuzzEvents) {
      const candidates = sentOps.filter((s) => s.cseq === event.cseq);
      const ops = roundTrip(event.ops).map(normalized);
      expect(
        candidates.some((c) => JSON.stringify(c.ops.map(normalized)) === JSON.stringify(ops)),
        `seq ${event.seq} (cseq ${event.cseq}) holds ops that were never sent: ${JSON.stringify(ops).slice(0, 300)}`,
      ).toBe(true);
    }
    this.totals.applied += fuzzEvents.length;
  }

  private record(connections: TestClient[]): void {
    for (const client of connections) {
      const internal = client.of('error').filter((e) => e.code === 'INTERNAL');
      expect(internal, 'no request may be answered INTERNAL').toEqual([]);
      for (const error of client.of('error')) {
        this.totals.errors[error.code] = (this.totals.errors[error.code] ?? 0) + 1;
        if (error.code !== 'BAD_REQUEST') this.totals.samples[error.code] ??= error.message;
      }
      if (client.closeCode !== null && client.closeCode !== 1000 && client.closeCode !== 1005) {
        const expected =
          this.lastKind.get(client) === 'raw-text' ? EXPECTED_AFTER_BAD_UTF8 : EXPECTED_CLOSES;
        expect(expected, `unexpected close code ${client.closeCode}`).toContain(client.closeCode);
        this.totals.closes[client.closeCode] = (this.totals.closes[client.closeCode] ?? 0) + 1;
      }
      // Every message the server sent is one of the protocol's.
      for (const message of client.messages)
        expect(KNOWN_TYPES).toContain((message as ServerMessage).type);
    }
  }
}

const KNOWN_TYPES = ['welcome', 'joined', 'left', 'ack', 'event', 'presence', 'pong', 'error'];

const byFirst = (a: Array<number | null>, b: Array<number | null>) =>
  (a[0] as number) - (b[0] as number) || (a[1] as number) - (b[1] as number);
