/** A connection's hold on a client id, recorded when its upgrade is accepted. */
export interface ClientIdClaim {
  client: string;
  /** The token's `sub`; null when authentication is off (no ownership then). */
  user: string | null;
  /** The gateway that holds the connection. */
  node: string;
  /** Names this one connection, so that a takeover closes exactly it. */
  connection: string;
}

export type ClaimOutcome =
  | { kind: 'claimed' }
  /** Another user owns the client id; the upgrade must be refused. */
  | { kind: 'refused' };

/** Told that a newer connection took over the client id held by `connection` on this node. */
export type TakeoverListener = (client: string, connection: string) => void;

/**
 * Who holds each client id, cluster-wide (PROTOCOL.md section 1): one open
 * connection at a time, and with authentication on, one user for as long as
 * the server keeps records of the client id.
 *
 * Ownership outlives the connection: a released id stays its user's for the
 * retention time (REDIS_SESSION_TTL, the life of the dedupe and presence
 * records the id names), so nobody can pick it up and speak as its owner.
 */
export interface ClientIdRegistry {
  readonly mode: 'memory' | 'redis';
  /** Starts delivering takeovers of connections held by `node`. */
  listen(node: string, listener: TakeoverListener): Promise<void>;
  /**
   * Records `claim` as the holder of its client id, unless another user owns
   * it. The previous holder, if any, is told to close (through its node's
   * listener).
   */
  claim(claim: ClientIdClaim): Promise<ClaimOutcome>;
  /** The connection closed: the id has no holder, its owner keeps it for the retention time. */
  release(claim: ClientIdClaim): Promise<void>;
  /** Keeps the records of these open connections from expiring. */
  refresh(claims: readonly ClientIdClaim[]): Promise<void>;
  close(): Promise<void>;
}
