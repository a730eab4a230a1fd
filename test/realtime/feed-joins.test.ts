import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { Metrics } from '../../src/observability/metrics';
import type { ServerMessage } from '../../src/protocol';
import type { ClientSocket } from '../../src/realtime/client-socket';
import { DocumentFeed } from '../../src/realtime/document-feed';
import { InflightOps } from '../../src/realtime/inflight-ops';
import type { Member } from '../../src/realtime/member';
import { MemoryCollaborationService } from '../../src/services/collaboration/collaboration.memory';
import { MemoryWebSocketManager } from '../../src/services/websocket-manager/websocket-manager.memory';

/** What a join of a large document costs, and what it is answered when it cannot be sent. */
class RecordingSocket implements ClientSocket {
  readonly received: ServerMessage[] = [];
  closed = false;
  send(text: string): void {
    this.received.push(JSON.parse(text) as ServerMessage);
  }
  sendQueued(text: string): void {
    this.send(text);
  }
  subscribe(): void {}
  unsubscribe(): void {}
  publishToOthers(): void {}
  end(): void {
    this.closed = true;
  }
  checkBackpressure(): void {}
}

function setup(maxJoinedBytes?: number) {
  const collaboration = new MemoryCollaborationService({
    historyLength: 100,
    sessionTtlSeconds: 0,
  });
  let opens = 0;
  const open = collaboration.open.bind(collaboration);
  collaboration.open = (doc, resume) => {
    opens++;
    return open(doc, resume);
  };
  const feed = new DocumentFeed('doc-1', {
    nodeId: 'node-1',
    collaboration,
    websockets: new MemoryWebSocketManager(),
    broadcaster: { broadcast: () => undefined },
    metrics: new Metrics(false),
    log: pino({ level: 'silent' }),
    ...(maxJoinedBytes === undefined ? {} : { maxJoinedBytes }),
  });
  const member = (client: string): Member => ({
    doc: 'doc-1',
    client,
    user: null,
    socket: new RecordingSocket(),
    phase: 'joining',
    seq: -1,
    held: [],
    inflight: new InflightOps(),
  });
  return { feed, member, collaboration, opens: () => opens };
}

const big = (n: number) => ({
  op: 'set' as const,
  coll: 'c',
  id: `e${n}`,
  value: { p: 'x'.repeat(10_000) },
});

describe('joins of one document on one gateway', () => {
  it('share one snapshot while the seq stays the same, and read a new one after it moved', async () => {
    const { feed, member, opens, collaboration } = setup();
    await Promise.all(Array.from({ length: 50 }, () => feed.open()));
    expect(opens()).toBe(1);
    await feed.open();
    expect(opens()).toBe(1);
    const outcomes = await collaboration.applyBatch('doc-1', [
      { doc: 'doc-1', client: 'w', cseq: 1, ops: [big(1)] },
    ]);
    const m = member('r');
    feed.addMember(m);
    feed.admit(m, await feed.open(), []);
    feed.onBroadcast({ kind: 'outcomes', doc: 'doc-1', outcomes });
    const after = await feed.open();
    expect(after.kind === 'snapshot' && after.snapshot.seq).toBe(1);
    expect(opens()).toBe(2);
  });

  it('answers a join whose snapshot is too large to send with TOO_LARGE, in words', async () => {
    const { feed, member, collaboration } = setup(50_000);
    await collaboration.applyBatch('doc-1', [
      { doc: 'doc-1', client: 'w', cseq: 1, ops: [1, 2, 3, 4, 5, 6].map(big) },
    ]);
    const joiner = member('j');
    feed.addMember(joiner);
    expect(feed.admit(joiner, await feed.open(), [], 'r1')).toBe(false);
    const socket = joiner.socket as RecordingSocket;
    expect(socket.received).toEqual([
      expect.objectContaining({ type: 'error', code: 'TOO_LARGE', doc: 'doc-1', ref: 'r1' }),
    ]);
    expect((socket.received[0] as { message: string }).message).toMatch(/cannot be joined/);
    expect(socket.closed).toBe(false);
  });
});
