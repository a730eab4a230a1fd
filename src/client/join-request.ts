import type { JoinMessage, JsonObject } from '../protocol/messages';
import type { DocumentReplica } from './replica';

/**
 * The join (or re-join) of a document: from where the replica stands when
 * it knows the document, so that the server answers with the missed events
 * rather than a snapshot; with this client's presence, so others see it at once.
 */
export function joinRequest(
  doc: string,
  replica: DocumentReplica,
  presence: JsonObject | null,
): JoinMessage {
  const message: JoinMessage = { type: 'join', doc };
  if (replica.known) {
    message.since = replica.seq;
    message.epoch = replica.epoch;
  }
  if (presence) message.presence = presence;
  return message;
}
