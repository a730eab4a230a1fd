import { commitStaged, stageMessage } from '../../document/apply-ops';
import { jsonBytesOf, sizeDelta, stateSize, tooLargeMessage } from '../../document/document-size';
import { submitterKey, type ApplyOutcome, type OpSubmission } from '../../document/op-submission';
import { DEDUPE_WINDOW } from './dedupe-bounds';
import { SUBMITTER, type KeptEvent, type MemorySession } from './memory-session';

/** The bounds an in-memory apply keeps. */
export interface MemoryApplyLimits {
  /** Events kept per document (HISTORY_LENGTH). */
  historyLength: number;
  /** A document's state may be at most this many bytes as JSON (DOC_MAX_BYTES). */
  maxDocBytes: number;
}

/**
 * Applies one op message to a document in memory, the counterpart of the
 * apply-6 script: dedupe by (submitter, cseq), the ops all or none within the
 * size limit, the next seq, the history and the dedupe record. Apart from
 * the service because these are the ordering rules themselves, which the
 * behaviour suite holds both backends to; the service only finds the document.
 */
export function applySubmission(
  doc: string,
  session: MemorySession,
  sub: OpSubmission,
  limits: MemoryApplyLimits,
): ApplyOutcome {
  const ref = sub.ref === undefined ? {} : { ref: sub.ref };
  const submitter = submitterKey(sub.client, sub.user);
  const known = session.lastApplied.get(submitter) ?? [];
  const last = known.at(-1);
  if (last && sub.cseq <= last.cseq) {
    const seq = known.find((pair) => pair.cseq === sub.cseq)?.seq ?? null;
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
  const staged = stageMessage(session.state, sub.ops);
  const who = { kind: 'rejected', doc, client: sub.client, cseq: sub.cseq, ...ref } as const;
  if ('refusal' in staged) return { ...who, code: 'BAD_REQUEST', message: staged.refusal };
  const size = (session.size ??= stateSize(session.state));
  const delta = sizeDelta(session.state, staged.changes);
  const max = limits.maxDocBytes;
  if (delta > 0 && jsonBytesOf(size + delta) > max)
    return {
      ...who,
      code: 'TOO_LARGE',
      message: tooLargeMessage(jsonBytesOf(size + delta), max),
    };
  commitStaged(session.state, staged.changes);
  session.size = size + delta;
  const seq = ++session.seq;
  known.push({ cseq: sub.cseq, seq });
  if (known.length > DEDUPE_WINDOW) known.shift();
  session.lastApplied.set(submitter, known);
  const event: KeptEvent = { seq, client: sub.client, cseq: sub.cseq, ops: sub.ops };
  if (submitter !== sub.client) Object.defineProperty(event, SUBMITTER, { value: submitter });
  session.history.push(event);
  // Trim in chunks so that the history costs amortised O(1) per event.
  const limit = limits.historyLength;
  if (session.history.length > limit * 2) session.history.splice(0, session.history.length - limit);
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
