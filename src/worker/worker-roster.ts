/**
 * Which live worker answers a document's wake-ups first.
 *
 * Every worker hears every wake-up. Without a rule both take: one applies,
 * the other spends a script call to learn the document is claimed, which at
 * 10,000 quiet documents is one wasted take per op. With the roster, each
 * document has one preferred worker (rendezvous hashing over the live
 * workers' node ids): the others leave its wake-ups to it. Nothing depends on
 * the preference for safety: every worker's poll still takes due marks,
 * those of the others' documents once they are `graceMs` old (a preferred
 * worker that died or fell behind is covered within that and a poll
 * interval), and a worker that holds a document's claim answers its
 * wake-ups whatever the preference (a busy document stays with its holder).
 *
 * The live workers are read from the node registry (each worker heartbeats
 * there every second); a stopping worker announces that it leaves, so that
 * the others take over its documents' wake-ups at once, not when its
 * heartbeat goes stale.
 */
export interface WorkerRosterOptions {
  /** This process's node id, as it appears in the registry. */
  self: string;
  /** Node ids of the workers whose heartbeat is recent (self included once it beats). */
  readLive: () => Promise<string[]>;
  /** How often the registry is read (ms). */
  refreshMs: number;
  /** A departed worker stays out of the roster this long, while its heartbeat goes stale (ms). */
  departedForMs: number;
  /**
   * How old the mark of a document another worker answers must be before
   * this worker's poll takes it (ms): the delay a worker that died or fell
   * behind adds to its documents, until its heartbeat goes stale.
   */
  graceMs: number;
  now?: () => number;
}

export class WorkerRoster {
  private live: string[] = [];
  private readonly departed = new Map<string, number>();
  /**
   * `live` without the departed, recomputed when either changes, not at
   * every wake-up (prefers() runs once per wake-up, that is per op).
   */
  private workers: string[] = [];
  private timer: NodeJS.Timeout | undefined;
  private readonly now: () => number;

  constructor(private readonly options: WorkerRosterOptions) {
    this.now = options.now ?? Date.now;
  }

  /**
   * Reads the registry now (not waited for: with Redis down it would wait
   * for Redis) and then every refreshMs. Until the first read answers, the
   * roster is empty and this worker answers every wake-up.
   */
  start(): void {
    this.timer = setInterval(() => void this.refresh(), this.options.refreshMs);
    this.timer.unref();
    void this.refresh();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
  }

  async refresh(): Promise<void> {
    try {
      this.live = [...new Set(await this.options.readLive())].sort();
    } catch {
      // Registry unreadable (Redis down): the last roster stands; polls cover any gap.
    }
    this.recompute();
  }

  get self(): string {
    return this.options.self;
  }

  get graceMs(): number {
    return this.options.graceMs;
  }

  /** A worker said it stops: its documents' wake-ups are answered by the others from now on. */
  depart(node: string): void {
    this.departed.set(node, this.now() + this.options.departedForMs);
    this.recompute();
  }

  /**
   * Whether this worker answers the document's wake-ups. True when this
   * worker is not in the roster (yet): with no agreed view, everyone answers,
   * as without a roster.
   */
  prefers(doc: string): boolean {
    const { workers } = this;
    if (!workers.includes(this.options.self)) return true;
    let best = '';
    let bestScore = -1;
    for (const worker of workers) {
      const score = rendezvousScore(doc, worker);
      if (score > bestScore || (score === bestScore && worker < best)) {
        best = worker;
        bestScore = score;
      }
    }
    return best === this.options.self;
  }

  /** The live workers, departed ones left out. */
  present(): readonly string[] {
    return this.workers;
  }

  /** Departures end at a refresh after departedForMs (by then the heartbeat has gone stale). */
  private recompute(): void {
    const now = this.now();
    for (const [node, until] of this.departed) if (until <= now) this.departed.delete(node);
    this.workers = this.live.filter((node) => !this.departed.has(node));
  }
}

/** FNV-1a (32-bit) of `doc` and `worker`, then a final mix: spread evenly, cheap per wake-up. */
export function rendezvousScore(doc: string, worker: string): number {
  let h = 0x811c9dc5;
  const text = `${doc}\u0000${worker}`;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  return h >>> 0;
}
