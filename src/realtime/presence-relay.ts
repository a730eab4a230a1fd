import type { Logger } from 'pino';
import type { JsonObject } from '../protocol';
import type { CollaborationService } from '../services/collaboration/collaboration-service';
import type { WebSocketManager } from '../services/websocket-manager/websocket-manager';
import { documentTopic, type Broadcaster } from './client-socket';
import { presenceText } from './wire';
import type { Member } from './member';

export interface PresenceRelayDeps {
  nodeId: string;
  collaboration: CollaborationService;
  websockets: WebSocketManager;
  broadcaster: Broadcaster;
  log: Logger;
}

/**
 * Presence of this gateway's members: delivered to the local members at
 * once, stored for later joiners, and published to the other gateways (which
 * skip what they themselves originated). Best effort: never ordered with
 * events, never queued.
 */
export class PresenceRelay {
  constructor(private readonly deps: PresenceRelayDeps) {}

  /** A member's new state (null clears it). */
  async publish(member: Member, state: JsonObject | null): Promise<void> {
    const { collaboration, websockets, nodeId } = this.deps;
    const { doc, client, user } = member;
    member.socket.publishToOthers(documentTopic(doc), presenceText(doc, client, user, state));
    if (state === null) await collaboration.clearPresence(doc, client);
    else await collaboration.setPresence(doc, { client, user, state, node: nodeId });
    await websockets.publish({ kind: 'presence', doc, origin: nodeId, client, user, state });
  }

  /** A member left or disconnected: everyone else hears `null`. */
  departed(member: Member): void {
    const { collaboration, websockets, broadcaster, log, nodeId } = this.deps;
    const { doc, client, user } = member;
    broadcaster.broadcast(documentTopic(doc), presenceText(doc, client, user, null));
    collaboration
      .clearPresence(doc, client)
      .then(() =>
        websockets.publish({ kind: 'presence', doc, origin: nodeId, client, user, state: null }),
      )
      .catch((err: unknown) => log.warn({ doc, client, err }, 'presence cleanup failed'));
  }
}
