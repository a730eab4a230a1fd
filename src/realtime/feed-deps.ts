import type { Logger } from 'pino';
import type { Metrics } from '../observability/metrics';
import type { CollaborationService } from '../services/collaboration/collaboration-service';
import type { WebSocketManager } from '../services/websocket-manager/websocket-manager';
import type { AnswerLag } from './answer-lag';
import type { Broadcaster } from './client-socket';

/** What a DocumentFeed is built with: the services it reads and the fan-out it publishes on. */
export interface FeedDeps {
  nodeId: string;
  collaboration: CollaborationService;
  websockets: WebSocketManager;
  broadcaster: Broadcaster;
  metrics: Metrics;
  log: Logger;
  /** Told how long each answered op waited (the gateway's AnswerLag). */
  answerLag?: AnswerLag;
  /**
   * The largest `joined` this gateway can send in one frame (above it the
   * transport would drop the connection without a word); a larger one is
   * answered TOO_LARGE instead.
   */
  maxJoinedBytes?: number;
}
