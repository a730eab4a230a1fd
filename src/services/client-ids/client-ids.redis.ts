import type { Logger } from 'pino';
import { asServiceError, LuaScript, type RedisClient } from '../../redis';
import type {
  ClaimOutcome,
  ClientIdClaim,
  ClientIdRegistry,
  TakeoverListener,
} from './client-id-registry';
import { CLIENT_CLAIM_LUA } from './lua/client-claim-1.lua';
import { CLIENT_REFRESH_LUA } from './lua/client-refresh-1.lua';
import { CLIENT_RELEASE_LUA } from './lua/client-release-1.lua';

const CLAIM = new LuaScript('client-claim-1', CLIENT_CLAIM_LUA, 1);
const RELEASE = new LuaScript('client-release-1', CLIENT_RELEASE_LUA, 1);
const REFRESH = new LuaScript('client-refresh-1', CLIENT_REFRESH_LUA, 1);

/**
 * A held id's record lives at least this long without a refresh, so that a
 * gateway that died does not hold ids forever; the hub refreshes well within it.
 */
export const HOLD_LEASE_SECONDS = 120;

export interface RedisClientIdOptions {
  client: RedisClient;
  subscriber: RedisClient;
  /** Sharded pub/sub (SSUBSCRIBE/SPUBLISH) on a cluster. */
  sharded: boolean;
  keyOf: (client: string) => string;
  nodeChannelOf: (node: string) => string;
  /** Seconds a released id stays its user's; 0 keeps it forever. */
  retentionSeconds: number;
  log: Logger;
}

interface Takeover {
  client: string;
  connection: string;
}

const holderOf = (claim: ClientIdClaim) =>
  JSON.stringify({ node: claim.node, connection: claim.connection });

/**
 * Client ids in Redis, cluster-wide. A takeover is told to the node of the
 * previous holder over its own pub/sub channel; at most once, like every
 * pub/sub message: a node that missed it (it was disconnected) has lost its
 * socket anyway or sees the takeover when the client's next op collides.
 */
export class RedisClientIdRegistry implements ClientIdRegistry {
  readonly mode = 'redis' as const;
  private channel: string | null = null;
  private node: string | null = null;
  private listener: TakeoverListener | null = null;
  private readonly onMessage = (channel: string, payload: string) => {
    if (channel !== this.channel || !this.listener) return;
    try {
      const { client, connection } = JSON.parse(payload) as Takeover;
      this.listener(client, connection);
    } catch {
      this.options.log.warn({ channel }, 'ignored a malformed takeover message');
    }
  };

  constructor(private readonly options: RedisClientIdOptions) {
    options.subscriber.on(options.sharded ? 'smessage' : 'message', this.onMessage);
  }

  private heldTtl(claim: ClientIdClaim): number {
    const { retentionSeconds } = this.options;
    if (claim.user === null) return HOLD_LEASE_SECONDS;
    return retentionSeconds === 0 ? 0 : Math.max(retentionSeconds, HOLD_LEASE_SECONDS);
  }

  async listen(node: string, listener: TakeoverListener): Promise<void> {
    const { subscriber, sharded, nodeChannelOf } = this.options;
    this.node = node;
    this.listener = listener;
    this.channel = nodeChannelOf(node);
    try {
      await (sharded ? subscriber.ssubscribe(this.channel) : subscriber.subscribe(this.channel));
    } catch (err) {
      throw asServiceError(err);
    }
  }

  async claim(claim: ClientIdClaim): Promise<ClaimOutcome> {
    const { client, keyOf } = this.options;
    let reply: unknown;
    try {
      reply = await CLAIM.run(
        client,
        [keyOf(claim.client)],
        [claim.user ?? '', holderOf(claim), this.heldTtl(claim)],
      );
    } catch (err) {
      throw asServiceError(err);
    }
    const [kind, previous] = reply as [string, string | undefined];
    if (kind === 'refused') return { kind: 'refused' };
    if (previous) await this.takeOver(claim.client, previous);
    return { kind: 'claimed' };
  }

  private async takeOver(client: string, previousJson: string): Promise<void> {
    let previous: { node: string; connection: string };
    try {
      previous = JSON.parse(previousJson) as { node: string; connection: string };
    } catch {
      return;
    }
    const takeover: Takeover = { client, connection: previous.connection };
    if (previous.node === this.node) {
      this.listener?.(client, previous.connection);
      return;
    }
    const { client: redis, sharded, nodeChannelOf } = this.options;
    const channel = nodeChannelOf(previous.node);
    const payload = JSON.stringify(takeover);
    try {
      await (sharded ? redis.spublish(channel, payload) : redis.publish(channel, payload));
    } catch (err) {
      throw asServiceError(err);
    }
  }

  async release(claim: ClientIdClaim): Promise<void> {
    const { client, keyOf, retentionSeconds } = this.options;
    await RELEASE.run(client, [keyOf(claim.client)], [holderOf(claim), retentionSeconds]);
  }

  async refresh(claims: readonly ClientIdClaim[]): Promise<void> {
    const { client, keyOf } = this.options;
    await Promise.all(
      claims.map((claim) =>
        REFRESH.run(client, [keyOf(claim.client)], [holderOf(claim), this.heldTtl(claim)]),
      ),
    );
  }

  async close(): Promise<void> {
    const { subscriber, sharded } = this.options;
    subscriber.off(sharded ? 'smessage' : 'message', this.onMessage);
    const channel = this.channel;
    this.channel = null;
    this.listener = null;
    if (channel && subscriber.status === 'ready') {
      await (sharded ? subscriber.sunsubscribe(channel) : subscriber.unsubscribe(channel)).catch(
        () => undefined,
      );
    }
  }
}
