import type { PresenceEntry, PresenceUpdateMessage } from '../protocol/messages';

/** The presence of the other clients in one document, as this client last heard it. */
export class OthersPresence extends Map<string, PresenceEntry> {
  /** Everyone present, from a `joined`; `self` (this client) is left out. */
  replace(entries: readonly PresenceEntry[], self: string): void {
    this.clear();
    for (const entry of entries) if (entry.client !== self) this.set(entry.client, entry);
  }

  /** One client's update; false when it was this client's own (nothing changed). */
  update(message: PresenceUpdateMessage, self: string): boolean {
    const { client, user, state } = message;
    if (client === self) return false;
    if (state === null) this.delete(client);
    else this.set(client, { client, user, state });
    return true;
  }
}
