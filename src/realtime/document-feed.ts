import type { Logger } from 'pino';
import type { EventRecord, ServerMessage } from '../protocol';
import type { Metrics } from '../observability/metrics';
import type {
  ApplyOutcome,
  CatchUp,
  CollaborationService,
  PresenceRecord,
} from '../services/collaboration/collaboration-service';
import type {
  DocumentBroadcast,
  WebSocketManager,
} from '../services/websocket-manager/websocket-manager';
import { documentTopic, type Broadcaster } from './client-socket';
import type { Member } from './member';

type Applied = Extract<ApplyOutcome, { kind: 'applied' }>;
type Duplicate = Extract<ApplyOutcome, { kind: 'duplicate' }>;

export interface FeedDeps {
  nodeId: string;
  collaboration: CollaborationService;
  websockets: WebSocketManager;
  broadcaster: Broadcaster;
  metrics: Metrics;
  log: Logger;
}

/** Events kept in memory to bring a new member up to date without a Redis round trip. */
const RECENT_EVENTS = 512;
/** Pause between history reads while a gap's missing event is not visible yet. */
const RECOVERY_RETRY_MS = 20;
const RECOVERY_MAX_ATTEMPTS = 100;
/**
 * Fan-out happens inside the transport, which does not report who fell
 * behind; every this many events the feed checks its members' buffers.
 */
const BACKPRESSURE_CHECK_EVERY = 8;

export function encode(message: ServerMessage): string {
  return JSON.stringify(message);
}

/**
 * One document on one gateway: turns the document's broadcasts, which may
 * arrive late, twice or not at all, into one gap-free stream in seq order,
 * and brings each member onto that stream without a gap or a duplicate.
 *
 * Invariant: every live member has been sent exactly the events up to
 * `this.seq`, so one topic publish per event keeps all of them in step.
 */
export class DocumentFeed {
  readonly topic: string;
  epoch: string | null = null;
  seq = 0;
  readonly members = new Set<Member>();
  private readonly byClient = new Map<string, Set<Member>>();
  /** Outcomes that arrived before the first join told us the epoch and seq. */
  private early: ApplyOutcome[] = [];
  /** Applied outcomes beyond seq + 1, waiting for the gap before them to fill. */
  private readonly ahead = new Map<number, Applied>();
  /** Duplicate acks that name a seq this feed has not delivered yet. */
  private heldDuplicates: Duplicate[] = [];
  private recent: Applied[] = [];
  private recoverTarget = 0;
  private recovering = false;
  readonly subscribed: Promise<void>;

  constructor(
    readonly doc: string,
    private readonly deps: FeedDeps,
  ) {
    this.topic = documentTopic(doc);
    this.subscribed = deps.websockets.subscribe(doc, (message) => this.onBroadcast(message));
  }

  addMember(member: Member): void {
    this.members.add(member);
    let set = this.byClient.get(member.client);
    if (!set) this.byClient.set(member.client, (set = new Set()));
    set.add(member);
  }

  removeMember(member: Member): void {
    if (member.phase === 'live') member.socket.unsubscribe(this.topic);
    member.phase = 'gone';
    this.members.delete(member);
    const set = this.byClient.get(member.client);
    set?.delete(member);
    if (set?.size === 0) this.byClient.delete(member.client);
  }

  // ---- incoming broadcasts ------------------------------------------------

  onBroadcast(message: DocumentBroadcast): void {
    if (message.kind === 'presence') {
      // The origin gateway delivered it to its own members already.
      if (message.origin === this.deps.nodeId) return;
      const { client, user, state } = message;
      this.deps.broadcaster.broadcast(
        this.topic,
        encode({ type: 'presence', doc: this.doc, client, user, state }),
      );
      return;
    }
    for (const outcome of message.outcomes) this.onOutcome(outcome);
  }

