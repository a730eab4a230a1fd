import type { CatchUp, PresenceRecord, ResumePoint } from '../document/catch-up';
import type { DocumentBroadcast } from '../protocol/cluster-messages';
import { documentTopic } from './client-socket';
import type { FeedDeps } from './feed-deps';
import { FeedSubscription } from './feed-subscription';
import { tooLargeToJoin } from './join-refusals';
import type { Member } from './member';
import { ackText, errorText, eventText, joinedText, presenceText } from './wire';
import {
  OutcomeSequencer,
  type Applied,
  type Duplicate,
  type Rejected,
  type SequencerSink,
} from './outcome-sequencer';

/** Events kept in memory to bring a new member up to date without a Redis round trip. */
const RECENT_EVENTS = 512;
/**
 * Fan-out happens inside the transport, which does not report who fell
 * behind; every this many events the feed checks its members' buffers.
 */
const BACKPRESSURE_CHECK_EVERY = 8;

/**
 * One document on one gateway: its members, and the in-order stream of its
 * events (from an OutcomeSequencer) fanned out to them. Each member is
 * brought onto that stream without a gap or a duplicate.
 *
 * Invariant: every live member has been sent exactly the events up to the
 * sequencer's seq, so one topic publish per event keeps all of them in step.
 */
export class DocumentFeed implements SequencerSink {
  readonly topic: string;
  readonly members = new Set<Member>();
  private readonly byClient = new Map<string, Set<Member>>();
  private readonly sequencer: OutcomeSequencer;
  private recent: Applied[] = [];
  /** Clients present through other gateways, with their gateway: for when one dies. */
  private readonly remotePresence = new Map<string, string>();
  /** The snapshot open in flight or last made, shared by joins until the feed's seq moves. */
  private sharedOpen: { seq: number; promise: Promise<CatchUp> } | null = null;
  private readonly subscription: FeedSubscription;

  constructor(
    readonly doc: string,
    private readonly deps: FeedDeps,
  ) {
    this.topic = documentTopic(doc);
    this.sequencer = new OutcomeSequencer(doc, deps.collaboration, this, deps.metrics, deps.log);
    this.subscription = new FeedSubscription(() =>
      deps.websockets.subscribe(doc, (message) => this.onBroadcast(message)),
    );
    void this.subscription.ready().catch(() => undefined);
  }

  /** Resolves once the document's broadcasts reach this feed; a failure is retried by the next call. */
  get subscribed(): Promise<void> {
    return this.subscription.ready();
  }

  get seq(): number {
    return this.sequencer.seq;
  }

