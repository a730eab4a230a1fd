import { randomUUID } from 'node:crypto';
import { applyMessage } from '../../document/apply-ops';
import type { DocState, EventRecord } from '../../protocol';
import { DEDUPE_WINDOW } from './dedupe-bounds';
import type {
  ApplyOutcome,
  CatchUp,
  CollaborationService,
  DocumentSnapshot,
  OpSubmission,
  PresenceRecord,
  ResumePoint,
} from './collaboration-service';

interface DocumentSession {
  epoch: string;
  seq: number;
  state: DocState;
  /** The last `historyLength` events, oldest first, contiguous up to `seq`. */
  history: EventRecord[];
  /**
   * Per client: its highest applied cseq and the seq it became (the dedupe
   * record), with its last DEDUPE_WINDOW applied [cseq, seq] pairs.
   */
  lastApplied: Map<string, { cseq: number; seq: number; window?: Array<[number, number]> }>;
  presence: Map<string, PresenceRecord>;
  touchedAt: number;
}

/** A document's last state elsewhere (Redis), to start an in-memory session from. */
export interface SeedState {
  snapshot: DocumentSnapshot;
  /** Per client: highest applied cseq and its seq, so resends stay duplicates. */
  lastApplied: Map<string, { cseq: number; seq: number }>;
}

export interface MemoryCollaborationOptions {
  /**
   * Loads a document that this process has not seen yet from elsewhere; a
   * rollback from Redis to memory uses it to keep acknowledged documents.
   */
  seed?: (doc: string) => Promise<SeedState | null>;
  /** Told when seeding a document failed and it started empty instead. */
  onSeedError?: (doc: string, err: unknown) => void;
  historyLength: number;
  /** Seconds of inactivity after which a document is dropped; 0 keeps it forever. */
  sessionTtlSeconds: number;
  now?: () => number;
}

/**
 * Everything in this process's memory: serves exactly one process. Entities
 * are never mutated in place (a patch builds a new object), so a snapshot only
 * copies the collection maps.
 */
export class MemoryCollaborationService implements CollaborationService {
  readonly mode = 'memory' as const;
  private readonly sessions = new Map<string, DocumentSession>();
  private readonly sweeper: NodeJS.Timeout | undefined;
  private readonly now: () => number;

  constructor(private readonly options: MemoryCollaborationOptions) {
    this.now = options.now ?? Date.now;
    if (options.sessionTtlSeconds > 0) {
      const every = Math.min(options.sessionTtlSeconds, 60) * 1000;
      this.sweeper = setInterval(() => this.expireIdle(), every);
      this.sweeper.unref();
    }
  }

  /** Drops sessions idle for longer than the TTL; a later join starts a new epoch. */
  expireIdle(): void {
    const cutoff = this.now() - this.options.sessionTtlSeconds * 1000;
    for (const [doc, session] of this.sessions) {
      if (session.touchedAt < cutoff) this.sessions.delete(doc);
    }
  }

  private session(doc: string): DocumentSession {
    let session = this.sessions.get(doc);
    if (!session) {
      session = {
        epoch: randomUUID(),
        seq: 0,
        state: {},
        history: [],
        lastApplied: new Map(),
        presence: new Map(),
        touchedAt: this.now(),
      };
      this.sessions.set(doc, session);
    }
    session.touchedAt = this.now();
    return session;
  }

  /** Seeds in flight, one per document: concurrent first joins share it. */
  private readonly seeding = new Map<string, Promise<void>>();

  private async seedOnce(doc: string): Promise<void> {
    const seed = this.options.seed;
    if (!seed || this.sessions.has(doc)) return;
    let pending = this.seeding.get(doc);
    if (!pending) {
      pending = seed(doc)
        .then((found) => {
          if (!found || this.sessions.has(doc)) return;
          const { snapshot, lastApplied } = found;
          this.sessions.set(doc, {
            epoch: snapshot.epoch,
            seq: snapshot.seq,
            state: snapshot.state,
            history: [],
            lastApplied,
            presence: new Map(),
            touchedAt: this.now(),
          });
        })
        .catch((err: unknown) => this.options.onSeedError?.(doc, err))
        .finally(() => this.seeding.delete(doc));
      this.seeding.set(doc, pending);
    }
    await pending;
  }