  private onOutcome(outcome: ApplyOutcome): void {
    if (this.epoch === null) {
      this.early.push(outcome);
      return;
    }
    switch (outcome.kind) {
      case 'rejected': {
        const { client, cseq, code, message, ref } = outcome;
        for (const member of this.byClient.get(client) ?? []) {
          member.inflight.delete(cseq);
          this.deps.metrics.errors.inc({ code });
          member.socket.send(
            encode({
              type: 'error',
              code,
              message,
              doc: this.doc,
              cseq,
              ...(ref === undefined ? {} : { ref }),
            }),
          );
        }
        return;
      }
      case 'duplicate':
        if (outcome.epoch === this.epoch && outcome.seq !== null && outcome.seq > this.seq) {
          // Its event may have been lost on the way here: fetch it before acking.
          this.heldDuplicates.push(outcome);
          this.recover(outcome.seq);
        } else {
          this.ackMembers(outcome);
        }
        return;
      case 'applied':
        if (outcome.epoch !== this.epoch) {
          void this.resetFromSnapshot('epoch changed');
          return;
        }
        if (outcome.seq <= this.seq) return;
        if (outcome.seq === this.seq + 1) {
          this.deliver(outcome);
          this.advance();
        } else {
          this.ahead.set(outcome.seq, outcome);
          this.deps.metrics.gaps.inc();
          this.recover(outcome.seq - 1);
        }
        return;
    }
  }

  /** Sends one event to every live member and the ack to its sender. */
  private deliver(outcome: Applied): void {
    this.seq = outcome.seq;
    this.recent.push(outcome);
    if (this.recent.length > RECENT_EVENTS * 2) this.recent = this.recent.slice(-RECENT_EVENTS);
    const { doc, seq, client, cseq, ops } = outcome;
    const text = encode({ type: 'event', doc, seq, client, cseq, ops });
    this.deps.metrics.eventsDelivered.inc();
    const senders = this.byClient.get(client);
    const liveSender = senders?.size === 1 ? [...senders][0] : undefined;
    if (liveSender && liveSender.phase === 'live') {
      liveSender.socket.publishToOthers(this.topic, text);
    } else {
      this.deps.broadcaster.broadcast(this.topic, text);
    }
    // A live member's seq is the feed's by the invariant above; only syncing
    // members track their own.
    for (const member of senders ?? []) {
      if (member.phase === 'live') this.sendAck(member, outcome);
    }
    if (seq % BACKPRESSURE_CHECK_EVERY === 0) {
      for (const member of this.members)
        if (member.phase === 'live') member.socket.checkBackpressure();
    }
  }

  private advance(): void {
    for (let next = this.ahead.get(this.seq + 1); next; next = this.ahead.get(this.seq + 1)) {
      this.ahead.delete(next.seq);
      this.deliver(next);
    }
    if (this.heldDuplicates.length > 0) {
      const ready = this.heldDuplicates.filter((d) => (d.seq ?? 0) <= this.seq);
      this.heldDuplicates = this.heldDuplicates.filter((d) => (d.seq ?? 0) > this.seq);
      for (const duplicate of ready) this.ackMembers(duplicate);
    }
    for (const member of this.members) {
      if (member.phase === 'syncing' && member.seq <= this.seq) void this.sync(member);
    }
  }

  /**
   * A duplicate is acked only to members that have that cseq in flight: a
   * worker that re-applies a batch after a crash produces duplicates the
   * client never resent and was already acked for.
   */
  private ackMembers(outcome: Duplicate): void {
    for (const member of this.byClient.get(outcome.client) ?? []) {
      if (member.phase !== 'joining' && member.inflight.has(outcome.cseq))
        this.sendAck(member, outcome);
    }
  }

  /**
   * `queued` (the live path) batches the ack with this turn's fan-out; the
   * catch-up path sends directly, in line with the catch-up events it sends.
   */
  private sendAck(member: Member, outcome: Applied | Duplicate, queued = true): void {
    const started = member.inflight.get(outcome.cseq);
    if (started !== undefined) {
      member.inflight.delete(outcome.cseq);
      this.deps.metrics.ackLatency.observe((performance.now() - started) / 1000);
    }
    const { doc, cseq, seq, ref } = outcome;
    this.deps.metrics.messagesOut.inc();
    const text = encode({
      type: 'ack',
      doc,
      cseq,
      seq,
      ...(outcome.kind === 'duplicate' ? { dup: true as const } : {}),
      ...(ref === undefined ? {} : { ref }),
    });
    if (queued) member.socket.sendQueued(text);
    else member.socket.send(text);
  }

