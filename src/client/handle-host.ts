import type { OpMessage, PresenceEntry, PresenceMessage } from '../protocol/messages';
import type { DocumentEvents, DocumentLink, SubmitResult } from './document-types';
import type { TypedEmitter } from './events';
import type { DocumentReplica } from './replica';

/**
 * What a `DocumentHandle` reads and drives on the session behind it
 * (`DocumentSession`): the handle is the user's view, the session owns the
 * state. Kept narrow so that the handle cannot reach the join machinery.
 */
export interface HandleHost {
  readonly doc: string;
  readonly link: Pick<DocumentLink, 'maxFrameBytes' | 'nextCseq'>;
  readonly replica: DocumentReplica;
  readonly others: ReadonlyMap<string, PresenceEntry>;
  /** The highest seq the server reports in durable storage (undefined: no store). */
  readonly saved: { readonly seq: number | undefined };
  /** Whether the document has not been joined for longer than `stallAfterMs`. */
  readonly stall: { readonly stalled: boolean };
  readonly live: boolean;
  readonly left: boolean;
  on: TypedEmitter<DocumentEvents>['on'];
  once: TypedEmitter<DocumentEvents>['once'];
  /** Adds a checked op message to the pending layer; sends it when joined. */
  submit(message: OpMessage): Promise<SubmitResult>;
  /** Keeps this client's presence for re-joins; sends it when joined. */
  setPresence(message: PresenceMessage): void;
  leave(): Promise<void>;
}
