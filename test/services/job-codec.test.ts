import { describe, expect, it } from 'vitest';
import type { OpSubmission } from '../../src/document/op-submission';
import { decodeJob, encodeJob } from '../../src/services/event-ordering/job-codec';

/** A queued op message comes out of its job as it went in, its user included. */
describe('job codec', () => {
  const base: OpSubmission = {
    doc: 'd1',
    client: 'laptop',
    cseq: 7,
    ops: [
      { op: 'set', coll: 'nodes', id: 'n1', value: { x: 1 } },
      { op: 'patch', coll: 'nodes', id: 'n1', fields: { y: 2, z: null } },
      { op: 'del', coll: 'edges', id: 'e1' },
    ],
    ref: 'r7',
    acceptedAt: 1234,
    seen: { epoch: 'ep', seq: 41 },
  };

  it.each([
    ['without authentication', base],
    ['with a user (a tab in it too)', { ...base, user: 'alice\twork' }],
  ])('round-trips an op message %s', (_, sub) => {
    const job = encodeJob([sub]);
    const { submissions, legacy } = decodeJob('d1', JSON.stringify(job));
    expect(legacy).toBe(false);
    expect(submissions).toEqual([sub]);
  });
});
