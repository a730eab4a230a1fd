import type { Applied } from './outcome-sequencer';

/** Events kept in memory to bring a new member up to date without a Redis round trip. */
const RECENT_EVENTS = 512;

/**
 * The last events a feed delivered, contiguous by seq: catch-up for members
 * a little behind, and who sent the op at a seq (for acks). Trimmed in
 * steps, so that a push is amortised O(1).
 */
export class RecentEvents {
  private events: Applied[] = [];

  push(outcome: Applied): void {
    this.events.push(outcome);
    if (this.events.length > RECENT_EVENTS * 2) this.events = this.events.slice(-RECENT_EVENTS);
  }

  clear(): void {
    this.events = [];
  }

  /** The event at `seq`, when kept. */
  at(seq: number): Applied | undefined {
    const first = this.events[0]?.seq;
    return first === undefined ? undefined : this.events[seq - first];
  }

  /** The kept events after `seq`, or undefined when some of them are no longer kept. */
  after(seq: number): Applied[] | undefined {
    const first = this.events[0]?.seq ?? Number.POSITIVE_INFINITY;
    return seq + 1 >= first ? this.events.slice(seq + 1 - first) : undefined;
  }
}