  async open(doc: string, resume?: ResumePoint): Promise<CatchUp> {
    await this.seedOnce(doc);
    const session = this.session(doc);
    if (resume) {
      const events = this.eventsOf(session, resume.epoch, resume.seq);
      if (events) return { kind: 'events', epoch: session.epoch, seq: session.seq, events };
    }
    return { kind: 'snapshot', snapshot: this.snapshotOf(doc, session) };
  }

  async eventsAfter(doc: string, epoch: string, afterSeq: number): Promise<EventRecord[] | null> {
    const session = this.sessions.get(doc);
    return session ? this.eventsOf(session, epoch, afterSeq) : null;
  }

  private eventsOf(
    session: DocumentSession,
    epoch: string,
    afterSeq: number,
  ): EventRecord[] | null {
    if (epoch !== session.epoch || afterSeq > session.seq) return null;
    if (afterSeq === session.seq) return [];
    const first = session.history[0]?.seq ?? session.seq + 1;
    if (afterSeq + 1 < first) return null;
    return session.history.slice(afterSeq + 1 - first);
  }

  async snapshot(doc: string): Promise<DocumentSnapshot | null> {
    await this.seedOnce(doc);
    const session = this.sessions.get(doc);
    return session ? this.snapshotOf(doc, session) : null;
  }

  private snapshotOf(doc: string, session: DocumentSession): DocumentSnapshot {
    const state: DocState = {};
    for (const [coll, entities] of Object.entries(session.state)) state[coll] = { ...entities };
    return { doc, epoch: session.epoch, seq: session.seq, state };
  }

  async applyBatch(doc: string, batch: readonly OpSubmission[]): Promise<ApplyOutcome[]> {
    await this.seedOnce(doc);
    const session = this.session(doc);
    return batch.map((sub) => this.applyOne(doc, session, sub));
  }

  private applyOne(doc: string, session: DocumentSession, sub: OpSubmission): ApplyOutcome {
    const ref = sub.ref === undefined ? {} : { ref: sub.ref };
    const last = session.lastApplied.get(sub.client);
    if (last && sub.cseq <= last.cseq) {
      const seq =
        sub.cseq === last.cseq
          ? last.seq
          : (last.window?.find(([cseq]) => cseq === sub.cseq)?.[1] ?? null);
      return {
        kind: 'duplicate',
        doc,
        epoch: session.epoch,
        seq,
        client: sub.client,
        cseq: sub.cseq,
        ...ref,
      };
    }
    const refusal = applyMessage(session.state, sub.ops);
    if (refusal) {
      return {
        kind: 'rejected',
        doc,
        client: sub.client,
        cseq: sub.cseq,
        code: 'BAD_REQUEST',
        message: refusal,
        ...ref,
      };
    }
    const seq = ++session.seq;
    const window = last?.window ?? (last ? [[last.cseq, last.seq] as [number, number]] : []);
    window.push([sub.cseq, seq]);
    if (window.length > DEDUPE_WINDOW) window.shift();
    session.lastApplied.set(sub.client, { cseq: sub.cseq, seq, window });
    session.history.push({ seq, client: sub.client, cseq: sub.cseq, ops: sub.ops });
    // Trim in chunks so that the history costs amortised O(1) per event.
    const limit = this.options.historyLength;
    if (session.history.length > limit * 2)
      session.history.splice(0, session.history.length - limit);
    return {
      kind: 'applied',
      doc,
      epoch: session.epoch,
      seq,
      client: sub.client,
      cseq: sub.cseq,
      ops: sub.ops,
      ...ref,
    };
  }

  async setPresence(doc: string, record: PresenceRecord): Promise<void> {
    this.session(doc).presence.set(record.client, record);
  }

  async clearPresence(doc: string, client: string): Promise<void> {
    this.sessions.get(doc)?.presence.delete(client);
  }

  async listPresence(doc: string): Promise<PresenceRecord[]> {
    return [...(this.sessions.get(doc)?.presence.values() ?? [])];
  }

  async close(): Promise<void> {
    if (this.sweeper) clearInterval(this.sweeper);
  }
}
