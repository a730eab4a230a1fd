import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { Metrics } from '../../src/observability/metrics';
import type { ServerMessage } from '../../src/protocol';
import type { ClientSocket } from '../../src/realtime/client-socket';
import { DocumentFeed } from '../../src/realtime/document-feed';
import { InflightOps } from '../../src/realtime/inflight-ops';
import type { Member } from '../../src/realtime/member';
import type { ApplyOutcome, OpSubmission } from '../../src/document/op-submission';
import { MemoryCollaborationService } from '../../src/services/collaboration/collaboration.memory';
import type {
  BroadcastListener,
  WebSocketManager,
} from '../../src/services/websocket-manager/websocket-manager';
import { waitFor } from '../support/scenarios';

/** A socket that records what it was sent, including topic fan-out. */
class RecordingSocket implements ClientSocket {
  readonly received: ServerMessage[] = [];
  readonly topics = new Set<string>();
  closed = false;
  constructor(private readonly all: RecordingSocket[]) {
    all.push(this);
  }
  send(text: string): void {
    this.received.push(JSON.parse(text) as ServerMessage);
  }
  sendQueued(text: string): void {
    this.send(text);
  }
  subscribe(topic: string): void {
    this.topics.add(topic);
  }
  unsubscribe(topic: string): void {
    this.topics.delete(topic);
  }
  publishToOthers(topic: string, text: string): void {
    for (const socket of this.all)
      if (socket !== this && socket.topics.has(topic)) socket.send(text);
  }
  end(): void {
    this.closed = true;
  }
  checkBackpressure(): void {}
}

function setup() {
  const sockets: RecordingSocket[] = [];
  const collaboration = new MemoryCollaborationService({
    historyLength: 100,
    sessionTtlSeconds: 0,
  });
  let listener: BroadcastListener | undefined;
  const websockets: WebSocketManager = {
    mode: 'memory',
    publish: async () => undefined,
    subscribe: async (_doc, l) => {
      listener = l;
    },
    unsubscribe: async () => undefined,
    heartbeat: async () => undefined,
    clusterStats: async () => null,
    close: async () => undefined,
  };
  const broadcaster = {
    broadcast: (topic: string, text: string) => {
      for (const socket of sockets) if (socket.topics.has(topic)) socket.send(text);
    },
  };
  const feed = new DocumentFeed('doc-1', {
    nodeId: 'node-1',
    collaboration,
    websockets,
    broadcaster,
    metrics: new Metrics(false),
    log: pino({ level: 'silent' }),
  });
  const member = (client: string): Member => ({
    doc: 'doc-1',
    client,
    user: null,
    socket: new RecordingSocket(sockets),
    phase: 'joining',
    seq: -1,
    held: [],
    inflight: new InflightOps(),
  });
  const join = async (m: Member) => {
    feed.addMember(m);
    feed.admit(m, await collaboration.open('doc-1'), []);
  };
  const apply = async (client: string, cseq: number): Promise<ApplyOutcome[]> => {
    const sub: OpSubmission = {
      doc: 'doc-1',
      client,
      cseq,
      ops: [{ op: 'set', coll: 'c', id: client, value: { cseq } }],
    };
    return collaboration.applyBatch('doc-1', [sub]);
  };
  const deliver = (outcomes: ApplyOutcome[]) =>
    listener?.({ kind: 'outcomes', doc: 'doc-1', outcomes });
  return { feed, member, join, apply, deliver, collaboration };
}

const seqs = (socket: ClientSocket) =>
  (socket as RecordingSocket).received
    .filter(
      (m): m is Extract<ServerMessage, { type: 'ack' | 'event' }> =>
        m.type === 'ack' || m.type === 'event',
    )
    .map((m) => m.seq);

