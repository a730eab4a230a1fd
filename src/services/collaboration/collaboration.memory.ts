import { randomUUID } from 'node:crypto';
import { DEFAULT_DOC_MAX_BYTES } from '../../document/document-size';
import { UnavailableError, type EventRecord } from '../../protocol';
import type { SnapshotRead, StoredSnapshot } from '../../document/stored-snapshot';
import type { CollaborationService } from './collaboration-service';
import type { ApplyOutcome, OpSubmission } from '../../document/op-submission';
import type {
  CatchUp,
  DocumentSnapshot,
  PresenceRecord,
  ResumePoint,
} from '../../document/catch-up';
import { judgeOp, type OpFate } from './op-fate';
import type { DedupePairs } from './dedupe-bounds';
import { eventsOf, opRecordsOf, snapshotOf, type MemorySession } from './memory-session';
import { applySubmission } from './memory-apply';

/** A document's last state elsewhere (Redis), to start an in-memory session from. */
export interface SeedState {
  snapshot: DocumentSnapshot;
  /** Per client: its last applied cseqs and their seqs, so resends stay duplicates. */
  lastApplied: Map<string, DedupePairs>;
}

export interface MemoryCollaborationOptions {
  /**
   * Loads a document that this process has not seen yet from elsewhere; a
   * rollback from Redis to memory uses it to keep acknowledged documents.
   */
  seed?: (doc: string) => Promise<SeedState | null>;
  /** Told when seeding a document failed and it started empty instead. */
  onSeedError?: (doc: string, err: unknown) => void;
  /**
   * With a document store: its snapshot of a document that neither memory
   * nor the seed has. A rejection refuses the open (UNAVAILABLE) rather than
   * starting an empty document over a stored one.
   */
  load?: (doc: string) => Promise<StoredSnapshot | null>;
  historyLength: number;
  /** A document's state may be at most this many bytes as JSON (DOC_MAX_BYTES). @default 4 MiB */
  maxDocBytes?: number;
  /** Seconds of inactivity after which a document is dropped; 0 keeps it forever. */
  sessionTtlSeconds: number;
  now?: () => number;
}

/**
 * Everything in this process's memory: serves exactly one process. A
 * document is a MemorySession (memory-session.ts), changed by
 * applySubmission (memory-apply.ts); this service finds, seeds and expires them.
 */
export class MemoryCollaborationService implements CollaborationService {
  readonly mode = 'memory' as const;
  private readonly sessions = new Map<string, MemorySession>();
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

  /**
   * Drops sessions idle for longer than the TTL; a later join starts a new
   * epoch, or loads the stored snapshot. With a document store, a session
   * whose latest seq is not stored yet stays, whatever its idleness.
   */
  expireIdle(): void {
    const cutoff = this.now() - this.options.sessionTtlSeconds * 1000;
    const durable = this.options.load !== undefined;
    for (const [doc, session] of this.sessions) {
      if (session.touchedAt >= cutoff) continue;
      if (durable && session.seq > session.savedSeq) continue;
      this.sessions.delete(doc);
    }
  }

  private session(doc: string): MemorySession {
    let session = this.sessions.get(doc);
    if (!session) {
      this.adopt(doc, { epoch: randomUUID(), seq: 0, state: {} }, new Map(), 0);
      session = this.sessions.get(doc) as MemorySession;
    }
    session.touchedAt = this.now();
    return session;
  }

  /** Seeds in flight, one per document: concurrent first joins share it. */
  private readonly seeding = new Map<string, Promise<void>>();

  private async seedOnce(doc: string): Promise<void> {
    if ((!this.options.seed && !this.options.load) || this.sessions.has(doc)) return;
    let pending = this.seeding.get(doc);
    if (!pending) {
      pending = this.seedSession(doc).finally(() => this.seeding.delete(doc));
      this.seeding.set(doc, pending);
    }
    await pending;
  }

