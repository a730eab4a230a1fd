import { describe, expect, it } from 'vitest';
import type { FlowError } from '../../src/client';
import type { Op } from '../../src/protocol/messages';
import { createClient, joinedClient, startServer } from './helpers';

const setX = (x: number): Op => ({ op: 'set', coll: 'nodes', id: 'n1', value: { x } });

describe('what the SDK takes as proof that an op was saved', () => {
  it('does not resolve a submit answered dup with a null seq', async () => {
    const server = await startServer();
    const { connection, handle } = await joinedClient(server);
    const submitted = handle.submit([setX(1)]);
    const op = await connection.next('op');
    connection.send({ type: 'ack', doc: 'doc-1', cseq: op.cseq, seq: null, dup: true });
    await expect(submitted).rejects.toMatchObject({ code: 'UNCONFIRMED', cseq: op.cseq });
    expect(handle.pendingCount).toBe(0);
    expect(handle.state).toEqual({});
  });

  it('does not take an event of another connection with its client id as its own op', async () => {
    const server = await startServer();
    const { connection, handle } = await joinedClient(
      server,
      {},
      { client: 'tab', initialCseq: 10 },
    );
    const mine = handle.submit([setX(1)]);
    const first = await connection.next('op');
    expect(first.cseq).toBe(10);
    // A duplicated tab with the same id got cseq 10 applied first, with other ops.
    connection.terminate();
    const second = await server.nextConnection();
    const join = await second.next('join');
    second.joinedEvents(join, {
      epoch: 'e1',
      seq: 1,
      events: [{ seq: 1, client: 'tab', cseq: 10, ops: [setX(99)] }],
    });
    // Ours is sent again under a fresh cseq, and resolves with its own seq.
    const resent = await second.next('op');
    expect(resent.cseq).toBeGreaterThan(10);
    expect(resent.ops).toEqual([setX(1)]);
    expect(handle.confirmedState).toEqual({ nodes: { n1: { x: 99 } } });
    second.send({ type: 'ack', doc: 'doc-1', cseq: resent.cseq, seq: 2 });
    await expect(mine).resolves.toEqual({ seq: 2, dup: false });
    expect(handle.state).toEqual({ nodes: { n1: { x: 1 } } });
  });
});

describe('leave() with ops in flight', () => {
  it('hands back the real answers and keeps what was applied', async () => {
    const server = await startServer();
    const { connection, handle } = await joinedClient(server);
    const applied = handle.submit([setX(1)]);
    const refused = handle.submit([{ op: 'set', coll: 'nodes', id: 'n2', value: { y: 1 } }]);
    const a = await connection.next('op');
    const b = await connection.next('op');
    let left = false;
    const leaving = handle.leave().then(() => (left = true));
    const leave = await connection.next('leave');
    connection.send({ type: 'left', doc: 'doc-1', ref: leave.ref });
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(left).toBe(false);
    // The server answers the ops after the leave (PROTOCOL.md section 5).
    connection.send({ type: 'ack', doc: 'doc-1', cseq: a.cseq, seq: 1 });
    connection.send({
      type: 'error',
      code: 'UNAVAILABLE',
      message: 'Redis is not reachable; nothing was applied, retry later',
      doc: 'doc-1',
      cseq: b.cseq,
    });
    await expect(applied).resolves.toEqual({ seq: 1, dup: false });
    await expect(refused).rejects.toMatchObject({ code: 'UNAVAILABLE' });
    await leaving;
    expect(handle.state).toEqual({ nodes: { n1: { x: 1 } } });
  });

  it('lets a new join of the document go on while the old ops are answered', async () => {
    const server = await startServer();
    const { client, connection, handle } = await joinedClient(server);
    const old = handle.submit([setX(1)]);
    const a = await connection.next('op');
    void handle.leave();
    const leave = await connection.next('leave');
    connection.send({ type: 'left', doc: 'doc-1', ref: leave.ref });
    const again = client.join('doc-1');
    const join = await connection.next('join');
    connection.joinedSnapshot(join, { epoch: 'e1', seq: 0, state: {} });
    const handle2 = await again;
    expect(handle2).not.toBe(handle);
    connection.send({ type: 'ack', doc: 'doc-1', cseq: a.cseq, seq: 1 });
    await expect(old).resolves.toEqual({ seq: 1, dup: false });
    // The new handle did not take the old op's ack as a gap to re-join for.
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(connection.peek().filter((m) => m.type === 'join')).toHaveLength(0);
  });

  it('reports ops whose answer the lost connection took as unconfirmed', async () => {
    const server = await startServer();
    const { connection, handle } = await joinedClient(server);
    const submitted = handle.submit([setX(1)]);
    await connection.next('op');
    const leaving = handle.leave();
    await connection.next('leave');
    connection.terminate();
    await expect(submitted).rejects.toMatchObject({ code: 'UNCONFIRMED' });
    await leaving;
  });
});

describe('a token the server stops accepting (4401)', () => {
  it('asks a token function again', async () => {
    const server = await startServer();
    let asked = 0;
    const client = createClient(server, { token: () => `token-${++asked}` });
    void client.join('doc-1');
    const first = await server.nextConnection();
    expect(first.query.get('token')).toBe('token-1');
    first.close(4401, 'token expired');
    const second = await server.nextConnection();
    expect(second.query.get('token')).toBe('token-2');
    expect(client.state).not.toBe('closed');
  });

  it('ends a client with a fixed token with UNAUTHORIZED, and says why', async () => {
    const server = await startServer();
    const { client, connection, handle } = await joinedClient(server, {}, { token: 'fixed' });
    const errors: FlowError[] = [];
    client.on('error', (error) => errors.push(error));
    const submitted = handle.submit([setX(1)]);
    await connection.next('op');
    connection.close(4401, 'token expired');
    await expect(submitted).rejects.toMatchObject({ code: 'UNAUTHORIZED' });
    expect(client.state).toBe('closed');
    expect(errors.some((e) => e.code === 'UNAUTHORIZED' && /token function/.test(e.message))).toBe(
      true,
    );
  });
});
