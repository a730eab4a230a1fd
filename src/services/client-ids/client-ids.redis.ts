import type { Logger } from 'pino';
import { asServiceError, LuaScript, type RedisClient } from '../../redis';
import type {
  ClaimOutcome,
  ClientIdClaim,
  ClientIdRegistry,
  TakeoverListener,
} from './client-id-registry';

/*
 * KEYS[1] the client id's hash: `user` (owner, '' for none) and `holder`
 * (JSON of the holding connection, '' when released).
 */

// ARGV: user ('' when auth is off), holder JSON, TTL seconds (0: none).
// Returns { 'refused' } or { 'claimed', previous holder JSON or '' }.
const CLAIM = new LuaScript(
  'client-claim',
  `
local owner = redis.call('HGET', KEYS[1], 'user')
if owner and owner ~= '' and owner ~= ARGV[1] then return { 'refused' } end
local previous = redis.call('HGET', KEYS[1], 'holder') or ''
if not owner or owner == '' then owner = ARGV[1] end
redis.call('HSET', KEYS[1], 'user', owner, 'holder', ARGV[2])
if tonumber(ARGV[3]) > 0 then redis.call('EXPIRE', KEYS[1], ARGV[3]) else redis.call('PERSIST', KEYS[1]) end
return { 'claimed', previous }`,
  1,
);

// ARGV: holder JSON, TTL seconds of a released, owned id (0: none).
const RELEASE = new LuaScript(
  'client-release',
  `
if redis.call('HGET', KEYS[1], 'holder') ~= ARGV[1] then return 0 end
if (redis.call('HGET', KEYS[1], 'user') or '') == '' then return redis.call('DEL', KEYS[1]) end
redis.call('HSET', KEYS[1], 'holder', '')
if tonumber(ARGV[2]) > 0 then redis.call('EXPIRE', KEYS[1], ARGV[2]) else redis.call('PERSIST', KEYS[1]) end
return 1`,
  1,
);

// ARGV: holder JSON, TTL seconds. Extends the record while this connection holds it.
const REFRESH = new LuaScript(
  'client-refresh',
  `
if redis.call('HGET', KEYS[1], 'holder') ~= ARGV[1] then return 0 end
if tonumber(ARGV[2]) > 0 then redis.call('EXPIRE', KEYS[1], ARGV[2]) end
return 1`,
  1,
);

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