describe('DocumentFeed', () => {
  it('recovers a lost broadcast from the history and delivers in seq order', async () => {
    const { member, join, apply, deliver } = setup();
    const reader = member('reader');
    await join(reader);
    const first = await apply('w', 1);
    const lost = await apply('w', 2);
    const third = await apply('w', 3);
    expect(lost).toHaveLength(1);
    deliver(first);
    deliver(third); // seq 2 never arrives on the channel
    await waitFor(() => seqs(reader.socket).length === 3, 2000, 'gap recovered');
    expect(seqs(reader.socket)).toEqual([1, 2, 3]);
  });

  it('ignores a broadcast delivered twice and one out of date', async () => {
    const { member, join, apply, deliver } = setup();
    const reader = member('reader');
    await join(reader);
    const one = await apply('w', 1);
    const two = await apply('w', 2);
    deliver(one);
    deliver(two);
    deliver(one);
    deliver(two);
    expect(seqs(reader.socket)).toEqual([1, 2]);
  });

  it('sends the sender an ack and the others an event', async () => {
    const { member, join, apply, deliver } = setup();
    const sender = member('sender');
    const other = member('other');
    await join(sender);
    await join(other);
    sender.inflight.add(1, undefined);
    deliver(await apply('sender', 1));
    expect((sender.socket as RecordingSocket).received.at(-1)).toMatchObject({
      type: 'ack',
      cseq: 1,
      seq: 1,
    });
    expect((other.socket as RecordingSocket).received.at(-1)).toMatchObject({
      type: 'event',
      client: 'sender',
      seq: 1,
    });
  });

  it('holds a duplicate ack that names an event not delivered yet, and acks only an op in flight', async () => {
    const { member, join, apply, deliver } = setup();
    const sender = member('sender');
    await join(sender);
    await apply('sender', 1); // applied, but its broadcast is lost
    sender.inflight.add(1, undefined);
    deliver(await apply('sender', 1)); // the resend: a duplicate of seq 1
    await waitFor(() => seqs(sender.socket).length >= 1, 2000, 'ack after recovery');
    const acks = (sender.socket as RecordingSocket).received.filter((m) => m.type === 'ack');
    // The recovered event acks it first; the duplicate is then not in flight any more.
    expect(acks).toHaveLength(1);
    expect(acks[0]).toMatchObject({ cseq: 1, seq: 1 });
  });

  it('puts the ref of the op into its ack even when the event was recovered from the history', async () => {
    const { member, join, apply, deliver } = setup();
    const sender = member('sender');
    await join(sender);
    sender.inflight.add(1, 'my-ref');
    await apply('sender', 1); // its broadcast is lost
    deliver(await apply('other', 1)); // seq 2 reveals the gap
    await waitFor(() => seqs(sender.socket).length === 2, 2000, 'recovered');
    expect((sender.socket as RecordingSocket).received.find((m) => m.type === 'ack')).toEqual({
      type: 'ack',
      doc: 'doc-1',
      cseq: 1,
      seq: 1,
      ref: 'my-ref',
    });
  });

  it('announces presence null for clients of a gateway that stopped heartbeating', async () => {
    const { feed, member, join } = setup();
    const local = member('local');
    await join(local);
    feed.onBroadcast({
      kind: 'presence',
      doc: 'doc-1',
      origin: 'node-2',
      client: 'far',
      user: 'u',
      state: { x: 1 },
    });
    feed.onBroadcast({
      kind: 'presence',
      doc: 'doc-1',
      origin: 'node-3',
      client: 'alive',
      user: null,
      state: { x: 2 },
    });
    feed.forgetPresenceOutside(new Set(['node-1', 'node-3']));
    const presence = (local.socket as RecordingSocket).received.filter(
      (m) => m.type === 'presence',
    );
    expect(presence.at(-1)).toEqual({
      type: 'presence',
      doc: 'doc-1',
      client: 'far',
      user: null,
      state: null,
    });
    expect(presence.filter((m) => (m as { state: unknown }).state === null)).toHaveLength(1);
    // Once only.
    feed.forgetPresenceOutside(new Set(['node-1']));
    const nulls = (local.socket as RecordingSocket).received.filter(
      (m) => m.type === 'presence' && m.state === null,
    );
    expect(nulls.map((m) => (m as { client: string }).client)).toEqual(['far', 'alive']);
  });

  it('resyncs members from a snapshot when another op shows up at a seq already delivered (history regressed)', async () => {
    const { member, join, apply, deliver } = setup();
    const reader = member('reader');
    await join(reader);
    const [first] = await apply('a', 1);
    deliver([first as ApplyOutcome]);
    // What a failover behind a lagging replica looks like: seq 1 again, another op.
    const regressed = {
      ...(first as Extract<ApplyOutcome, { kind: 'applied' }>),
      client: 'b',
      cseq: 7,
    };
    deliver([regressed]);
    await waitFor(
      () =>
        (reader.socket as RecordingSocket).received.filter((m) => m.type === 'joined').length === 2,
      2000,
      'a fresh joined',
    );
    // A repeated broadcast of the same op is not a regression.
    deliver([first as ApplyOutcome]);
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(
      (reader.socket as RecordingSocket).received.filter((m) => m.type === 'joined'),
    ).toHaveLength(2);
  });

  it('brings a member that joined behind the feed up to date before it goes live', async () => {
    const { feed, member, join, apply, deliver, collaboration } = setup();
    const early = member('early');
    await join(early);
    const stale = await collaboration.open('doc-1'); // a snapshot at seq 0, read before 1 and 2
    deliver(await apply('w', 1));
    deliver(await apply('w', 2));
    const late = member('late');
    feed.addMember(late);
    feed.admit(late, stale, []);
    await waitFor(() => late.phase === 'live', 2000, 'late member live');
    deliver(await apply('w', 3));
    expect((late.socket as RecordingSocket).received[0]).toMatchObject({ type: 'joined', seq: 0 });
    expect(seqs(late.socket)).toEqual([1, 2, 3]);
    expect(seqs(early.socket)).toEqual([1, 2, 3]);
  });
});
