/** The first history read for an op unanswered this long (ms). */
const FIRST_MS = 1500;
/** Reads for the same op are spaced at most this far apart (ms). */
const MAX_MS = 30_000;
/**
 * While answers lag (AnswerLag), the first read waits this many times the
 * recent answer time, up to FIRST_MAX_MS: an op is suspect only once it
 * waited clearly longer than the others do.
 */
const LAG_FACTOR = 1.5;
const FIRST_MAX_MS = 10_000;

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
 * And while every op waits (the gateway's recent answers took `lagMs`), the
 * first read waits for 1.5 times that (at most 10 s): at 10,000 documents
 * a few seconds behind, the reads came for two of every three ops, each a
 * round trip for a broadcast that was not lost.
 */
export class UnackedRefresh<Feed extends object> {
  private readonly schedules = new WeakMap<Feed, Schedule>();

  /**
   * Whether `feed` should read its history now; `oldest` is its oldest
   * unanswered op's receive time, `lagMs` how long answers take lately.
   */
  due(feed: Feed, oldest: number | undefined, now: number, lagMs = 0): boolean {
    if (oldest === undefined) {
      this.schedules.delete(feed);
      return false;
    }
    let schedule = this.schedules.get(feed);
    if (schedule?.oldest !== oldest) {
      schedule = { oldest, next: oldest + FIRST_MS, delay: FIRST_MS };
      this.schedules.set(feed, schedule);
    }
    const first = Math.max(FIRST_MS, Math.min(lagMs * LAG_FACTOR, FIRST_MAX_MS));
    // Before the first read, its time follows the lag as it is now.
    if (schedule.delay === FIRST_MS) schedule.next = oldest + first;
    if (now < schedule.next) return false;
    schedule.delay = Math.min(schedule.delay * 2, MAX_MS);
    schedule.next = now + schedule.delay;
    return true;
  }
}
