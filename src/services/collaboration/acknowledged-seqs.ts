import type { ApplyOutcome, OpSubmission } from '../../document/op-submission';

/** Documents remembered; the least recently applied go first. */
const DEFAULT_CAPACITY = 10_000;

/** An (epoch, seq) some process saw acknowledged. */
export interface AcknowledgedPoint {
  epoch: string;
  seq: number;
}

/**
 * The highest seq this process saw applied per document and epoch, passed to
 * the apply script: Redis replicates asynchronously, and a replica promoted
 * without the last writes continues the document at a lower seq in the same
 * epoch. The script compares and moves the document to a new epoch before it
 * gives any of the lost seqs to another op.
 *
 * Submissions may carry the same knowledge from their gateway (`seen`), so
 * that a worker that took the document over after the failover knows it too.
 */
export class AcknowledgedSeqs {
  private readonly points = new Map<string, AcknowledgedPoint>();

  constructor(private readonly capacity = DEFAULT_CAPACITY) {}

  /** The points to check before applying `batch`: this process's and the submitters'. */
  pointsFor(doc: string, batch: readonly OpSubmission[]): AcknowledgedPoint[] {
    const byEpoch = new Map<string, number>();
    const add = (point: AcknowledgedPoint | undefined) => {
      if (point && point.seq > (byEpoch.get(point.epoch) ?? 0)) byEpoch.set(point.epoch, point.seq);
    };
    add(this.points.get(doc));
    for (const submission of batch) add(submission.seen);
    return [...byEpoch].map(([epoch, seq]) => ({ epoch, seq }));
  }

  note(doc: string, outcomes: readonly ApplyOutcome[]): void {
    for (const outcome of outcomes) {
      if (outcome.kind !== 'applied') continue;
      const known = this.points.get(doc);
      if (known && known.epoch === outcome.epoch && known.seq >= outcome.seq) continue;
      this.points.delete(doc);
      this.points.set(doc, { epoch: outcome.epoch, seq: outcome.seq });
    }
    if (this.points.size > this.capacity) {
      const oldest = this.points.keys().next();
      if (!oldest.done) this.points.delete(oldest.value);
    }
  }
}
