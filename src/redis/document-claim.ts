import type { Cluster, Redis } from 'ioredis';

type RedisClient = Redis | Cluster;

/**
 * A worker's exclusive claim on one document: a lease key holding the
 * owner, and a fence counter bumped at every new claim. The ordering
 * worker's take-apply-12 script takes, renews and checks the claim in the
 * same atomic step that applies, so a worker that lost its lease (paused,
 * partitioned) cannot apply once another has claimed the document; an
 * apply-6 caller holding an older fence token is refused (FENCED).
 *
 * Only the release runs on its own: a worker that stops gracefully gives
 * its documents back at once instead of letting their leases run out.
 */

// KEYS: claim. ARGV: owner. Returns 1 when released.
const RELEASE = `
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0`;

interface ClaimCommands {
  flowRelease(claim: string, owner: string): Promise<number>;
}

export function withClaimCommands(client: RedisClient): RedisClient & ClaimCommands {
  const target = client as RedisClient & Partial<ClaimCommands>;
  if (!target.flowRelease) {
    client.defineCommand('flowRelease', { numberOfKeys: 1, lua: RELEASE });
  }
  return client as RedisClient & ClaimCommands;
}
