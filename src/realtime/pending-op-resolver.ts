import type { Logger } from 'pino';
import type { Metrics } from '../observability/metrics';
import type { ApplyOutcome } from '../document/op-submission';
import type { CollaborationService } from '../services/collaboration/collaboration-service';
import type { OpFate } from '../services/collaboration/op-fate';
import type { ClientSocket } from './client-socket';
import { submitterKey } from '../document/op-submission';
import type { DocumentFeed } from './document-feed';
import type { Member } from './member';
import { ackText, errorText } from './wire';

function opKey(doc: string, client: string, cseq: number): string {
  return `${doc}\n${client}\n${cseq}`;
}

/** An op in flight on a membership that ended (leave, or a second join) before its answer. */
interface Orphan {
  socket: ClientSocket;
  doc: string;
  client: string;
  /** The client's dedupe identity (submitterKey: with authentication, its user too). */
  submitter: string;
  cseq: number;
  ref: string | undefined;
  /** Receive time (ms, monotonic). */
  since: number;
}

/** An op unanswered this long on a live membership is looked up in the records. */
const OVERDUE_MS = 3000;
/** An orphan is given up (with a log line) after this long: its outcome never became known. */
const ORPHAN_GIVE_UP_MS = 10 * 60_000;
/**
 * At most this many lookups (one per document and client) per tick: each
 * reads the document's kept history, and a backlog must not become a storm.
 */
const LOOKUPS_PER_TICK = 50;

const NOT_APPLIED =
  'this op was not applied and will not be (a later op of yours was); nothing changed; submit it again';

/**
 * Makes sure every op a gateway accepted is answered on its connection.
 * Answers normally travel with the document's broadcasts, which pub/sub may
 * lose, and a membership that ended takes its in-flight ops with it; so past
 * a deadline the gateway asks the records (history, dedupe) what became of
 * the op and answers from them. `pending` (maybe still queued) is asked
 * again on the next tick: an op is answered with an error only when it
 * certainly was not applied, and `dup` with a null seq only when the records
 * are too old to tell.
 */
export class PendingOpResolver {
  private readonly orphans = new Set<Orphan>();
  private running = false;

  constructor(
    private readonly deps: {
      collaboration: CollaborationService;
      metrics: Metrics;
      log: Logger;
    },
  ) {}

  /** Keeps the unanswered ops of a membership that is ending, while its socket stays open. */
  adopt(member: Member): void {
    if (member.socket.closed) return;
    for (const [cseq, copies] of member.inflight.waiting()) {
      for (const copy of copies) {
        const { doc, client, socket } = member;
        const submitter = submitterKey(client, member.user);
        this.orphans.add({
          socket,
          doc,
          client,
          submitter,
          cseq,
          ref: copy.ref,
          since: copy.since,
        });
      }
    }
  }

  /** Answers the orphans an outcome of this process's own apply (or a broadcast) settles. */
  settle(outcomes: readonly ApplyOutcome[]): void {
    if (this.orphans.size === 0) return;
    for (const outcome of outcomes) {
      for (const orphan of this.orphans) {
        if (orphan.doc !== outcome.doc || orphan.client !== outcome.client) continue;
        if (orphan.cseq !== outcome.cseq) continue;
        this.orphans.delete(orphan);
        if (outcome.kind === 'rejected') {
          const { code, message } = outcome;
          this.send(
            orphan.socket,
            errorText({ code, message, doc: orphan.doc, cseq: orphan.cseq, ref: orphan.ref }),
          );
          this.deps.metrics.errors.inc({ code });
        } else {
          const duplicate = outcome.kind === 'duplicate';
          this.send(
            orphan.socket,
            ackText(orphan.doc, orphan.cseq, outcome.seq, duplicate, orphan.ref),
          );
        }
      }
    }
  }

  /** One pass over the overdue ops of `feeds` and the orphans; runs one at a time. */
  check(feeds: Iterable<DocumentFeed>): void {
    if (this.running) return;
    this.running = true;
    this.run([...feeds])
      .catch((err: unknown) => this.deps.log.warn({ err }, 'overdue op lookup failed'))
      .finally(() => {
        this.running = false;
      });
  }

