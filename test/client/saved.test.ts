import { describe, expect, it } from 'vitest';
import { savedSeqOf } from '../../src/protocol';
import { createClient, eventually, joinedClient, nextEvent, startServer } from './helpers';

describe('DocumentHandle: durable storage mark', () => {
  it('has no savedSeq when the server has no document store', async () => {
    const server = await startServer();
    const { client, handle, connection } = await joinedClient(server, { seq: 3 });
    expect(handle.savedSeq).toBeUndefined();
    const seen: number[] = [];
    handle.on('saved', ({ seq }) => seen.push(seq));
    connection.send({ type: 'event', doc: 'doc-1', seq: 4, client: 'o', cseq: 1, ops: [] });
    // The pong comes after the event on the same socket: the SDK has read it.
    await client.ping();
    expect(handle.seq).toBe(4);
    expect(handle.savedSeq).toBeUndefined();
    expect(seen).toEqual([]);
  });

  it('takes savedSeq from joined and follows saved messages upward only', async () => {
    const server = await startServer();
    const client = createClient(server);
    const joining = client.join('doc-1');
    const connection = await server.nextConnection();
    const join = await connection.next('join');
    connection.send({
      type: 'joined',
      doc: 'doc-1',
      ref: join.ref,
      epoch: 'e1',
      seq: 7,
      state: {},
      presence: [],
      savedSeq: 5,
    });
    const handle = await joining;
    expect(handle.savedSeq).toBe(5);

    const seen: number[] = [];
    handle.on('saved', ({ seq }) => seen.push(seq));
    const saved = nextEvent(handle, 'saved');
    connection.send({ type: 'saved', doc: 'doc-1', seq: 7 });
    expect(await saved).toEqual({ seq: 7 });
    expect(handle.savedSeq).toBe(7);

    // An older mark (a late message) and a malformed one change nothing.
    connection.send({ type: 'saved', doc: 'doc-1', seq: 6 });
    connection.send({ type: 'saved', doc: 'doc-1', seq: 'eight' });
    connection.send({ type: 'saved', doc: 'other-doc', seq: 99 });
    connection.send({ type: 'saved', doc: 'doc-1', seq: 9 });
    await eventually(() => expect(handle.savedSeq).toBe(9));
    expect(seen).toEqual([7, 9]);
  });

  it('states the mark afresh on a re-join, and forgets it when the new server has no store', async () => {
    const server = await startServer();
    const client = createClient(server);
    const joining = client.join('doc-1');
    const first = await server.nextConnection();
    const join = await first.next('join');
    first.send({
      type: 'joined',
      doc: 'doc-1',
      ref: join.ref,
      epoch: 'e1',
      seq: 2,
      state: {},
      presence: [],
      savedSeq: 2,
    });
    const handle = await joining;
    expect(handle.savedSeq).toBe(2);

    // A new epoch starts seqs over: a lower mark is the news.
    first.terminate();
    const second = await server.nextConnection();
    const rejoin = await second.next('join');
    const saved = nextEvent(handle, 'saved');
    second.send({
      type: 'joined',
      doc: 'doc-1',
      ref: rejoin.ref,
      epoch: 'e2',
      seq: 1,
      state: {},
      presence: [],
      savedSeq: 0,
    });
    expect(await saved).toEqual({ seq: 0 });
    expect(handle.savedSeq).toBe(0);

    second.terminate();
    const third = await server.nextConnection();
    const again = await third.next('join');
    third.joinedSnapshot(again, { epoch: 'e2', seq: 1, state: {} });
    await nextEvent(handle, 'resync');
    expect(handle.savedSeq).toBeUndefined();
  });

  it('reads only non-negative safe integers as a mark', () => {
    expect([0, 12, 2 ** 53 - 1].map(savedSeqOf)).toEqual([0, 12, 2 ** 53 - 1]);
    expect([-1, 1.5, 2 ** 53, '3', null, undefined, NaN].map(savedSeqOf)).toEqual(
      Array(7).fill(undefined),
    );
  });
});
