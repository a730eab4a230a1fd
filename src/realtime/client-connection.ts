import { randomUUID } from 'node:crypto';
import {
  ProtocolError,
  parseClientMessage,
  type ErrorCode,
  type JoinMessage,
  type OpMessage,
  type PresenceMessage,
  type Rejection,
} from '../protocol';
import { unhandled } from '../protocol/exhaustive';
import { echoFieldsOf } from '../protocol/validate';
import type { ClientSocket } from './client-socket';
import { encode, errorText, refOf } from './wire';
import type { ConnectionHost, ConnectionIdentity, ConnectionLimits } from './connection-host';
import { accessTo } from './grants';
import { InflightOps } from './inflight-ops';
import type { Member } from './member';
import { TokenBucket } from './rate-limiter';
import { membershipBucket, membershipRefusal } from './join-limiter';
import { SUBSCRIBE_DEADLINE_MS, withDeadline } from './subscribe-deadline';
import { RequestRefusals } from './request-refusals';
import { seqOf } from '../document/catch-up';

/** One client connection: parses its frames and carries out its requests. */
export class ClientConnection {
  private readonly members = new Map<string, Member>();
  private readonly messageBucket: TokenBucket;
  private readonly presenceBucket: TokenBucket;
  /** Joins and leaves: each join may read a whole document, so they cost more than a message. */
  private readonly membershipBucket: TokenBucket;

  constructor(
    private readonly host: ConnectionHost,
    private readonly limits: ConnectionLimits,
    readonly socket: ClientSocket,
    readonly identity: ConnectionIdentity,
  ) {
    this.messageBucket = new TokenBucket(limits.messagesPerSecond, limits.messageBurst);
    this.presenceBucket = new TokenBucket(limits.presencePerSecond, limits.presencePerSecond);
    this.membershipBucket = membershipBucket(limits);
  }

  get client(): string {
    return this.identity.client;
  }

  get documentCount(): number {
    return this.members.size;
  }

  private reply(error: Rejection): void {
    const { code, message, ref, doc, cseq } = error;
    this.host.metrics.errors.inc({ code });
    this.host.metrics.messagesOut.inc();
    this.socket.send(errorText({ code, message, ref, doc, cseq }));
  }

  private send(text: string): void {
    this.host.metrics.messagesOut.inc();
    this.socket.send(text);
  }

  /** One text frame from the client. Never throws: bad input becomes an error reply. */
  onText(text: string): void {
    this.host.countMessageIn();
    if (!this.messageBucket.take()) {
      this.host.metrics.messagesIn.inc({ type: 'dropped' });
      // The refusal names the op message it drops (doc, cseq, ref): without
      // them a client cannot tell which op was not applied, and the SDK's
      // submit would wait for an answer that never comes.
      this.reply({
        code: 'RATE_LIMITED',
        message: `more than ${this.limits.messagesPerSecond} messages per second; this one was dropped, slow down`,
        ...echoFieldsOf(text),
      });
      return;
    }
    const parsed = parseClientMessage(text);
    if (!parsed.ok) {
      this.host.metrics.messagesIn.inc({ type: 'invalid' });
      this.reply(parsed.error);
      return;
    }
    const message = parsed.message;
    this.host.metrics.messagesIn.inc({ type: message.type });
    if ((message.type === 'join' || message.type === 'leave') && !this.membershipBucket.take()) {
      this.reply(membershipRefusal(message, this.limits));
      return;
    }
    switch (message.type) {
      case 'ping':
        this.send(encode({ type: 'pong', ...refOf(message.ref) }));
        return;
      case 'join':
        void this.join(message);
        return;
      case 'leave':
        this.leave(message.doc, true);
        this.send(
          encode({
            type: 'left',
            doc: message.doc,
            ...refOf(message.ref),
          }),
        );
        return;
      case 'op':
        this.op(message);
        return;
      case 'presence':
        this.presence(message);
        return;
      default:
        unhandled(message, 'client message');
    }
  }