  private async run(feeds: DocumentFeed[]): Promise<void> {
    const now = performance.now();
    for (const orphan of this.orphans) if (orphan.socket.closed) this.orphans.delete(orphan);
    const overdue: Array<{ feed: DocumentFeed; member: Member; cseq: number }> = [];
    for (const feed of feeds) {
      for (const member of feed.members) {
        if (member.phase !== 'live') continue;
        for (const [cseq, copies] of member.inflight.waiting()) {
          const since = copies[0]?.since;
          if (since !== undefined && now - since >= OVERDUE_MS)
            overdue.push({ feed, member, cseq });
        }
      }
    }
    const fates = await this.lookupAll([
      ...[...this.orphans].map(({ doc, submitter, cseq }) => ({ doc, client: submitter, cseq })),
      ...overdue.map(({ member, cseq }) => ({
        doc: member.doc,
        client: submitterKey(member.client, member.user),
        cseq,
      })),
    ]);
    const fateOf = (doc: string, client: string, cseq: number) =>
      fates.get(opKey(doc, client, cseq)) ?? { kind: 'pending' as const };

    for (const orphan of [...this.orphans]) {
      const fate = fateOf(orphan.doc, orphan.submitter, orphan.cseq);
      if (fate.kind === 'pending') {
        if (now - orphan.since > ORPHAN_GIVE_UP_MS) {
          this.orphans.delete(orphan);
          this.deps.log.warn(
            { doc: orphan.doc, client: orphan.client, cseq: orphan.cseq },
            'gave up on the answer to an op of an ended membership',
          );
        }
        continue;
      }
      this.orphans.delete(orphan);
      this.answer(orphan.socket, orphan.doc, orphan.cseq, orphan.ref, fate, false);
    }
    for (const { feed, member, cseq } of overdue) {
      const fate = fateOf(member.doc, submitterKey(member.client, member.user), cseq);
      if (fate.kind === 'pending') continue;
      if (member.phase !== 'live' || !member.inflight.has(cseq)) continue;
      if (fate.kind === 'applied' && (fate.epoch !== feed.epoch || fate.seq > feed.seq)) {
        // Its event has not reached this feed: the feed's catch-up acks it in order.
        void feed.refresh().catch(() => undefined);
        continue;
      }
      // Delivered already (the copy came after its event), or certainly not applied.
      const copy = member.inflight.take(cseq);
      this.answer(member.socket, member.doc, cseq, copy?.ref, fate, true);
    }
  }

  /**
   * One lookup per (document, submitter), at most LOOKUPS_PER_TICK of them; a
   * failed one is `pending`. `client` here is the submitterKey.
   */
  private async lookupAll(
    ops: ReadonlyArray<{ doc: string; client: string; cseq: number }>,
  ): Promise<Map<string, OpFate>> {
    const groups = new Map<string, { doc: string; client: string; cseqs: Set<number> }>();
    for (const { doc, client, cseq } of ops) {
      const key = `${doc}\n${client}`;
      let group = groups.get(key);
      if (!group) groups.set(key, (group = { doc, client, cseqs: new Set() }));
      group.cseqs.add(cseq);
    }
    const fates = new Map<string, OpFate>();
    for (const { doc, client, cseqs } of [...groups.values()].slice(0, LOOKUPS_PER_TICK)) {
      const wanted = [...cseqs];
      try {
        const found = await this.deps.collaboration.findOps(doc, client, wanted);
        wanted.forEach((cseq, i) => {
          const fate = found[i];
          if (fate) fates.set(opKey(doc, client, cseq), fate);
        });
      } catch (err) {
        this.deps.log.debug({ doc, err }, 'op lookup failed; retrying on the next tick');
      }
    }
    return fates;
  }

  private answer(
    socket: ClientSocket,
    doc: string,
    cseq: number,
    ref: string | undefined,
    fate: Exclude<OpFate, { kind: 'pending' }>,
    duplicate: boolean,
  ): void {
    if (fate.kind === 'applied') {
      this.send(socket, ackText(doc, cseq, fate.seq, duplicate, ref));
      return;
    }
    if (fate.kind === 'forgotten') {
      this.send(socket, ackText(doc, cseq, null, true, ref));
      return;
    }
    this.deps.metrics.errors.inc({ code: 'UNAVAILABLE' });
    this.send(socket, errorText({ code: 'UNAVAILABLE', message: NOT_APPLIED, doc, cseq, ref }));
  }

  private send(socket: ClientSocket, text: string): void {
    this.deps.metrics.messagesOut.inc();
    socket.send(text);
  }

  /** Orphans waiting, for tests and stats. */
  get waiting(): number {
    return this.orphans.size;
  }
}
