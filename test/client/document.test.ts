import { describe, expect, it } from 'vitest';
import type { ChangeCause, FlowError } from '../../src/client';
import type { EventMessage, Op } from '../../src/protocol/messages';
import { createClient, eventually, joinedClient, nextEvent, startServer } from './helpers';

const setX = (x: number): Op => ({ op: 'set', coll: 'nodes', id: 'n1', value: { x } });

function event(seq: number, ops: Op[], client = 'other', cseq = seq): EventMessage {
  return { type: 'event', doc: 'doc-1', seq, client, cseq, ops };
}

describe('DocumentHandle: join', () => {
  it('joins with a snapshot: state, seq, epoch, presence of the others', async () => {
    const server = await startServer();
    const client = createClient(server);
    const joining = client.join('doc-1', { presence: { cursor: 3 } });
    const connection = await server.nextConnection();
    const join = await connection.next('join');
    expect(join).toEqual({ type: 'join', doc: 'doc-1', presence: { cursor: 3 }, ref: join.ref });
    expect(join.ref).toMatch(/^r\d+$/);
    connection.joinedSnapshot(join, {
      epoch: 'e1',
      seq: 5,
      state: { nodes: { n1: { x: 10 } } },
      presence: [
        { client: 'other', user: 'bob', state: { cursor: 1 } },
        { client: client.clientId, user: 'me', state: { cursor: 3 } },
      ],
    });

    const handle = await joining;
    expect(handle.state).toEqual({ nodes: { n1: { x: 10 } } });
    expect([handle.seq, handle.epoch, handle.joined]).toEqual([5, 'e1', true]);
    expect([...handle.presence.keys()]).toEqual(['other']);
    expect(client.document('doc-1')).toBe(handle);
    // A second join of the same document shares the handle and sends nothing.
    expect(await client.join('doc-1')).toBe(handle);
    expect(connection.peek()).toEqual([]);
  });

  it('rejects the join the error names by ref, and only that one', async () => {
    const server = await startServer();
    const client = createClient(server);
    const denied = client.join('secret');
    const allowed = client.join('doc-1');
    const connection = await server.nextConnection();
    const first = await connection.next('join');
    const second = await connection.next('join');
    connection.send({
      type: 'error',
      code: 'FORBIDDEN',
      message: 'no grant',
      doc: 'secret',
      ref: first.ref,
    });
    connection.joinedSnapshot(second, { epoch: 'e1', seq: 0, state: {} });

    await expect(denied).rejects.toMatchObject({ code: 'FORBIDDEN', message: 'no grant' });
    expect((await allowed).doc).toBe('doc-1');
    expect(client.document('secret')).toBeUndefined();
  });

  it('refuses a bad document id locally', async () => {
    const server = await startServer();
    const client = createClient(server);
    await expect(client.join('bad doc!')).rejects.toMatchObject({ code: 'BAD_REQUEST' });
    expect(client.state).toBe('idle');
  });
});

