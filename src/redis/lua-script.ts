import { createHash } from 'node:crypto';
import type { RedisClient } from './connection';

/**
 * A Lua script run with EVALSHA, falling back to EVAL (which also caches it)
 * when the node answers NOSCRIPT: after a restart, a failover or on a cluster
 * node that has not seen it yet. Every key the script touches is passed in
 * KEYS, so a cluster routes the call by the keys' common slot.
 */
export class LuaScript {
  readonly sha: string;

  constructor(
    /** Name for logs and errors, e.g. `apply-6`. */
    readonly name: string,
    readonly source: string,
    readonly keyCount: number,
    /** Takes `keyCount` keys and then any number more (all of one slot). */
    readonly moreKeys = false,
  ) {
    this.sha = createHash('sha1').update(source).digest('hex');
  }

  async run(
    redis: RedisClient,
    keys: readonly string[],
    args: ReadonlyArray<string | number>,
  ): Promise<unknown> {
    if (this.moreKeys ? keys.length < this.keyCount : keys.length !== this.keyCount) {
      throw new Error(`script ${this.name} takes ${this.keyCount} keys, got ${keys.length}`);
    }
    try {
      return await redis.evalsha(this.sha, keys.length, ...keys, ...args);
    } catch (err) {
      if (!(err instanceof Error) || !err.message.startsWith('NOSCRIPT')) throw err;
      return redis.eval(this.source, keys.length, ...keys, ...args);
    }
  }
}
