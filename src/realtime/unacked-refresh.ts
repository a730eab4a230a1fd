/** The first history read for an op unanswered this long (ms). */
const FIRST_MS = 1500;
/** Reads for the same op are spaced at most this far apart (ms). */
const MAX_MS = 30_000;

interface Schedule {
  /** Receive time of the oldest unanswered op this schedule is for (ms, monotonic). */
  oldest: number;
  next: number;
  delay: number;
}

/**
 * When a feed whose ops stay unanswered reads its document's history again.
 *
 * The read is for a lost broadcast: an op's event that pub/sub dropped, the
 * last so far, which no later event would reveal as a gap. The first read
 * comes FIRST_MS after the op arrived. When the op is unanswered because it
 * waits (a queue behind, Redis slow), every op of every busy document is
 * that late, and reading each document's history every second adds load to
 * the very thing it waits for. So reads for the same oldest op double their
 * spacing, up to MAX_MS; once that op is answered the next one starts afresh.
 */
export class UnackedRefresh<Feed extends object> {
  private readonly schedules = new WeakMap<Feed, Schedule>();

  /** Whether `feed` should read its history now; `oldest` is its oldest unanswered op's receive time. */
  due(feed: Feed, oldest: number | undefined, now: number): boolean {
    if (oldest === undefined) {
      this.schedules.delete(feed);
      return false;
    }
    let schedule = this.schedules.get(feed);
    if (schedule?.oldest !== oldest) {
      schedule = { oldest, next: oldest + FIRST_MS, delay: FIRST_MS };
      this.schedules.set(feed, schedule);
    }
    if (now < schedule.next) return false;
    schedule.delay = Math.min(schedule.delay * 2, MAX_MS);
    schedule.next = now + schedule.delay;
    return true;
  }
}