describe('DocumentHandle: submit', () => {
  it('shows the change at once and confirms it with the ack', async () => {
    const server = await startServer();
    const { connection, handle } = await joinedClient(server, { seq: 5 });
    const causes: ChangeCause[] = [];
    handle.on('change', (change) => causes.push(change.cause));

    const submitted = handle.submit([setX(1)]);
    // Optimistic: visible before the server said anything, not yet confirmed.
    expect(handle.state).toEqual({ nodes: { n1: { x: 1 } } });
    expect(handle.confirmedState).toEqual({});
    expect(handle.pendingCount).toBe(1);
    const op = await connection.next('op');
    expect(op).toEqual({ type: 'op', doc: 'doc-1', cseq: 1, ops: [setX(1)] });

    connection.send({ type: 'ack', doc: 'doc-1', cseq: 1, seq: 6 });
    expect(await submitted).toEqual({ seq: 6, dup: false });
    expect(handle.seq).toBe(6);
    expect(handle.confirmedState).toEqual({ nodes: { n1: { x: 1 } } });
    expect(handle.pendingCount).toBe(0);
    // The ack confirmed exactly what was shown: no second change.
    expect(causes).toEqual(['local']);

    void handle.submit([setX(2)]);
    expect((await connection.next('op')).cseq).toBe(2);
  });

  it('does not let the caller change a submitted op afterwards', async () => {
    const server = await startServer();
    const { connection, handle } = await joinedClient(server);
    const value = { x: 1 };
    void handle.submit([{ op: 'set', coll: 'nodes', id: 'n1', value }]);
    value.x = 99;
    expect(handle.state).toEqual({ nodes: { n1: { x: 1 } } });
    expect((await connection.next('op')).ops).toEqual([setX(1)]);
  });

  it('rejects the submit an error names by cseq and rolls its change back', async () => {
    const server = await startServer();
    const { client, connection, handle } = await joinedClient(server);
    const errors: FlowError[] = [];
    client.on('error', (error) => errors.push(error));
    const refused = handle.submit([setX(1)]);
    const accepted = handle.submit([{ op: 'set', coll: 'nodes', id: 'n2', value: { y: 2 } }]);
    await connection.next('op');
    await connection.next('op');

    connection.send({
      type: 'error',
      code: 'RATE_LIMITED',
      message: 'slow down',
      doc: 'doc-1',
      cseq: 1,
    });
    await expect(refused).rejects.toMatchObject({ code: 'RATE_LIMITED', doc: 'doc-1', cseq: 1 });
    expect(handle.state).toEqual({ nodes: { n2: { y: 2 } } });

    connection.send({ type: 'ack', doc: 'doc-1', cseq: 2, seq: 1 });
    expect(await accepted).toEqual({ seq: 1, dup: false });
    expect(handle.confirmedState).toEqual({ nodes: { n2: { y: 2 } } });
    expect(errors).toEqual([]);
  });

  it('resends an op answered UNAVAILABLE with the same cseq, and the later ones in order, keeping the change', async () => {
    const server = await startServer();
    const { client, connection, handle } = await joinedClient(server);
    const errors: FlowError[] = [];
    client.on('error', (error) => errors.push(error));
    const first = handle.submit([setX(1)]);
    const second = handle.submit([{ op: 'set', coll: 'nodes', id: 'n2', value: { y: 2 } }]);
    await connection.next('op');
    await connection.next('op');
    for (const cseq of [1, 2]) {
      connection.send({ type: 'error', code: 'UNAVAILABLE', message: 'later', doc: 'doc-1', cseq });
    }
    const resent = [await connection.next('op'), await connection.next('op')];
    expect(resent.map((op) => op.cseq)).toEqual([1, 2]);
    expect(resent[0]?.ops).toEqual([setX(1)]);
    expect(handle.state).toEqual({ nodes: { n1: { x: 1 }, n2: { y: 2 } } });
    connection.send({ type: 'ack', doc: 'doc-1', cseq: 1, seq: 1 });
    connection.send({ type: 'ack', doc: 'doc-1', cseq: 2, seq: 2 });
    expect(await first).toEqual({ seq: 1, dup: false });
    expect(await second).toEqual({ seq: 2, dup: false });
    expect(errors).toEqual([]);
  });

  it('sends an op answered UNAVAILABLE under a fresh cseq once a later op of its client was placed', async () => {
    const server = await startServer();
    const { connection, handle } = await joinedClient(server);
    const first = handle.submit([setX(1)]);
    const second = handle.submit([{ op: 'set', coll: 'nodes', id: 'n2', value: { y: 2 } }]);
    const a = await connection.next('op');
    const b = await connection.next('op');
    connection.send({ type: 'ack', doc: 'doc-1', cseq: b.cseq, seq: 1 });
    expect(await second).toEqual({ seq: 1, dup: false });
    // The server no longer takes a.cseq (a later cseq was applied): "submit it again".
    connection.send({
      type: 'error',
      code: 'UNAVAILABLE',
      message: 'not applied',
      doc: 'doc-1',
      cseq: a.cseq,
    });
    const again = await connection.next('op');
    expect(again.cseq).toBeGreaterThan(b.cseq);
    expect(again.ops).toEqual([setX(1)]);
    connection.send({ type: 'ack', doc: 'doc-1', cseq: again.cseq, seq: 2 });
    expect(await first).toEqual({ seq: 2, dup: false });
    expect(handle.state).toEqual({ nodes: { n1: { x: 1 }, n2: { y: 2 } } });
  });

  it('on leave, fails an op refused UNAVAILABLE at once and waits for the answer still owed for a later one', async () => {
    const server = await startServer();
    // A long resend pause: the leave comes before the refused op goes again.
    const { connection, handle } = await joinedClient(
      server,
      {},
      { reconnect: { minDelayMs: 60_000, maxDelayMs: 60_000 } },
    );
    const refused = handle.submit([setX(1)]);
    const owed = handle.submit([{ op: 'set', coll: 'nodes', id: 'n2', value: { y: 2 } }]);
    await connection.next('op');
    await connection.next('op');
    connection.send({
      type: 'error',
      code: 'UNAVAILABLE',
      message: 'later',
      doc: 'doc-1',
      cseq: 1,
    });
    // Messages arrive in order: once this event is seen, the refusal was handled.
    const seen = nextEvent(handle, 'event');
    connection.send(event(1, [{ op: 'set', coll: 'nodes', id: 'n3', value: { z: 3 } }]));
    await seen;
    const leaving = handle.leave();
    await expect(refused).rejects.toMatchObject({ code: 'CLIENT_CLOSED' });
    const leave = await connection.next('leave');
    connection.send({ type: 'left', doc: 'doc-1', ref: leave.ref });
    // The server accepted cseq 2 before cseq 1 was refused: its answer comes after the leave.
    connection.send({ type: 'ack', doc: 'doc-1', cseq: 2, seq: 2 });
    await expect(owed).resolves.toEqual({ seq: 2, dup: false });
    await leaving;
  });

  it('refuses invalid ops locally, before any optimistic change', async () => {
    const server = await startServer();
    const { connection, handle } = await joinedClient(server);
    const reserved = handle.submit([
      { op: 'set', coll: '__proto__', id: 'x', value: { polluted: true } },
    ]);
    await expect(reserved).rejects.toMatchObject({ code: 'BAD_REQUEST' });
    await expect(handle.submit([])).rejects.toMatchObject({ code: 'BAD_REQUEST' });
    const big = { op: 'set', coll: 'c', id: 'i', value: { s: 'x'.repeat(70_000) } } as const;
    await expect(handle.submit([big])).rejects.toMatchObject({ code: 'BAD_REQUEST' });
    const chunk = (id: string): Op => ({
      op: 'set',
      coll: 'c',
      id,
      value: { s: 'y'.repeat(15_000) },
    });
    const tooLarge = handle.submit(['a', 'b', 'c', 'd', 'e'].map(chunk));
    await expect(tooLarge).rejects.toMatchObject({ code: 'TOO_LARGE' });
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(handle.state).toEqual({});
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(connection.peek()).toEqual([]);
  });

  it('emits an error without a ref or cseq on the client', async () => {
    const server = await startServer();
    const { client, connection } = await joinedClient(server);
    const error = nextEvent(client, 'error');
    connection.send({ type: 'error', code: 'INTERNAL', message: 'bug, id 42' });
    expect(await error).toMatchObject({ code: 'INTERNAL', message: 'bug, id 42' });
  });
});

