import { savedSeqOf } from '../protocol/saved';

/**
 * How far the server has put a document into durable storage, as far as this
 * client has heard. `undefined` while the server has said nothing: it has no
 * document store, or has not answered a join yet.
 */
export class SavedMark {
  private current: number | undefined;

  get seq(): number | undefined {
    return this.current;
  }

  /**
   * A `joined` states the mark afresh: without `savedSeq` the server (maybe
   * another gateway after a reconnect) has no store. True when it changed to
   * a number the listeners have not seen.
   */
  joined(savedSeq: unknown, epochChanged: boolean): boolean {
    const next = savedSeqOf(savedSeq);
    const previous = this.current;
    this.current = next;
    if (next === undefined) return false;
    // In a new epoch seqs restart, so a lower mark is news too.
    return previous === undefined || next > previous || (epochChanged && next !== previous);
  }

  /** A `saved` message; true when it moved the mark. Marks only grow within an epoch. */
  saved(seq: unknown): boolean {
    const next = savedSeqOf(seq);
    if (next === undefined) return false;
    if (this.current !== undefined && next <= this.current) return false;
    this.current = next;
    return true;
  }
}
