import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { DocumentReplica } from '../../src/client/replica';
import { applyMessage, cloneState } from '../../src/document/apply-ops';
import type { DocState, Op } from '../../src/protocol/messages';

const opArb: fc.Arbitrary<Op> = fc.oneof(
  fc.record({
    op: fc.constant('set' as const),
    coll: fc.constantFrom('a', 'b'),
    id: fc.constantFrom('1', '2'),
    value: fc.record({ x: fc.integer({ min: 0, max: 9 }) }),
  }),
  fc.record({
    op: fc.constant('patch' as const),
    coll: fc.constantFrom('a', 'b'),
    id: fc.constantFrom('1', '2'),
    fields: fc.record({ y: fc.oneof(fc.integer({ min: 0, max: 9 }), fc.constant(null)) }),
  }),
  fc.record({
    op: fc.constant('del' as const),
    coll: fc.constantFrom('a', 'b'),
    id: fc.constantFrom('1', '2'),
  }),
);

type Step =
  | { kind: 'submit'; ops: Op[] }
  | { kind: 'serverTakesMine' }
  | { kind: 'serverTakesOther'; ops: Op[] }
  | { kind: 'deliver' };

const stepArb: fc.Arbitrary<Step> = fc.oneof(
  fc.record({
    kind: fc.constant('submit' as const),
    ops: fc.array(opArb, { minLength: 1, maxLength: 3 }),
  }),
  fc.record({ kind: fc.constant('serverTakesMine' as const) }),
  fc.record({
    kind: fc.constant('serverTakesOther' as const),
    ops: fc.array(opArb, { minLength: 1, maxLength: 3 }),
  }),
  fc.record({ kind: fc.constant('deliver' as const) }),
);

type Delivery =
  { kind: 'ack'; seq: number; cseq: number } | { kind: 'event'; seq: number; ops: Op[] };

describe('DocumentReplica', () => {
  it('converges to the server order for any interleaving of own and remote ops', () => {
    fc.assert(
      fc.property(fc.array(stepArb, { maxLength: 60 }), (steps) => {
        const replica = new DocumentReplica();
        replica.reset('e1', 0, {});
        // The server: its state, its snapshot at every seq, what it still has to
        // take from this client, and what it sent that was not delivered yet.
        const server: DocState = {};
        const snapshots: DocState[] = [{}];
        const inFlight: Array<{ cseq: number; ops: Op[] }> = [];
        const outbox: Delivery[] = [];
        let cseq = 0;
        const serverApply = (ops: Op[]): number => {
          applyMessage(server, ops);
          snapshots.push(cloneState(server));
          return snapshots.length - 1;
        };
        const deliver = (): void => {
          const next = outbox.shift();
          if (!next) return;
          expect(replica.position(next.seq)).toBe('next');
          if (next.kind === 'event') replica.confirm(next.seq, next.ops);
          else {
            const pending = replica.findPending(next.cseq);
            expect(pending).toBeDefined();
            replica.confirm(next.seq, pending?.ops ?? [], next.cseq);
          }
        };
        for (const step of steps) {
          if (step.kind === 'submit') {
            replica.addPending(++cseq, step.ops);
            inFlight.push({ cseq, ops: step.ops });
          } else if (step.kind === 'serverTakesMine') {
            const mine = inFlight.shift();
            if (mine) outbox.push({ kind: 'ack', seq: serverApply(mine.ops), cseq: mine.cseq });
          } else if (step.kind === 'serverTakesOther') {
            outbox.push({ kind: 'event', seq: serverApply(step.ops), ops: step.ops });
          } else deliver();

          // The confirmed state is the server's snapshot at the replica's seq...
          expect(replica.confirmedState).toEqual(snapshots[replica.seq]);
          // ...and the visible one is it with the pending messages re-applied in cseq order.
          const expected = cloneState(replica.confirmedState);
          for (const pending of replica.pendingMessages) applyMessage(expected, pending.ops);
          expect(replica.state).toEqual(expected);
        }
        // Let the server take and deliver everything: the client ends where the server is.
        for (const mine of inFlight.splice(0)) {
          outbox.push({ kind: 'ack', seq: serverApply(mine.ops), cseq: mine.cseq });
        }
        while (outbox.length > 0) deliver();
        expect(replica.pendingMessages).toHaveLength(0);
        expect(replica.state).toEqual(server);
        expect(replica.seq).toBe(snapshots.length - 1);
      }),
      { numRuns: 300 },
    );
  });

  it('classifies seqs as duplicate, next or gap', () => {
    const replica = new DocumentReplica();
    replica.reset('e1', 4, {});
    expect([3, 4, 5, 6].map((seq) => replica.position(seq))).toEqual([
      'duplicate',
      'duplicate',
      'next',
      'gap',
    ]);
  });

  it('reports no visible change when the first pending message is confirmed', () => {
    const replica = new DocumentReplica();
    replica.reset('e1', 0, {});
    const op: Op = { op: 'set', coll: 'c', id: 'i', value: { v: 1 } };
    replica.addPending(1, [op]);
    replica.addPending(2, [{ op: 'patch', coll: 'c', id: 'i', fields: { w: 2 } }]);
    const before = replica.state;
    expect(replica.confirm(1, [op], 1)).toBe(false);
    expect(replica.state).toBe(before);
    expect(replica.state).toEqual({ c: { i: { v: 1, w: 2 } } });
    // A remote event under the pending patch does change it.
    expect(replica.confirm(2, [{ op: 'del', coll: 'c', id: 'i' }])).toBe(true);
    expect(replica.state).toEqual({});
  });

  it('keeps pending messages over a new snapshot and asks for one after forgetHistory', () => {
    const replica = new DocumentReplica();
    replica.reset('e1', 3, { c: { a: { v: 1 } } });
    replica.addPending(1, [{ op: 'patch', coll: 'c', id: 'a', fields: { p: true } }]);
    replica.reset('e2', 0, { c: { a: { v: 9 } } });
    expect(replica.state).toEqual({ c: { a: { v: 9, p: true } } });
    expect(replica.known).toBe(true);
    replica.forgetHistory();
    expect(replica.known).toBe(false);
    expect(replica.epoch).toBe('e2');
  });
});
