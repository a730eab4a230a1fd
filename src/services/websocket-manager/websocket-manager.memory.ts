import type {
  BroadcastListener,
  ClusterStats,
  NodeStats,
  WebSocketManager,
} from './websocket-manager';
import type { DocumentBroadcast } from '../../protocol/cluster-messages';

/** Fan-out inside this process only: gateways in other processes never hear of it. */
export class MemoryWebSocketManager implements WebSocketManager {
  readonly mode = 'memory' as const;
  private readonly listeners = new Map<string, BroadcastListener>();

  async publish(message: DocumentBroadcast): Promise<void> {
    this.listeners.get(message.doc)?.(message);
  }

  async subscribe(doc: string, listener: BroadcastListener): Promise<void> {
    this.listeners.set(doc, listener);
  }

  async unsubscribe(doc: string): Promise<void> {
    this.listeners.delete(doc);
  }

  async heartbeat(_stats: NodeStats): Promise<void> {}

  async clusterStats(): Promise<ClusterStats | null> {
    return null;
  }

  async close(): Promise<void> {
    this.listeners.clear();
  }
}