  /** The live session elsewhere (Redis) first, then the document store. */
  private async seedSession(doc: string): Promise<void> {
    const seed = this.options.seed;
    if (seed) {
      const found = await seed(doc).catch((err: unknown) => {
        this.options.onSeedError?.(doc, err);
        return null;
      });
      if (found) {
        const { snapshot, lastApplied } = found;
        this.adopt(doc, snapshot, lastApplied, 0);
        return;
      }
    }
    const load = this.options.load;
    if (!load) return;
    const stored: StoredSnapshot | null = await load(doc).catch((err: unknown) => {
      const reason = `document "${doc}" cannot be read from the document store (${(err as Error).message})`;
      throw new UnavailableError(`${reason}; nothing was changed: try again shortly`);
    });
    if (stored) this.adopt(doc, stored, new Map(), stored.seq);
  }

  private adopt(
    doc: string,
    snapshot: Omit<DocumentSnapshot, 'doc'>,
    lastApplied: Map<string, DedupePairs>,
    savedSeq: number,
  ): void {
    if (this.sessions.has(doc)) return;
    this.sessions.set(doc, {
      epoch: snapshot.epoch,
      seq: snapshot.seq,
      state: snapshot.state,
      history: [],
      lastApplied,
      presence: new Map(),
      touchedAt: this.now(),
      savedSeq,
    });
  }

  /** The store now holds `doc` up to `seq` of `epoch`: joins report it as savedSeq. */
  async recordSaved(doc: string, seq: number, epoch: string): Promise<void> {
    const session = this.sessions.get(doc);
    if (session && session.epoch === epoch)
      session.savedSeq = Math.max(session.savedSeq, Math.min(seq, session.seq));
  }

  /** One process holds the document: no lease to take. */
  async readForSave(doc: string): Promise<SnapshotRead> {
    const session = this.sessions.get(doc);
    if (!session) return { kind: 'gone' };
    if (session.seq <= session.savedSeq) return { kind: 'stored', seq: session.savedSeq };
    const { epoch, seq, state } = snapshotOf(doc, session);
    return { kind: 'snapshot', snapshot: { epoch, seq, state } };
  }

  async open(doc: string, resume?: ResumePoint): Promise<CatchUp> {
    await this.seedOnce(doc);
    const session = this.session(doc);
    const saved = this.options.load ? { savedSeq: session.savedSeq } : {};
    if (resume) {
      const events = eventsOf(session, resume.epoch, resume.seq);
      if (events)
        return { kind: 'events', epoch: session.epoch, seq: session.seq, events, ...saved };
    }
    return { kind: 'snapshot', snapshot: snapshotOf(doc, session), ...saved };
  }

  async eventsAfter(doc: string, epoch: string, afterSeq: number): Promise<EventRecord[] | null> {
    const session = this.sessions.get(doc);
    return session ? eventsOf(session, epoch, afterSeq) : null;
  }

  async findOps(doc: string, submitter: string, cseqs: readonly number[]): Promise<OpFate[]> {
    const session = this.sessions.get(doc);
    if (!session) return cseqs.map(() => ({ kind: 'pending' }));
    const records = opRecordsOf(session, submitter);
    return cseqs.map((cseq) => judgeOp(records, cseq));
  }

  async snapshot(doc: string): Promise<DocumentSnapshot | null> {
    await this.seedOnce(doc);
    const session = this.sessions.get(doc);
    return session ? snapshotOf(doc, session) : null;
  }

  async applyBatch(doc: string, batch: readonly OpSubmission[]): Promise<ApplyOutcome[]> {
    await this.seedOnce(doc);
    const session = this.session(doc);
    const limits = {
      historyLength: this.options.historyLength,
      maxDocBytes: this.options.maxDocBytes ?? DEFAULT_DOC_MAX_BYTES,
    };
    return batch.map((sub) => applySubmission(doc, session, sub, limits));
  }

  async setPresence(doc: string, record: PresenceRecord): Promise<void> {
    await this.seedOnce(doc);
    this.session(doc).presence.set(record.client, record);
  }

  async dropIfBlank(doc: string): Promise<boolean> {
    const session = this.sessions.get(doc);
    if (!session || session.seq > 0 || session.presence.size > 0) return false;
    if (this.seeding.has(doc)) return false;
    this.sessions.delete(doc);
    return true;
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
