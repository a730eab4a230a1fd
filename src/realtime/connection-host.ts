import type { Logger } from 'pino';
import type { FlowConfig } from '../config';
import type { Metrics } from '../observability/metrics';
import type { ClientIdClaim } from '../services/client-ids/client-id-registry';
import type { CollaborationService } from '../services/collaboration/collaboration-service';
import type { EventOrderingService } from '../services/event-ordering/event-ordering-service';
import type { DocumentFeed } from './document-feed';
import type { Grants } from './grants';
import type { NewDocumentBudget } from './new-document-budget';
import type { PendingOpResolver } from './pending-op-resolver';
import type { PresenceRelay } from './presence-relay';

export interface ConnectionIdentity {
  client: string;
  /** The token's `sub`; null when authentication is off. */
  user: string | null;
  grants: Grants;
  /** This connection's hold on its client id (see ClientIdGuard). */
  claim?: ClientIdClaim;
  /** When the token stops (ms since the epoch); null or absent when auth is off. */
  expiresAt?: number | null;
}

/** The limits one connection enforces on its own requests. */
export type ConnectionLimits = Pick<
  FlowConfig['limits'],
  | 'messagesPerSecond'
  | 'messageBurst'
  | 'presencePerSecond'
  | 'docsPerConnection'
  | 'joinsPerSecond'
  | 'newDocsPerMinute'
>;

/**
 * What a ClientConnection uses of the gateway it runs in (GatewayHub
 * implements it): the services it calls, the feeds it joins, the metrics it
 * counts on. Nothing else of the hub is reachable from a connection.
 */
export interface ConnectionHost {
  readonly collaboration: Pick<CollaborationService, 'open' | 'listPresence'>;
  readonly ordering: Pick<EventOrderingService, 'submit'>;
  readonly presence: Pick<PresenceRelay, 'publish' | 'departed'>;
  /** Documents nobody edited yet that each user may open per minute. */
  readonly newDocuments: Pick<NewDocumentBudget, 'take'>;
  /** Answers the ops of memberships that ended while their ops were in flight. */
  readonly resolver: Pick<PendingOpResolver, 'adopt'>;
  readonly metrics: Pick<Metrics, 'errors' | 'messagesIn' | 'messagesOut'>;
  readonly log: Logger;
  /** Counts one frame from a client, for the gateway's stats. */
  countMessageIn(): void;
  /** What this gateway delivered of `doc`, sent along with ops so the apply can tell a lost history. */
  delivered(doc: string): { epoch: string; seq: number } | undefined;
  /** The document's feed, made (and subscribed) when it has none. */
  feed(doc: string): DocumentFeed;
  /** Called when a member left the feed: it lingers, then unsubscribes if still empty. */
  release(feed: DocumentFeed): void;
}