describe('DocumentHandle: server order', () => {
  it('applies events from others in seq order and ignores duplicates', async () => {
    const server = await startServer();
    const { connection, handle } = await joinedClient(server, { seq: 5 });
    const seen: number[] = [];
    handle.on('event', (e) => seen.push(e.seq));
    connection.send(event(6, [setX(6)]));
    connection.send(event(7, [{ op: 'patch', coll: 'nodes', id: 'n1', fields: { y: 7 } }]));
    connection.send(event(7, [setX(99)]));
    connection.send(event(5, [setX(98)]));
    await eventually(() => expect(handle.seq).toBe(7));
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(handle.state).toEqual({ nodes: { n1: { x: 6, y: 7 } } });
    expect(seen).toEqual([6, 7]);
  });

  it('ends in the server order when another op on the entity came before our own', async () => {
    const server = await startServer();
    const { connection, handle } = await joinedClient(server, {
      seq: 5,
      state: { nodes: { n1: { x: 0 } } },
    });
    const mine = handle.submit([setX(1)]);
    await connection.next('op');
    // The server applied the other client's patch as 6, our set as 7.
    connection.send(event(6, [{ op: 'patch', coll: 'nodes', id: 'n1', fields: { y: 2 } }]));
    await eventually(() => expect(handle.seq).toBe(6));
    // Our pending set stays on top of the confirmed patch.
    expect(handle.confirmedState).toEqual({ nodes: { n1: { x: 0, y: 2 } } });
    expect(handle.state).toEqual({ nodes: { n1: { x: 1 } } });
    connection.send({ type: 'ack', doc: 'doc-1', cseq: 1, seq: 7 });
    expect(await mine).toEqual({ seq: 7, dup: false });
    // set after patch: the patch's y is gone, as on the server.
    expect(handle.state).toEqual({ nodes: { n1: { x: 1 } } });
    expect(handle.confirmedState).toEqual({ nodes: { n1: { x: 1 } } });
  });

  it('ends in the server order when our op came first', async () => {
    const server = await startServer();
    const { connection, handle } = await joinedClient(server, {
      seq: 5,
      state: { nodes: { n1: { x: 0 } } },
    });
    const mine = handle.submit([setX(1)]);
    await connection.next('op');
    connection.send({ type: 'ack', doc: 'doc-1', cseq: 1, seq: 6 });
    connection.send(event(7, [{ op: 'patch', coll: 'nodes', id: 'n1', fields: { y: 2 } }]));
    expect(await mine).toEqual({ seq: 6, dup: false });
    await eventually(() => expect(handle.seq).toBe(7));
    expect(handle.state).toEqual({ nodes: { n1: { x: 1, y: 2 } } });
  });

  it('keeps later pending ops on top when an earlier one is placed between remote events', async () => {
    const server = await startServer();
    const { connection, handle } = await joinedClient(server, { seq: 0 });
    const first = handle.submit([setX(1)]);
    const second = handle.submit([{ op: 'patch', coll: 'nodes', id: 'n1', fields: { z: 1 } }]);
    await connection.next('op');
    await connection.next('op');
    // Server order: other del (1), our set (2), other set x=5 (3), our patch (4).
    connection.send(event(1, [{ op: 'del', coll: 'nodes', id: 'n1' }]));
    connection.send({ type: 'ack', doc: 'doc-1', cseq: 1, seq: 2 });
    connection.send(event(3, [setX(5)]));
    await eventually(() => expect(handle.seq).toBe(3));
    expect(handle.state).toEqual({ nodes: { n1: { x: 5, z: 1 } } });
    connection.send({ type: 'ack', doc: 'doc-1', cseq: 2, seq: 4 });
    expect(await first).toEqual({ seq: 2, dup: false });
    expect(await second).toEqual({ seq: 4, dup: false });
    expect(handle.confirmedState).toEqual({ nodes: { n1: { x: 5, z: 1 } } });
  });
});

