import type { FlowError } from '../../../src/client';
import type { Op } from '../../../src/protocol';

/** One submit of the simulation and how its promise settled. */
export interface SubmitRecord {
  client: string;
  doc: string;
  ops: Op[];
  outcome:
    | { kind: 'pending' }
    | { kind: 'resolved'; seq: number | null; dup: boolean }
    | { kind: 'rejected'; code: string };
}

/** Every submit of the run, with its settlement, for the oracle. */
export class SubmitLog {
  readonly records: SubmitRecord[] = [];

  track(
    client: string,
    doc: string,
    ops: Op[],
    result: Promise<{ seq: number | null; dup: boolean }>,
  ): void {
    const record: SubmitRecord = { client, doc, ops, outcome: { kind: 'pending' } };
    this.records.push(record);
    result.then(
      ({ seq, dup }) => {
        record.outcome = { kind: 'resolved', seq, dup };
      },
      (error: FlowError) => {
        record.outcome = { kind: 'rejected', code: error.code };
      },
    );
  }

  get pending(): number {
    return this.records.filter((r) => r.outcome.kind === 'pending').length;
  }
}
