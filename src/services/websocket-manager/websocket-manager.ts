import type { DocumentBroadcast } from '../../protocol/cluster-messages';

export type BroadcastListener = (message: DocumentBroadcast) => void;

/** One gateway's figures, as shared with the other nodes. */
export interface NodeStats {
  node: string;
  role: string;
  connections: number;
  documents: number;
  updatedAt: number;
}

export interface ClusterStats {
  nodes: NodeStats[];
  connections: number;
}

/** Connections across gateways: fan-out between them and the cluster-wide registry. */
export interface WebSocketManager {
  readonly mode: 'memory' | 'redis';
  /** Sends to every process subscribed to the document (at most once; gaps are recovered by seq). */
  publish(message: DocumentBroadcast): Promise<void>;
  /** Starts delivering the document's broadcasts to `listener`. One listener per document. */
  subscribe(doc: string, listener: BroadcastListener): Promise<void>;
  unsubscribe(doc: string): Promise<void>;
  /** Records this node's figures in the registry. */
  heartbeat(stats: NodeStats): Promise<void>;
  /** Figures of every live node, or null when this manager sees only this process. */
  clusterStats(): Promise<ClusterStats | null>;
  close(): Promise<void>;
}