  // ---- gap recovery -------------------------------------------------------

  /** Reads the history until the feed has delivered up to `target`. */
  private recover(target: number): void {
    this.recoverTarget = Math.max(this.recoverTarget, target);
    if (this.recovering || this.epoch === null) return;
    this.recovering = true;
    void this.runRecovery().finally(() => {
      this.recovering = false;
    });
  }

  private async runRecovery(): Promise<void> {
    let idle = 0;
    while (this.seq < this.recoverTarget && this.members.size > 0 && this.epoch !== null) {
      let events: EventRecord[] | null;
      try {
        events = await this.deps.collaboration.eventsAfter(this.doc, this.epoch, this.seq);
      } catch (err) {
        this.deps.log.warn(
          { doc: this.doc, err },
          'history read failed during gap recovery; retrying',
        );
        events = [];
      }
      if (events === null) {
        this.deps.metrics.recoveries.inc({ result: 'snapshot' });
        await this.resetFromSnapshot('history no longer holds the gap');
        return;
      }
      const before = this.seq;
      for (const event of events) {
        if (event.seq !== this.seq + 1) continue;
        this.ahead.delete(event.seq);
        this.deliver({ kind: 'applied', doc: this.doc, epoch: this.epoch, ...event });
      }
      this.advance();
      if (this.seq > before) {
        idle = 0;
        this.deps.metrics.recoveries.inc({ result: 'history' });
      } else if (++idle > RECOVERY_MAX_ATTEMPTS) {
        this.deps.log.error(
          { doc: this.doc, seq: this.seq, target: this.recoverTarget },
          'gap recovery gave up; resyncing members from a snapshot',
        );
        await this.resetFromSnapshot('gap could not be recovered');
        return;
      } else {
        await new Promise((resolve) => setTimeout(resolve, RECOVERY_RETRY_MS));
      }
    }
  }

  /**
   * Reads the history once for events this feed has not seen: after the
   * pub/sub connection was re-established, or when an op stays unacked (its
   * event, the last one so far, may have been lost, and no later event will
   * reveal the gap).
   */
  async refresh(): Promise<void> {
    if (this.epoch === null || this.recovering || this.members.size === 0) return;
    const epoch = this.epoch;
    const events = await this.deps.collaboration.eventsAfter(this.doc, epoch, this.seq);
    if (epoch !== this.epoch) return;
    if (events === null) {
      const head = await this.deps.collaboration.snapshot(this.doc);
      // Null also means "epoch changed" or "nothing new beyond seq": only a
      // real change of history warrants a reset.
      if (head && (head.epoch !== this.epoch || head.seq > this.seq))
        await this.resetFromSnapshot('history moved on');
      return;
    }
    for (const event of events) {
      if (event.seq !== this.seq + 1) continue;
      this.ahead.delete(event.seq);
      this.deliver({ kind: 'applied', doc: this.doc, epoch, ...event });
    }
    this.advance();
  }

  /** The receive time of the oldest unacked op of any member here, or undefined. */
  oldestInflight(): number | undefined {
    let oldest: number | undefined;
    for (const member of this.members) {
      const first = member.inflight.values().next();
      if (!first.done && (oldest === undefined || first.value < oldest)) oldest = first.value;
    }
    return oldest;
  }

  /**
   * Starts the feed over from the current snapshot (the epoch changed, or the
   * history lost events we missed) and sends every member a fresh `joined`.
   */
  private async resetFromSnapshot(reason: string): Promise<void> {
    const catchUp = await this.deps.collaboration.open(this.doc);
    if (catchUp.kind !== 'snapshot') return;
    const { snapshot } = catchUp;
    this.deps.log.warn(
      { doc: this.doc, reason, epoch: snapshot.epoch, seq: snapshot.seq },
      'document feed reset from snapshot',
    );
    this.epoch = snapshot.epoch;
    this.seq = snapshot.seq;
    this.ahead.clear();
    this.recent = [];
    this.recoverTarget = 0;
    const presence = await this.deps.collaboration.listPresence(this.doc);
    for (const member of this.members) {
      if (member.phase === 'joining' || member.phase === 'gone') continue;
      if (member.phase === 'live') member.socket.unsubscribe(this.topic);
      member.phase = 'syncing';
      this.sendJoined(member, catchUp, presence);
      void this.sync(member);
    }
  }

