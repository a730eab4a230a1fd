import type { PresenceRecord } from '../document/catch-up';
import type { DocumentBroadcast } from '../protocol/cluster-messages';
import { presenceText } from './wire';

/**
 * The clients present on a document through other gateways, with their
 * gateway: a gateway that crashes cannot say goodbye for its clients, so the
 * feeds that saw them announce their departure once it is gone.
 */
export class RemotePresence {
  private readonly nodeOf = new Map<string, string>();

  constructor(private readonly localNode: string) {}

  /** A presence broadcast from gateway `origin`: null state is a departure. */
  heard(client: string, origin: string, present: boolean): void {
    if (!present) this.nodeOf.delete(client);
    else this.nodeOf.set(client, origin);
  }

  /**
   * A presence broadcast: the message for this gateway's members, or null
   * when this gateway sent it (it delivered it to its own members already).
   */
  textFor(message: Extract<DocumentBroadcast, { kind: 'presence' }>): string | null {
    if (message.origin === this.localNode) return null;
    const { client, user, state } = message;
    this.heard(client, message.origin, state !== null);
    return presenceText(message.doc, client, user, state);
  }

  /** The presence records a join read. */
  read(records: readonly PresenceRecord[]): void {
    for (const record of records) {
      if (record.node !== this.localNode) this.nodeOf.set(record.client, record.node);
    }
  }

  /** Forgets and returns the clients whose gateway is not among `liveNodes`. */
  takeOutside(liveNodes: ReadonlySet<string>): string[] {
    const gone: string[] = [];
    for (const [client, node] of this.nodeOf) {
      if (liveNodes.has(node)) continue;
      this.nodeOf.delete(client);
      gone.push(client);
    }
    return gone;
  }
}
