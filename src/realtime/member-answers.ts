import type { Metrics } from '../observability/metrics';
import type { Member } from './member';
import type { Applied, Duplicate, Rejected } from './outcome-sequencer';
import { ackText, errorText, eventText } from './wire';

type AnswerMetrics = Pick<Metrics, 'ackLatency' | 'messagesOut' | 'errors'>;

/**
 * Acks one op of a member. `queued` (the live path) batches the ack with this
 * turn's fan-out; the catch-up path sends at once, in line with the catch-up
 * events it sends. Returns how long the op waited for it (ms), when it was
 * in flight here.
 */
export function ackMember(
  member: Member,
  outcome: Applied | Duplicate,
  metrics: AnswerMetrics,
  queued: boolean,
): number | undefined {
  // The copy this ack answers knows its ref even when the outcome came
  // from the history rather than the live broadcast.
  const copy = member.inflight.take(outcome.cseq);
  const waitedMs = copy ? performance.now() - copy.since : undefined;
  if (waitedMs !== undefined) metrics.ackLatency.observe(waitedMs / 1000);
  const { doc, cseq, seq } = outcome;
  const ref = copy ? copy.ref : outcome.ref;
  metrics.messagesOut.inc();
  const text = ackText(doc, cseq, seq, outcome.kind === 'duplicate', ref);
  if (queued) member.socket.sendQueued(text);
  else member.socket.send(text);
  return waitedMs;
}

/** Answers a member's op with the error it was refused with, when that op is still in flight. */
export function refuseMember(member: Member, outcome: Rejected, metrics: AnswerMetrics): void {
  const { doc, cseq, code, message } = outcome;
  const copy = member.inflight.take(cseq);
  if (!copy) return;
  metrics.errors.inc({ code });
  member.socket.send(errorText({ code, message, doc, cseq, ref: copy.ref }));
}

/** A catch-up event for one member: its own ops come back as acks, as live ones would. */
export function sendCatchUpEvent(member: Member, outcome: Applied, metrics: AnswerMetrics): void {
  member.seq = outcome.seq;
  if (outcome.client === member.client) {
    ackMember(member, outcome, metrics, false);
    return;
  }
  metrics.messagesOut.inc();
  member.socket.send(eventText(outcome.doc, outcome));
}
