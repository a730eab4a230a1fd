import type { Logger } from 'pino';
import { releaseClaim } from '../redis/document-claim';
import type { RedisClient } from '../redis/connection';
import type { OrderingKeys } from '../redis/ordering-keys';
import { OrderingScripts } from '../services/event-ordering/lua';
import { departure } from './wake-message';

/** What a stopping worker needs to tell the others. */
export interface DepartureDeps {
  client: RedisClient;
  keys: OrderingKeys;
  sharded: boolean;
  owner: string;
  log: Logger;
}

/**
 * Tells the other workers that this one leaves their roster ('!! <node>'):
 * from now on it starts no turn, so they must answer the wake-ups they were
 * leaving to it. A failure only delays them to their next look at the marks.
 */
export async function announceDeparture(deps: DepartureDeps, node: string): Promise<void> {
  const { client, keys, sharded, log } = deps;
  const channel = keys.wakeChannel(0);
  const message = departure(node);
  try {
    await (sharded ? client.spublish(channel, message) : client.publish(channel, message));
  } catch (err) {
    log.warn(
      { err: (err as Error).message },
      'could not tell the other workers this one stops; they answer its documents after their next poll',
    );
  }
}

/**
 * Hands every document this worker may hold over at once (handover-2):
 * claim released, a held mark due now, a wake-up ('!doc') that every other
 * worker acts on, even one told earlier that the document was claimed.
 */
export async function handOver(deps: DepartureDeps, docs: Iterable<string>): Promise<void> {
  const { client, keys, sharded, owner } = deps;
  const publish = sharded ? 'SPUBLISH' : 'PUBLISH';
  await Promise.allSettled(
    [...docs].map(async (doc) => {
      await releaseClaim(client, keys.claim(doc), owner);
      const shard = keys.shardOf(doc);
      await OrderingScripts.handover.run(
        client,
        [keys.ready(shard)],
        [doc, Date.now(), keys.wakeChannel(shard), publish, `!${doc}`],
      );
    }),
  );
}