  // ---- members ------------------------------------------------------------

  /**
   * Answers a join with what the collaboration service returned, then brings
   * the member onto the live stream.
   */
  admit(member: Member, catchUp: CatchUp, presence: PresenceRecord[], ref?: string): void {
    const epoch = catchUp.kind === 'events' ? catchUp.epoch : catchUp.snapshot.epoch;
    const seq = catchUp.kind === 'events' ? catchUp.seq : catchUp.snapshot.seq;
    if (this.epoch === null) {
      this.epoch = epoch;
      this.seq = seq;
      const early = this.early;
      this.early = [];
      for (const outcome of early) this.onOutcome(outcome);
    } else if (epoch !== this.epoch) {
      // The session expired and was recreated between two reads.
      void this.resetFromSnapshot('epoch changed');
    }
    if (member.phase === 'gone') return;
    member.phase = 'syncing';
    this.sendJoined(member, catchUp, presence, ref);
    void this.sync(member);
  }

  private sendJoined(
    member: Member,
    catchUp: CatchUp,
    presence: PresenceRecord[],
    ref?: string,
  ): void {
    const others = presence
      .filter((p) => p.client !== member.client)
      .map(({ client, user, state }) => ({ client, user, state }));
    const withRef = ref === undefined ? {} : { ref };
    this.deps.metrics.messagesOut.inc();
    if (catchUp.kind === 'events') {
      member.seq = catchUp.seq;
      member.socket.send(
        encode({
          type: 'joined',
          doc: this.doc,
          epoch: catchUp.epoch,
          seq: catchUp.seq,
          events: catchUp.events,
          presence: others,
          ...withRef,
        }),
      );
    } else {
      const { epoch, seq, state } = catchUp.snapshot;
      member.seq = seq;
      member.socket.send(
        encode({ type: 'joined', doc: this.doc, epoch, seq, state, presence: others, ...withRef }),
      );
    }
  }

  /** Sends a syncing member the events between its seq and the feed's, then makes it live. */
  private async sync(member: Member): Promise<void> {
    while (member.phase === 'syncing') {
      if (member.seq === this.seq) {
        member.phase = 'live';
        member.socket.subscribe(this.topic);
        return;
      }
      if (member.seq > this.seq) {
        // The snapshot is newer than what reached this gateway: wait for the feed.
        this.recover(member.seq);
        return;
      }
      const first = this.recent[0]?.seq ?? Number.POSITIVE_INFINITY;
      if (member.seq + 1 >= first) {
        for (const outcome of this.recent.slice(member.seq + 1 - first))
          this.sendEventTo(member, outcome);
        continue;
      }
      const epoch = this.epoch as string;
      const events = await this.deps.collaboration.eventsAfter(this.doc, epoch, member.seq);
      if (member.phase !== 'syncing' || epoch !== this.epoch) return;
      if (events === null) {
        const catchUp = await this.deps.collaboration.open(this.doc);
        const presence = await this.deps.collaboration.listPresence(this.doc);
        if (member.phase !== 'syncing') return;
        this.sendJoined(member, catchUp, presence);
        continue;
      }
      for (const event of events) {
        if (event.seq === member.seq + 1 && event.seq <= this.seq) {
          this.sendEventTo(member, { kind: 'applied', doc: this.doc, epoch, ...event });
        }
      }
    }
  }

  /** A catch-up event for one member: its own ops come back as acks, as live ones would. */
  private sendEventTo(member: Member, outcome: Applied): void {
    member.seq = outcome.seq;
    if (outcome.client === member.client) {
      this.sendAck(member, outcome, false);
      return;
    }
    const { doc, seq, client, cseq, ops } = outcome;
    this.deps.metrics.messagesOut.inc();
    member.socket.send(encode({ type: 'event', doc, seq, client, cseq, ops }));
  }

  async close(): Promise<void> {
    await this.subscribed.catch(() => undefined);
    await this.deps.websockets.unsubscribe(this.doc);
  }
}