  private async join(message: JoinMessage): Promise<void> {
    const { doc, ref } = message;
    const { collaboration } = this.host;
    if (accessTo(this.identity.grants, doc) === 'none') {
      this.reply(RequestRefusals.notGranted({ doc, ref }));
      return;
    }
    // A second join of the same document starts the membership over.
    if (this.members.has(doc)) this.leave(doc, false);
    if (this.members.size >= this.limits.docsPerConnection) {
      this.reply(RequestRefusals.tooManyDocuments({ doc, ref }, this.limits));
      return;
    }
    const member: Member = {
      doc,
      client: this.client,
      user: this.identity.user,
      socket: this.socket,
      phase: 'joining',
      seq: -1,
      held: [],
      inflight: new InflightOps(),
    };
    this.members.set(doc, member);
    const feed = this.host.feed(doc);
    feed.addMember(member);
    try {
      await withDeadline(feed.subscribed, SUBSCRIBE_DEADLINE_MS);
      const resume =
        message.since !== undefined && message.epoch !== undefined
          ? { seq: message.since, epoch: message.epoch }
          : undefined;
      const catchUp = await feed.open(resume);
      if (seqOf(catchUp) === 0 && !this.host.newDocuments.take(this.identity.user ?? this.client)) {
        // Left at once: the hub drops the blank session when the feed empties.
        if (this.members.get(doc) === member) this.leave(doc, false);
        this.reply(RequestRefusals.tooManyNewDocuments({ doc, ref }, this.limits));
        return;
      }
      // Presence carried by a join costs what a presence message costs; without
      // budget the join goes on and the presence is dropped (it is best effort).
      if (message.presence && this.presenceBucket.take())
        await this.host.presence.publish(member, message.presence);
      const presence = await collaboration.listPresence(doc);
      if (member.phase === 'gone') {
        // A later join or a leave of the same document came first; the
        // client still gets an answer to this one.
        this.reply(RequestRefusals.joinSuperseded({ doc, ref }));
        return;
      }
      if (!feed.admit(member, catchUp, presence, ref)) {
        if (this.members.get(doc) === member) this.leave(doc, false);
        return;
      }
      const held = member.held;
      member.held = [];
      for (const op of held) this.submit(member, op);
    } catch (err) {
      if (member.phase !== 'gone') this.leave(doc, false);
      this.replyFailure(err, { doc, ref }, 'join');
    }
  }

  /** Drops the membership; `announce` says whether others hear a null presence. */
  private leave(doc: string, announce: boolean): void {
    const member = this.members.get(doc);
    if (!member) return;
    this.members.delete(doc);
    const feed = this.host.feed(doc);
    // Its ops in flight are still answered on this connection (PROTOCOL.md section 5).
    this.host.resolver.adopt(member);
    feed.removeMember(member);
    for (const op of member.held) {
      this.reply(RequestRefusals.leftBeforeSent({ doc, cseq: op.cseq, ref: op.ref }));
    }
    if (announce || this.socket.closed) this.host.presence.departed(member);
    this.host.release(feed);
  }

  private op(message: OpMessage): void {
    const member = this.members.get(message.doc);
    const { doc, cseq, ref } = message;
    if (!member) {
      this.reply(RequestRefusals.notJoined({ doc, cseq, ref }, 'ops'));
      return;
    }
    if (accessTo(this.identity.grants, doc) !== 'write') {
      this.reply(RequestRefusals.readOnly({ doc, cseq, ref }));
      return;
    }
    if (member.phase === 'joining') member.held.push(message);
    else this.submit(member, message);
  }

  private submit(member: Member, message: OpMessage): void {
    const { doc, cseq, ops, ref } = message;
    member.inflight.add(cseq, ref);
    const seen = this.host.delivered(doc);
    this.host.ordering
      .submit({
        doc,
        client: this.client,
        ...(this.identity.user === null ? {} : { user: this.identity.user }),
        cseq,
        ops,
        acceptedAt: Date.now(),
        ...(ref === undefined ? {} : { ref }),
        ...(seen === undefined ? {} : { seen }),
      })
      .catch((err: unknown) => {
        member.inflight.take(cseq);
        this.replyFailure(err, { doc, cseq, ref }, 'op');
      });
  }

  private presence(message: PresenceMessage): void {
    const { doc, ref } = message;
    const member = this.members.get(doc);
    if (!member) {
      this.reply(RequestRefusals.notJoined({ doc, ref }, 'presence'));
      return;
    }
    if (!this.presenceBucket.take()) {
      this.reply(RequestRefusals.presenceLimited({ doc, ref }, this.limits));
      return;
    }
    this.host.presence
      .publish(member, message.state)
      .catch((err: unknown) =>
        this.host.log.warn({ doc, client: this.client, err }, 'presence update failed'),
      );
  }

  private replyFailure(
    err: unknown,
    context: { doc: string; cseq?: number; ref?: string | undefined },
    action: string,
  ): void {
    if (err instanceof ProtocolError) {
      this.reply({ code: err.code, message: err.message, ...context });
      return;
    }
    const correlation = randomUUID();
    this.host.log.error(
      { err, correlation, doc: context.doc, client: this.client, action },
      'request failed',
    );
    const code: ErrorCode = 'INTERNAL';
    this.reply({
      code,
      message: `internal error ${correlation}; the operators can find it in the logs`,
      ...context,
    });
  }

  /** The socket is gone: leave every document, announcing the departure. */
  closed(): void {
    for (const doc of [...this.members.keys()]) this.leave(doc, true);
  }
}