describe('DocumentHandle: presence and leave', () => {
  it('tracks the presence of others and sends its own', async () => {
    const server = await startServer();
    const { connection, handle } = await joinedClient(server);
    const updates: number[] = [];
    handle.on('presence', (map) => updates.push(map.size));
    connection.send({ type: 'presence', doc: 'doc-1', client: 'b', user: 'bob', state: { c: 1 } });
    connection.send({ type: 'presence', doc: 'doc-1', client: 'c', user: null, state: { c: 2 } });
    connection.send({ type: 'presence', doc: 'doc-1', client: 'b', user: 'bob', state: null });
    await eventually(() => expect(updates).toEqual([1, 2, 1]));
    expect([...handle.presence.values()]).toEqual([{ client: 'c', user: null, state: { c: 2 } }]);

    handle.setPresence({ cursor: 9 });
    expect(await connection.next('presence')).toEqual({
      type: 'presence',
      doc: 'doc-1',
      state: { cursor: 9 },
    });
  });

  it('leaves: answered by ref, later submits reject, a new join starts over', async () => {
    const server = await startServer();
    const { client, connection, handle } = await joinedClient(server);
    const pending = handle.submit([setX(1)]);
    const op = await connection.next('op');
    const leaving = handle.leave();
    const leave = await connection.next('leave');
    expect(leave.doc).toBe('doc-1');
    connection.send({ type: 'left', doc: 'doc-1', ref: leave.ref });
    // An op sent before the leave is still answered, and its submit gets that answer.
    connection.send({ type: 'ack', doc: 'doc-1', cseq: op.cseq, seq: 1 });
    expect(await pending).toEqual({ seq: 1, dup: false });
    await leaving;
    expect(handle.joined).toBe(false);
    await expect(handle.submit([setX(2)])).rejects.toMatchObject({ code: 'CLIENT_CLOSED' });
    expect(client.document('doc-1')).toBeUndefined();

    // Joining again is a new handle; cseq continues after the last one used.
    const again = client.join('doc-1');
    const join = await connection.next('join');
    expect(join.since).toBeUndefined();
    connection.joinedSnapshot(join, { epoch: 'e1', seq: 1, state: {} });
    const handle2 = await again;
    expect(handle2).not.toBe(handle);
    void handle2.submit([setX(3)]);
    expect((await connection.next('op')).cseq).toBe(2);
  });
});
