import { describe, expect, it } from 'vitest';
import { checkHistories, type ServerDocument } from '../../src/loadtest/checker';
import { HistoryRecorder, type ClientDocHistory } from '../../src/loadtest/history';
import { stateDigest } from '../../src/loadtest/state-digest';

/*
 * One document D, three clients A, B and C. In the clean run the server
 * applies A#1, B#1, A#2, C#1 as seqs 1-4; each sender gets acks, the others
 * events. Each test plants one fault in one client's history.
 */
const DOC = 'D';
const EPOCH = 'epoch-1';
const FINAL = stateDigest({ nodes: { a: { x: 2 }, b: { x: 1 }, c: { x: 1 } } });
const server = (seq = 4, digest = FINAL): Map<string, ServerDocument | null> =>
  new Map([[DOC, { epoch: EPOCH, seq, digest }]]);

const recorder = (client: string) => new HistoryRecorder(client, DOC).joinedSnapshot(EPOCH, 0);
const done = (r: HistoryRecorder, seq = 4, digest = FINAL): ClientDocHistory =>
  r.finish({ epoch: EPOCH, seq, digest }).toHistory();

function cleanA(): HistoryRecorder {
  return recorder('A').created(1).created(2).ack(1, 1).event(2, 'B', 1).ack(3, 2).event(4, 'C', 1);
}
function cleanB(): HistoryRecorder {
  return recorder('B').created(1).event(1, 'A', 1).ack(2, 1).event(3, 'A', 2).event(4, 'C', 1);
}
function cleanC(): HistoryRecorder {
  return recorder('C').created(1).event(1, 'A', 1).event(2, 'B', 1).event(3, 'A', 2).ack(4, 1);
}

function check(a: HistoryRecorder, b: HistoryRecorder, c: HistoryRecorder, answer = server()) {
  return checkHistories([done(a), done(b), done(c)], answer);
}

