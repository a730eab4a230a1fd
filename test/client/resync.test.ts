import { describe, expect, it } from 'vitest';
import type { DocumentEvents } from '../../src/client';
import type { EventMessage, Op } from '../../src/protocol/messages';
import { eventually, joinedClient, nextEvent, startServer } from './helpers';

const set = (id: string, x: number): Op => ({ op: 'set', coll: 'nodes', id, value: { x } });

function event(seq: number, ops: Op[], client = 'other', cseq = seq): EventMessage {
  return { type: 'event', doc: 'doc-1', seq, client, cseq, ops };
}

describe('gap detection', () => {
  it('re-joins with since and epoch on the same connection and applies each event once', async () => {
    const server = await startServer();
    const { connection, handle } = await joinedClient(server, { seq: 5 });
    const seen: number[] = [];
    handle.on('event', (e) => seen.push(e.seq));
    const resync = nextEvent(handle, 'resync');

    // Event 6 was lost: 7 arrives after 5.
    connection.send(event(7, [set('b', 7)]));
    const join = await connection.next('join');
    expect(join).toMatchObject({ type: 'join', doc: 'doc-1', since: 5, epoch: 'e1' });
    // Sent while the re-join is under way: buffered, then placed after it.
    connection.send(event(8, [set('c', 8)]));
    connection.joinedEvents(join, {
      epoch: 'e1',
      seq: 7,
      events: [
        { seq: 6, client: 'other', cseq: 6, ops: [set('a', 6)] },
        { seq: 7, client: 'other', cseq: 7, ops: [set('b', 7)] },
      ],
    });

    expect(await resync).toEqual({ snapshot: false, epochChanged: false, epoch: 'e1', seq: 7 });
    await eventually(() => expect(handle.seq).toBe(8));
    expect(seen).toEqual([6, 7, 8]);
    expect(handle.state).toEqual({ nodes: { a: { x: 6 }, b: { x: 7 }, c: { x: 8 } } });
    expect(handle.joined).toBe(true);
  });

  it('treats an ack past the next seq as a gap too', async () => {
    const server = await startServer();
    const { client, connection, handle } = await joinedClient(server, { seq: 5 });
    const mine = handle.submit([set('m', 1)]);
    await connection.next('op');
    connection.send({ type: 'ack', doc: 'doc-1', cseq: 1, seq: 7 });
    const join = await connection.next('join');
    expect(join).toMatchObject({ since: 5, epoch: 'e1' });
    connection.joinedEvents(join, {
      epoch: 'e1',
      seq: 7,
      events: [
        { seq: 6, client: 'other', cseq: 1, ops: [set('o', 6)] },
        { seq: 7, client: client.clientId, cseq: 1, ops: [set('m', 1)] },
      ],
    });
    expect(await mine).toEqual({ seq: 7, dup: false });
    expect(handle.state).toEqual({ nodes: { o: { x: 6 }, m: { x: 1 } } });
    expect(handle.pendingCount).toBe(0);
    // Nothing is resent: the op was sent on this connection and is placed.
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(connection.peek()).toEqual([]);
  });
});

