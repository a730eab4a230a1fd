import { applyMessage } from '../document/apply-ops';
import type { DocState, Op } from '../protocol/messages';

/** One op message of this client that the replica has not placed in the server order yet. */
export interface PendingOpMessage {
  readonly cseq: number;
  readonly ops: readonly Op[];
  /** Generation of the connection it was last sent on; 0 when never sent. */
  sentOn: number;
}

/** Where an event with a given seq stands against the replica. */
export type SeqPosition = 'next' | 'duplicate' | 'gap';

/**
 * A client's copy of one document: the `confirmed` state in server order up
 * to `seq`, and this client's pending op messages on top of it.
 *
 * Invariants:
 * - `confirmed` is the server's snapshot at `seq` of `epoch`; it changes only
 *   by applying the event at seq + 1 or by a new snapshot.
 * - `pending` is in increasing cseq order, which is the order the server
 *   applies them in, since it applies one client's messages in send order.
 * - The visible state is `confirmed` with every pending message re-applied in
 *   cseq order. Entities are never mutated in place (applyOps replaces them),
 *   so the view shares entity objects with `confirmed` and copies only the
 *   collection maps.
 */
export class DocumentReplica {
  epoch: string | undefined;
  seq = 0;
  /** Set when the history cannot be continued: the next join asks for a snapshot. */
  private stale = false;
  private confirmed: DocState = {};
  private pending: PendingOpMessage[] = [];
  /** The visible state; null when it must be recomputed, `confirmed` itself when nothing is pending. */
  private view: DocState | null = this.confirmed;

  /** Whether a join can ask for the events since `seq` instead of a snapshot. */
  get known(): boolean {
    return this.epoch !== undefined && !this.stale;
  }

  get state(): DocState {
    this.view ??= this.computeView();
    return this.view;
  }

  get confirmedState(): DocState {
    return this.confirmed;
  }

  get pendingMessages(): readonly PendingOpMessage[] {
    return this.pending;
  }

  position(seq: number): SeqPosition {
    if (seq <= this.seq) return 'duplicate';
    return seq === this.seq + 1 ? 'next' : 'gap';
  }

  /** Replaces the confirmed state by a snapshot; pending messages stay on top of it. */
  reset(epoch: string, seq: number, state: DocState): void {
    this.epoch = epoch;
    this.seq = seq;
    this.stale = false;
    this.confirmed = state;
    this.view = this.pending.length === 0 ? this.confirmed : null;
  }

  /** The next join asks for a snapshot; `epoch` stays, to tell whether the new one differs. */
  forgetHistory(): void {
    this.stale = true;
  }

  /**
   * Applies the event at `seq` (which must be seq + 1) to the confirmed state.
   * `ownCseq` names the pending message it is, when it is this client's own.
   * Returns whether the visible state may have changed.
   */
  confirm(seq: number, ops: readonly Op[], ownCseq?: number): boolean {
    if (seq !== this.seq + 1) throw new Error(`event ${seq} applied at seq ${this.seq}`);
    applyMessage(this.confirmed, ops);
    this.seq = seq;
    const index = ownCseq === undefined ? -1 : this.pending.findIndex((p) => p.cseq === ownCseq);
    if (index >= 0) this.pending.splice(index, 1);
    if (this.pending.length === 0) {
      // When the confirmed message was the first pending one, the view already
      // showed exactly this, so nothing visible changed.
      const changed = index !== 0;
      this.view = this.confirmed;
      return changed;
    }
    if (index === 0) {
      // confirmed + p0 + p1... is what the view already was.
      return false;
    }
    this.view = null;
    return true;
  }

  addPending(cseq: number, ops: readonly Op[]): void {
    const last = this.pending[this.pending.length - 1];
    if (last && last.cseq >= cseq) throw new Error(`cseq ${cseq} after ${last.cseq}`);
    this.pending.push({ cseq, ops, sentOn: 0 });
    if (this.view === this.confirmed) this.view = null;
    else if (this.view) applyMessage(this.view, ops);
  }

  findPending(cseq: number): PendingOpMessage | undefined {
    return this.pending.find((p) => p.cseq === cseq);
  }

  /** Drops a pending message without applying it (refused, or already in the confirmed state). */
  removePending(cseq: number): PendingOpMessage | undefined {
    const index = this.pending.findIndex((p) => p.cseq === cseq);
    if (index < 0) return undefined;
    const [removed] = this.pending.splice(index, 1);
    this.view = this.pending.length === 0 ? this.confirmed : null;
    return removed;
  }

  /** Drops every pending message, for a document that was left or a closed client. */
  clearPending(): PendingOpMessage[] {
    const removed = this.pending;
    this.pending = [];
    this.view = this.confirmed;
    return removed;
  }

  private computeView(): DocState {
    const view: DocState = {};
    for (const [coll, entities] of Object.entries(this.confirmed)) view[coll] = { ...entities };
    for (const message of this.pending) applyMessage(view, message.ops);
    return view;
  }
}
