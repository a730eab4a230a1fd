import type { OpMessage } from '../protocol';
import type { ClientSocket } from './client-socket';
import type { InflightOps } from './inflight-ops';

/**
 * A connection's membership in one document on this gateway.
 *
 * - `joining`: the join is being answered; ops are held (see `held`).
 * - `syncing`: `joined` went out at `seq`; the member is being brought up to
 *   the feed's seq and does not receive fan-out yet.
 * - `live`: subscribed to the document's topic; every event reaches it.
 * - `gone`: left or disconnected; every async step checks this.
 */
export type MemberPhase = 'joining' | 'syncing' | 'live' | 'gone';

export interface Member {
  readonly doc: string;
  readonly client: string;
  readonly user: string | null;
  readonly socket: ClientSocket;
  phase: MemberPhase;
  /** The last seq sent to this member while syncing; once live, the feed's seq is its seq. */
  seq: number;
  /**
   * Op messages received before `joined` went out. They are submitted right
   * after it, so that a pipelined op is always acked after the snapshot
   * (otherwise the snapshot could already contain it and no ack would follow).
   */
  held: OpMessage[];
  /** Receive time (ms, monotonic) of each op in flight, by cseq, for ack latency. */
  inflight: InflightOps;
}