describe('reconnect', () => {
  it('re-joins with since/epoch, then resends unacked ops with the same cseq; handles dup acks', async () => {
    const server = await startServer();
    const { client, connection, handle } = await joinedClient(server, {
      seq: 5,
      state: { nodes: { n0: { x: 0 } } },
    });
    const states: string[] = [];
    client.on('state', (change) => states.push(change.state));
    const applied = handle.submit([set('a', 1)]); // applied as 6; its ack is lost
    const forgotten = handle.submit([set('b', 2)]); // applied, but the server forgot it
    const unapplied = handle.submit([set('c', 3)]); // never reached the server
    for (const cseq of [1, 2, 3]) expect((await connection.next('op')).cseq).toBe(cseq);
    connection.terminate();

    const second = await server.nextConnection();
    expect(second.clientId).toBe(client.clientId);
    // Offline: a new submit waits in the pending layer.
    const offline = handle.submit([set('d', 4)]);
    const join = await second.next('join');
    expect(join).toMatchObject({ doc: 'doc-1', since: 5, epoch: 'e1' });
    // Nothing but the join before the joined: ops need the join first.
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(second.peek()).toEqual([]);

    const resync = nextEvent(handle, 'resync');
    second.joinedEvents(join, {
      epoch: 'e1',
      seq: 8,
      events: [
        { seq: 6, client: client.clientId, cseq: 1, ops: [set('a', 1)] },
        { seq: 7, client: 'other', cseq: 9, ops: [set('o', 7)] },
        { seq: 8, client: client.clientId, cseq: 2, ops: [set('b', 2)] },
      ],
    });
    expect(await resync).toMatchObject({ snapshot: false, seq: 8 });
    expect(await applied).toEqual({ seq: 6, dup: false });

    // cseq 2 was among the events too: only 3 and 4 are resent, in order, same cseq.
    const resent = [await second.next('op'), await second.next('op')];
    expect(resent.map((m) => [m.cseq, m.ops])).toEqual([
      [3, [set('c', 3)]],
      [4, [set('d', 4)]],
    ]);
    second.send({ type: 'ack', doc: 'doc-1', cseq: 3, seq: null, dup: true });
    second.send({ type: 'ack', doc: 'doc-1', cseq: 4, seq: 9 });
    expect(await forgotten).toEqual({ seq: 8, dup: false });
    // A null seq is no proof that it was applied: the submit does not claim it was saved.
    await expect(unapplied).rejects.toMatchObject({ code: 'UNCONFIRMED', cseq: 3 });
    expect(await offline).toEqual({ seq: 9, dup: false });
    expect(handle.seq).toBe(9);
    expect(handle.pendingCount).toBe(0);
    // cseq 3 was dropped: the server will not apply it again, and the state shows what it has.
    expect(handle.state).toEqual({
      nodes: { n0: { x: 0 }, a: { x: 1 }, o: { x: 7 }, b: { x: 2 }, d: { x: 4 } },
    });
    expect(states).toEqual(['reconnecting', 'open']);
  });

  it('places a dup ack with a seq after a snapshot re-join without applying it twice', async () => {
    const server = await startServer();
    const { connection, handle } = await joinedClient(server, { seq: 2 });
    const counter = handle.submit([set('n', 1)]);
    await connection.next('op');
    connection.close(1001, 'shutting down');

    const second = await server.nextConnection();
    const join = await second.next('join');
    expect(join).toMatchObject({ since: 2, epoch: 'e1' });
    // History no longer kept: a snapshot that already holds our op (as event 3).
    second.joinedSnapshot(join, {
      epoch: 'e1',
      seq: 4,
      state: { nodes: { n: { x: 1 }, p: { x: 4 } } },
    });
    const resent = await second.next('op');
    expect(resent.cseq).toBe(1);
    second.send({ type: 'ack', doc: 'doc-1', cseq: 1, seq: 3, dup: true });
    expect(await counter).toEqual({ seq: 3, dup: true });
    expect(handle.seq).toBe(4);
    expect(handle.state).toEqual({ nodes: { n: { x: 1 }, p: { x: 4 } } });
  });

  it('replaces the state on an epoch change and applies pending ops again in the new epoch', async () => {
    const server = await startServer();
    const { connection, handle } = await joinedClient(server, {
      seq: 9,
      state: { nodes: { old: { x: 1 } } },
    });
    const pending = handle.submit([set('mine', 5)]);
    await connection.next('op');
    connection.terminate();

    const second = await server.nextConnection();
    const join = await second.next('join');
    expect(join).toMatchObject({ since: 9, epoch: 'e1' });
    const changes: Array<DocumentEvents['change']> = [];
    handle.on('change', (change) => changes.push(change));
    const resync = nextEvent(handle, 'resync');
    second.joinedSnapshot(join, { epoch: 'e2', seq: 0, state: {} });
    expect(await resync).toEqual({ snapshot: true, epochChanged: true, epoch: 'e2', seq: 0 });
    expect(changes[0]).toEqual({ cause: 'snapshot', seq: 0 });
    // The old state is gone; our pending op is still shown on top of the new one.
    expect(handle.state).toEqual({ nodes: { mine: { x: 5 } } });
    expect(handle.confirmedState).toEqual({});
    expect(handle.epoch).toBe('e2');

    const resent = await second.next('op');
    expect(resent.cseq).toBe(1);
    second.send({ type: 'ack', doc: 'doc-1', cseq: 1, seq: 1 });
    expect(await pending).toEqual({ seq: 1, dup: false });
    expect(handle.confirmedState).toEqual({ nodes: { mine: { x: 5 } } });
  });

  it('keeps joining a document whose first join was cut off', async () => {
    const server = await startServer();
    const { client, connection } = await joinedClient(server);
    const joining = client.join('doc-2');
    await connection.next('join');
    connection.terminate();
    const second = await server.nextConnection();
    const joins = [await second.next('join'), await second.next('join')];
    expect(joins.map((j) => [j.doc, j.since])).toEqual([
      ['doc-1', 0],
      ['doc-2', undefined],
    ]);
    const doc2 = joins[1];
    if (!doc2) throw new Error('unreachable');
    second.joinedSnapshot(doc2, { epoch: 'x', seq: 3, state: { c: { i: { v: 1 } } } });
    expect((await joining).state).toEqual({ c: { i: { v: 1 } } });
  });

  it('retries a re-join refused for now, and gives up on one refused for good', async () => {
    const server = await startServer();
    const { client, connection, handle } = await joinedClient(server);
    connection.terminate();
    const second = await server.nextConnection();
    const first = await second.next('join');
    second.send({
      type: 'error',
      code: 'UNAVAILABLE',
      message: 'redis down',
      doc: 'doc-1',
      ref: first.ref,
    });
    const retried = await second.next('join');
    expect(retried).toMatchObject({ since: 0, epoch: 'e1' });
    const failed = nextEvent(handle, 'error');
    second.send({
      type: 'error',
      code: 'FORBIDDEN',
      message: 'revoked',
      doc: 'doc-1',
      ref: retried.ref,
    });
    expect(await failed).toMatchObject({ code: 'FORBIDDEN', doc: 'doc-1' });
    expect(client.document('doc-1')).toBeUndefined();
    await expect(handle.submit([set('a', 1)])).rejects.toMatchObject({ code: 'CLIENT_CLOSED' });
  });
});

describe('an unprompted joined (the server started the document over)', () => {
  it('replaces the state, emits resync and resends pending ops in the new epoch', async () => {
    const server = await startServer();
    const { connection, handle } = await joinedClient(server, { seq: 5 });
    const pending = handle.submit([set('mine', 1)]);
    const first = await connection.next('op');
    const resync = nextEvent(handle, 'resync');
    connection.send({
      type: 'joined',
      doc: 'doc-1',
      epoch: 'e2',
      seq: 0,
      state: { nodes: { fresh: { x: 0 } } },
      presence: [],
    });
    expect(await resync).toEqual({ snapshot: true, epochChanged: true, epoch: 'e2', seq: 0 });
    const again = await connection.next('op');
    expect(again).toMatchObject({ cseq: (first as { cseq: number }).cseq });
    connection.send({ type: 'ack', doc: 'doc-1', cseq: (first as { cseq: number }).cseq, seq: 1 });
    expect(await pending).toEqual({ seq: 1, dup: false });
    expect(handle.epoch).toBe('e2');
    expect(handle.state).toEqual({ nodes: { fresh: { x: 0 }, mine: { x: 1 } } });
  });
});