describe('load test checker', () => {
  it('passes a clean run', () => {
    const result = check(cleanA(), cleanB(), cleanC());
    expect(result.anomalies).toEqual([]);
    expect(result).toMatchObject({ ok: true, total: 0, documents: 1, histories: 3, seqs: 4 });
  });

  it('passes a reconnect that catches up with since, and a resend answered by a duplicate ack', () => {
    // B loses its connection after seq 2 with its op applied but not acked...
    const b = recorder('B')
      .created(1)
      .event(1, 'A', 1)
      .disconnected()
      // ...re-joins with since 1, gets seqs 2-4 (its own op among them), resends cseq 1.
      .joinedEvents(EPOCH, 4, 1)
      .catchUp(2, 'B', 1)
      .catchUp(3, 'A', 2)
      .catchUp(4, 'C', 1)
      .dupAck(2, 1);
    const result = check(cleanA(), b, cleanC());
    expect(result.anomalies).toEqual([]);
  });

  it('passes a re-join answered with a snapshot and a duplicate ack without seq', () => {
    const c = recorder('C')
      .created(1)
      .event(1, 'A', 1)
      .disconnected()
      .joinedSnapshot(EPOCH, 4, 1)
      .dupAck(null, 1);
    expect(check(cleanA(), cleanB(), c).anomalies).toEqual([]);
  });

  it('reports a gap while connected', () => {
    const b = recorder('B').created(1).event(1, 'A', 1).ack(2, 1).event(4, 'C', 1);
    const result = check(cleanA(), b, cleanC());
    expect(result.ok).toBe(false);
    expect(result.counts.gap).toBe(1);
    expect(result.counts.hole).toBe(1);
    expect(result.anomalies[0]).toMatchObject({ kind: 'gap', doc: DOC, client: 'B', seq: 4 });
  });

  it('reports a catch-up that does not continue from since', () => {
    const b = recorder('B')
      .created(1)
      .event(1, 'A', 1)
      .ack(2, 1)
      .disconnected()
      .joinedEvents(EPOCH, 4, 2)
      .catchUp(4, 'C', 1);
    const result = check(cleanA(), b, cleanC());
    expect(result.counts['catch-up-gap']).toBe(1);
    expect(result.counts.hole).toBe(1);
  });

  it('reports a duplicate', () => {
    const c = recorder('C')
      .created(1)
      .event(1, 'A', 1)
      .event(2, 'B', 1)
      .event(2, 'B', 1)
      .event(3, 'A', 2)
      .ack(4, 1);
    const result = check(cleanA(), cleanB(), c);
    expect(result.counts).toEqual({ duplicate: 1 });
    expect(result.anomalies[0]).toMatchObject({ kind: 'duplicate', client: 'C', seq: 2 });
  });

  it("reports a client's ops applied out of cseq order", () => {
    // Everybody agrees, but A#2 became seq 1 and A#1 seq 3.
    const a = recorder('A').created(1).created(2).ack(1, 2).event(2, 'B', 1).ack(3, 1);
    a.event(4, 'C', 1);
    const b = recorder('B').created(1).event(1, 'A', 2).ack(2, 1).event(3, 'A', 1);
    b.event(4, 'C', 1);
    const c = recorder('C').created(1).event(1, 'A', 2).event(2, 'B', 1).event(3, 'A', 1);
    c.ack(4, 1);
    const result = check(a, b, c);
    expect(result.counts).toEqual({ 'cseq-order': 1 });
    expect(result.anomalies[0]).toMatchObject({ kind: 'cseq-order', client: 'A', seq: 3 });
  });

  it('reports an acked op that is not in the history', () => {
    // A got an ack of cseq 3 as seq 5; the server is at seq 4 and nobody saw seq 5.
    const a = cleanA().created(3).ack(5, 3);
    const result = checkHistories([done(a, 5), done(cleanB()), done(cleanC())], server());
    expect(result.counts['lost-acked-op']).toBe(1);
    expect(result.anomalies.find((x) => x.kind === 'lost-acked-op')).toMatchObject({
      client: 'A',
      seq: 5,
    });
  });

  it('reports an op acked at a seq where the others saw another op', () => {
    const c = recorder('C').created(1).event(1, 'A', 1).event(2, 'B', 1).event(3, 'B', 7);
    c.ack(4, 1);
    const result = check(cleanA(), cleanB(), c);
    expect(result.counts.divergent).toBe(1);
    expect(result.counts['lost-acked-op']).toBe(1);
  });

  it('reports a divergent event at one seq', () => {
    const c = recorder('C').created(1).event(1, 'A', 1).event(2, 'B', 2).event(3, 'A', 2);
    c.ack(4, 1);
    const result = check(cleanA(), cleanB(), c);
    expect(result.counts.divergent).toBe(1);
    expect(result.anomalies.find((x) => x.kind === 'divergent')).toMatchObject({ seq: 2 });
    expect(result.anomalies.find((x) => x.kind === 'divergent')?.detail).toContain('B#2');
  });

  it('reports an op applied twice', () => {
    const c = recorder('C').created(1).event(1, 'A', 1).event(2, 'B', 1).event(3, 'A', 1);
    c.ack(4, 1);
    const result = check(cleanA(), cleanB(), c);
    expect(result.counts['applied-twice']).toBe(1);
  });

  it('reports a duplicate ack that names another seq', () => {
    const b = cleanB().dupAck(3, 1);
    expect(check(cleanA(), b, cleanC()).counts['dup-ack-mismatch']).toBe(1);
  });

  it('reports op messages never answered', () => {
    const c = cleanC().created(2).created(3);
    const result = check(cleanA(), cleanB(), c);
    expect(result.counts).toEqual({ unacked: 1 });
    expect(result.anomalies[0]?.detail).toContain('cseq 2-3');
  });

  it('reports an op refused with an error that was applied anyway', () => {
    const c = recorder('C').created(1).event(1, 'A', 1).event(2, 'B', 1).event(3, 'A', 2);
    c.refusedOp(1, 'UNAVAILABLE');
    const a = cleanA();
    const b = cleanB();
    const result = check(a, b, c);
    // A and B saw C#1 as seq 4 although C was told it was refused.
    expect(result.counts['refused-but-applied']).toBe(1);
    // ...and C's replica claims seq 4 without having received it.
    expect(result.counts.hole).toBe(1);
  });

  it('reports an event for the client itself', () => {
    const a = cleanA().event(5, 'A', 3);
    const result = checkHistories([done(a, 5), done(cleanB()), done(cleanC())], server(5));
    expect(result.counts['own-event']).toBe(1);
  });

  it('reports a final state that differs from the server', () => {
    const wrong = stateDigest({ nodes: { a: { x: 2 }, b: { x: 1 } } });
    const result = checkHistories(
      [done(cleanA()), done(cleanB()), done(cleanC(), 4, wrong)],
      server(),
    );
    expect(result.counts).toEqual({ 'state-mismatch': 1 });
    expect(result.anomalies[0]).toMatchObject({ kind: 'state-mismatch', client: 'C', seq: 4 });
  });

  it('reports a client that ended behind the server, and a document the server lost', () => {
    const behind = checkHistories([done(cleanA()), done(cleanB(), 3), done(cleanC())], server());
    expect(behind.counts).toEqual({ behind: 1 });
    const missing = checkHistories(
      [done(cleanA()), done(cleanB()), done(cleanC())],
      new Map([[DOC, null]]),
    );
    expect(missing.counts['missing-document']).toBe(1);
  });

  it('reports an epoch change', () => {
    const c = cleanC().disconnected().joinedSnapshot('epoch-2', 0, 4);
    const result = checkHistories(
      [
        done(cleanA()),
        done(cleanB()),
        c.finish({ epoch: 'epoch-2', seq: 0, digest: FINAL }).toHistory(),
      ],
      server(),
    );
    expect(result.counts['epoch-changed']).toBeGreaterThanOrEqual(1);
  });

  it('compares states whatever their key order', () => {
    expect(stateDigest({ n: { a: { x: 1, y: 2 } }, m: {} })).toBe(
      stateDigest({ m: {}, n: { a: { y: 2, x: 1 } } }),
    );
    expect(stateDigest({ n: { a: { x: 1 } } })).not.toBe(stateDigest({ n: { a: { x: 2 } } }));
  });
});
