import type { CatchUp, PresenceRecord, ResumePoint } from '../document/catch-up';
import type { DocumentBroadcast } from '../protocol/cluster-messages';
import { documentTopic } from './client-socket';
import type { FeedDeps } from './feed-deps';
import { FeedSubscription } from './feed-subscription';
import { oversizedJoin, tooLargeToJoin } from './join-refusals';
import { RecentEvents } from './recent-events';
import { SharedOpen } from './shared-open';
import { FeedMembers } from './feed-members';
import { RemotePresence } from './remote-presence';
import type { Member } from './member';
import { errorText, eventText, joinedText, presenceText, savedText } from './wire';
import { ackMember, refuseMember, sendCatchUpEvent } from './member-answers';
import {
  OutcomeSequencer,
  type Applied,
  type Duplicate,
  type Rejected,
  type SequencerSink,
} from './outcome-sequencer';

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
  readonly members = new FeedMembers();
  private readonly sequencer: OutcomeSequencer;
  private readonly recent = new RecentEvents();
  private readonly remotePresence: RemotePresence;
  /** The snapshot open in flight or last made, shared by joins until the feed's seq moves. */
  private readonly sharedOpen = new SharedOpen();
  private readonly subscription: FeedSubscription;

  constructor(
    readonly doc: string,
    private readonly deps: FeedDeps,
  ) {
    this.topic = documentTopic(doc);
    this.remotePresence = new RemotePresence(deps.nodeId);
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

  /** The epoch and the highest seq delivered here, once known. */
  get delivered(): { epoch: string; seq: number } | undefined {
    const { epoch, seq } = this.sequencer;
    return epoch === null ? undefined : { epoch, seq };
  }

  addMember(member: Member): void {
    this.members.add(member);
  }

  removeMember(member: Member): void {
    if (member.phase === 'live') member.socket.unsubscribe(this.topic);
    member.phase = 'gone';
    this.members.delete(member);
  }

  onBroadcast(message: DocumentBroadcast): void {
    if (message.kind === 'outcomes') {
      for (const outcome of message.outcomes) this.sequencer.accept(outcome);
      return;
    }
    const text =
      message.kind === 'presence'
        ? this.remotePresence.textFor(message)
        : savedText(this.doc, message.seq);
    if (text !== null && this.members.size > 0) this.deps.broadcaster.broadcast(this.topic, text);
  }

  /**
   * What a join needs from the collaboration service. Snapshot joins at one
   * seq share one snapshot, so that many joiners of a large document cost one
   * read of it, not one each.
   */
  open(resume?: ResumePoint): Promise<CatchUp> {
    if (resume) return this.deps.collaboration.open(this.doc, resume);
    return this.sharedOpen.at(this.seq, () => this.deps.collaboration.open(this.doc));
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
    for (const client of this.remotePresence.takeOutside(liveNodes))
      this.deps.broadcaster.broadcast(this.topic, presenceText(this.doc, client, null, null));
  }

  // ---- the sequencer's sink ------------------------------------------------

  active(): boolean {
    return this.members.size > 0;
  }

  deliveredAt(seq: number): { client: string; cseq: number } | undefined {
    return this.recent.at(seq);
  }

  /** Sends one event to every live member and the ack to its sender. */
  deliver(outcome: Applied): void {
    this.recent.push(outcome);
    const { doc, seq, client } = outcome;
    const text = eventText(doc, outcome);
    this.deps.metrics.eventsDelivered.inc();
    const liveSender = this.members.onlyLive(client);
    if (liveSender) liveSender.socket.publishToOthers(this.topic, text);
    else this.deps.broadcaster.broadcast(this.topic, text);
    // A syncing sender gets its ack from the catch-up path instead.
    for (const member of this.members.of(client))
      if (member.phase === 'live') this.sendAck(member, outcome);
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
    for (const member of this.members.of(outcome.client)) {
      if (member.phase !== 'joining' && member.inflight.has(outcome.cseq))
        this.sendAck(member, outcome);
    }
  }

  /** Only a copy in flight is answered: the same outcome may arrive twice (locally and by pub/sub). */
  reject(outcome: Rejected): void {
    for (const member of this.members.of(outcome.client))
      refuseMember(member, outcome, this.deps.metrics);
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
    this.recent.clear();
    this.sharedOpen.clear();
    const presence = await this.deps.collaboration.listPresence(this.doc);
    for (const member of this.members) {
      if (member.phase === 'joining' || member.phase === 'gone') continue;
      if (member.phase === 'live') member.socket.unsubscribe(this.topic);
      member.phase = 'syncing';
      if (this.sendJoined(member, catchUp, presence)) void this.sync(member);
    }
  }

  // ---- acks and members ----------------------------------------------------

  private sendAck(member: Member, outcome: Applied | Duplicate, queued = true): void {
    const waitedMs = ackMember(member, outcome, this.deps.metrics, queued);
    if (waitedMs !== undefined) this.deps.answerLag?.note(waitedMs, performance.now());
  }

  /** The receive time of the oldest unacked op of any member here, or undefined. */
  oldestInflight(): number | undefined {
    return this.members.oldestInflight();
  }

  /**
   * Answers a join with what the collaboration service returned, then brings
   * the member onto the live stream.
   */
  admit(member: Member, catchUp: CatchUp, presence: PresenceRecord[], ref?: string): boolean {
    this.remotePresence.read(presence);
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
    const tooLarge = oversizedJoin(text, this.deps.maxJoinedBytes);
    if (tooLarge) {
      const { bytes, limit } = tooLarge;
      this.deps.log.warn({ doc: this.doc, bytes, limit }, 'document too large to send');
      this.deps.metrics.errors.inc({ code: 'TOO_LARGE' });
      member.socket.send(errorText(tooLargeToJoin(this.doc, bytes, limit, ref)));
      return false;
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
      const kept = this.recent.after(member.seq);
      if (kept) {
        for (const outcome of kept) sendCatchUpEvent(member, outcome, this.deps.metrics);
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
          sendCatchUpEvent(
            member,
            { kind: 'applied', doc: this.doc, epoch, ...event },
            this.deps.metrics,
          );
        }
      }
    }
  }

  async close(): Promise<void> {
    await this.subscription.settled();
    await this.deps.websockets.unsubscribe(this.doc);
  }
}
