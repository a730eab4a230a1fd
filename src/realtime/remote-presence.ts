import type { PresenceRecord } from '../document/catch-up';

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