  get epoch(): string | null {
    return this.sequencer.epoch;
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

  onBroadcast(message: DocumentBroadcast): void {
    if (message.kind === 'presence') {
      // The origin gateway delivered it to its own members already.
      if (message.origin === this.deps.nodeId) return;
      const { client, user, state } = message;
      if (state === null) this.remotePresence.delete(client);
      else this.remotePresence.set(client, message.origin);
      this.deps.broadcaster.broadcast(this.topic, presenceText(this.doc, client, user, state));
      return;
    }
    for (const outcome of message.outcomes) this.sequencer.accept(outcome);
  }

  /**
   * What a join needs from the collaboration service. Snapshot joins at one
   * seq share one snapshot, so that many joiners of a large document cost one
   * read of it, not one each.
   */
  open(resume?: ResumePoint): Promise<CatchUp> {
    if (resume) return this.deps.collaboration.open(this.doc, resume);
    const shared = this.sharedOpen;
    if (shared && shared.seq === this.seq) return shared.promise;
    const promise = this.deps.collaboration.open(this.doc);
    this.sharedOpen = { seq: this.seq, promise };
    promise.catch(() => {
      if (this.sharedOpen?.promise === promise) this.sharedOpen = null;
    });
    return promise;
  }

  refresh(): Promise<void> {
    return this.sequencer.refresh();
  }

  /**
   * Announces the departure (presence null) of every client that was present
   * through a gateway no longer among `liveNodes`: a gateway that crashed
   * cannot say goodbye for its clients.
   */
  forgetPresenceOutside(liveNodes: ReadonlySet<string>): void {
    for (const [client, node] of this.remotePresence) {
      if (liveNodes.has(node)) continue;
      this.remotePresence.delete(client);
      this.deps.broadcaster.broadcast(this.topic, presenceText(this.doc, client, null, null));
    }
  }

  // ---- the sequencer's sink ------------------------------------------------

  active(): boolean {
    return this.members.size > 0;
  }

  deliveredAt(seq: number): { client: string; cseq: number } | undefined {
    const first = this.recent[0]?.seq;
    return first === undefined ? undefined : this.recent[seq - first];
  }

  /** Sends one event to every live member and the ack to its sender. */
  deliver(outcome: Applied): void {
    this.recent.push(outcome);
    if (this.recent.length > RECENT_EVENTS * 2) this.recent = this.recent.slice(-RECENT_EVENTS);
    const { doc, seq, client } = outcome;
    const text = eventText(doc, outcome);
    this.deps.metrics.eventsDelivered.inc();
    const senders = this.byClient.get(client);
    const liveSender = senders?.size === 1 ? [...senders][0] : undefined;
    if (liveSender && liveSender.phase === 'live')
      liveSender.socket.publishToOthers(this.topic, text);
    else this.deps.broadcaster.broadcast(this.topic, text);
    // A syncing sender gets its ack from the catch-up path instead.
    for (const member of senders ?? []) if (member.phase === 'live') this.sendAck(member, outcome);
    if (seq % BACKPRESSURE_CHECK_EVERY === 0) {
      for (const member of this.members)
        if (member.phase === 'live') member.socket.checkBackpressure();
    }
  }

  /**
   * A duplicate is acked only to members that have that cseq in flight: a
   * worker that re-applies a batch after a crash produces duplicates the
   * client never resent and was already acked for.
   */
  acknowledge(outcome: Duplicate): void {
    // A null seq is no proof that the op was ever applied (the dedupe record
    // keeps only the highest cseq): the op stays in flight, and the pending-op
    // resolver answers it from the history.
    if (outcome.seq === null) return;
    for (const member of this.byClient.get(outcome.client) ?? []) {
      if (member.phase !== 'joining' && member.inflight.has(outcome.cseq))
        this.sendAck(member, outcome);
    }
  }

  /** Only a copy in flight is answered: the same outcome may arrive twice (locally and by pub/sub). */
  reject(outcome: Rejected): void {
    const { client, cseq, code, message } = outcome;
    for (const member of this.byClient.get(client) ?? []) {
      const copy = member.inflight.take(cseq);
      if (!copy) continue;
      this.deps.metrics.errors.inc({ code });
      member.socket.send(errorText({ code, message, doc: this.doc, cseq, ref: copy.ref }));
    }
  }

  advanced(): void {
    for (const member of this.members) {
      if (member.phase === 'syncing' && member.seq <= this.seq) void this.sync(member);
    }
  }

  /**
   * Starts over from the current snapshot (the epoch changed, or the history
   * lost events we missed) and sends every member a fresh `joined`.
   */
  async reset(reason: string): Promise<void> {
    const catchUp = await this.deps.collaboration.open(this.doc);
    if (catchUp.kind !== 'snapshot') return;
    const { snapshot } = catchUp;
    this.deps.log.warn(
      { doc: this.doc, reason, epoch: snapshot.epoch, seq: snapshot.seq },
      'document feed reset from snapshot',
    );
    this.sequencer.restart(snapshot.epoch, snapshot.seq);
    this.recent = [];
    this.sharedOpen = null;
    const presence = await this.deps.collaboration.listPresence(this.doc);
    for (const member of this.members) {
      if (member.phase === 'joining' || member.phase === 'gone') continue;
      if (member.phase === 'live') member.socket.unsubscribe(this.topic);
      member.phase = 'syncing';
      if (this.sendJoined(member, catchUp, presence)) void this.sync(member);
    }
  }

  // ---- acks and members ----------------------------------------------------

  /**
   * `queued` (the live path) batches the ack with this turn's fan-out; the
   * catch-up path sends directly, in line with the catch-up events it sends.
   */
  private sendAck(member: Member, outcome: Applied | Duplicate, queued = true): void {
    // The copy this ack answers knows its ref even when the outcome came
    // from the history rather than the live broadcast.
    const copy = member.inflight.take(outcome.cseq);
    if (copy) this.deps.metrics.ackLatency.observe((performance.now() - copy.since) / 1000);
    const { doc, cseq, seq } = outcome;
    const ref = copy ? copy.ref : outcome.ref;
    this.deps.metrics.messagesOut.inc();
    const text = ackText(doc, cseq, seq, outcome.kind === 'duplicate', ref);
    if (queued) member.socket.sendQueued(text);
    else member.socket.send(text);
  }

  /** The receive time of the oldest unacked op of any member here, or undefined. */
  oldestInflight(): number | undefined {
    let oldest: number | undefined;
    for (const member of this.members) {
      const since = member.inflight.oldest();
      if (since !== undefined && (oldest === undefined || since < oldest)) oldest = since;
    }
    return oldest;
  }

  /**
   * Answers a join with what the collaboration service returned, then brings
   * the member onto the live stream.
   */
  admit(member: Member, catchUp: CatchUp, presence: PresenceRecord[], ref?: string): boolean {
    for (const record of presence) {
      if (record.node !== this.deps.nodeId) this.remotePresence.set(record.client, record.node);
    }
    const epoch = catchUp.kind === 'events' ? catchUp.epoch : catchUp.snapshot.epoch;
    const seq = catchUp.kind === 'events' ? catchUp.seq : catchUp.snapshot.seq;
    if (this.sequencer.epoch === null) this.sequencer.start(epoch, seq);
    // The session expired and was recreated between two reads.
    else if (epoch !== this.sequencer.epoch) void this.reset('epoch changed');
    if (member.phase === 'gone') return false;
    if (!this.sendJoined(member, catchUp, presence, ref)) return false;
    member.phase = 'syncing';
    void this.sync(member);
    return true;
  }

  private sendJoined(
    member: Member,
    catchUp: CatchUp,
    presence: PresenceRecord[],
    ref?: string,
  ): boolean {
    const { text, seq } = joinedText(this.doc, catchUp, presence, member.client, ref);
    const limit = this.deps.maxJoinedBytes;
    // A UTF-8 byte is at most 3 per UTF-16 unit: most texts need no count.
    if (limit !== undefined && text.length * 3 > limit) {
      const bytes = Buffer.byteLength(text);
      if (bytes > limit) {
        this.deps.log.warn({ doc: this.doc, bytes, limit }, 'document too large to send');
        this.deps.metrics.errors.inc({ code: 'TOO_LARGE' });
        member.socket.send(errorText(tooLargeToJoin(this.doc, bytes, limit, ref)));
        return false;
      }
    }
    this.deps.metrics.messagesOut.inc();
    member.seq = seq;
    member.socket.send(text);
    return true;
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
        this.sequencer.recover(member.seq);
        return;
      }
      const first = this.recent[0]?.seq ?? Number.POSITIVE_INFINITY;
      if (member.seq + 1 >= first) {
        for (const outcome of this.recent.slice(member.seq + 1 - first))
          this.sendEventTo(member, outcome);
        continue;
      }
      const epoch = this.sequencer.epoch as string;
      const events = await this.deps.collaboration.eventsAfter(this.doc, epoch, member.seq);
      if (member.phase !== 'syncing' || epoch !== this.sequencer.epoch) return;
      if (events === null) {
        const catchUp = await this.deps.collaboration.open(this.doc);
        const presence = await this.deps.collaboration.listPresence(this.doc);
        if (member.phase !== 'syncing') return;
        if (!this.sendJoined(member, catchUp, presence)) return;
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
    this.deps.metrics.messagesOut.inc();
    member.socket.send(eventText(this.doc, outcome));
  }

  async close(): Promise<void> {
    await this.subscription.settled();
    await this.deps.websockets.unsubscribe(this.doc);
  }
}
