import type { EventRecord, JsonObject, Rejection, ServerMessage } from '../protocol';
import type { CatchUp, PresenceRecord } from '../document/catch-up';

/**
 * The server's text frames, built in one place: a message is encoded once
 * and the same text goes to every recipient.
 */
export function encode(message: ServerMessage): string {
  return JSON.stringify(message);
}

/** `{ ref }` when there is one, to spread into a direct reply. */
export function refOf(ref: string | undefined): { ref?: string } {
  return ref === undefined ? {} : { ref };
}

export function eventText(doc: string, event: EventRecord): string {
  const { seq, client, cseq, ops } = event;
  return encode({ type: 'event', doc, seq, client, cseq, ops });
}

export function ackText(
  doc: string,
  cseq: number,
  seq: number | null,
  duplicate: boolean,
  ref: string | undefined,
): string {
  return encode({
    type: 'ack',
    doc,
    cseq,
    seq,
    ...(duplicate ? { dup: true as const } : {}),
    ...refOf(ref),
  });
}

export function errorText({ code, message, doc, cseq, ref }: Rejection): string {
  return encode({
    type: 'error',
    code,
    message,
    ...(doc === undefined ? {} : { doc }),
    ...(cseq === undefined ? {} : { cseq }),
    ...refOf(ref),
  });
}

export function presenceText(
  doc: string,
  client: string,
  user: string | null,
  state: JsonObject | null,
): string {
  return encode({ type: 'presence', doc, client, user, state });
}

/** The answer to a join (or an unprompted resync): missed events, or a snapshot. */
export function joinedText(
  doc: string,
  catchUp: CatchUp,
  presence: PresenceRecord[],
  forClient: string,
  ref?: string,
): { text: string; seq: number } {
  const saved = catchUp.savedSeq === undefined ? {} : { savedSeq: catchUp.savedSeq };
  const others = presence
    .filter((p) => p.client !== forClient)
    .map(({ client, user, state }) => ({ client, user, state }));
  if (catchUp.kind === 'events') {
    const { epoch, seq, events } = catchUp;
    return {
      seq,
      text: encode({
        type: 'joined',
        doc,
        epoch,
        seq,
        events,
        presence: others,
        ...saved,
        ...refOf(ref),
      }),
    };
  }
  const { epoch, seq, state } = catchUp.snapshot;
  return {
    seq,
    text: encode({
      type: 'joined',
      doc,
      epoch,
      seq,
      state,
      presence: others,
      ...saved,
      ...refOf(ref),
    }),
  };
}

/** Every event of `doc` up to `seq` is in the document store. */
export function savedText(doc: string, seq: number): string {
  return encode({ type: 'saved', doc, seq });
}
