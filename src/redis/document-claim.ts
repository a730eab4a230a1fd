import type { Cluster, Redis } from 'ioredis';

type RedisClient = Redis | Cluster;

/**
 * A worker's exclusive claim on one document: a lease key holding the
 * owner, and a fence counter bumped at every new claim. The atomic apply
 * checks the fence, so a worker that lost its lease (paused, partitioned)
 * cannot apply once another has claimed the document.
 *
 * Timing invariant: the lease outlives any lock the previous owner could
 * still hold, so a new owner never overlaps with an old one that renews on
 * schedule; one that does not renew in time is fenced out.
 */
export interface ClaimKeys {
  claim: string;
  fence: string;
  ready: string;
}

// KEYS: claim, fence. ARGV: owner, leaseMs, keyTtlSeconds (0: none).
// Returns the new fence token, or 0 when another owner holds the claim.
const CLAIM = `
if redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then
  local token = redis.call('INCR', KEYS[2])
  if tonumber(ARGV[3]) > 0 then redis.call('EXPIRE', KEYS[2], ARGV[3]) end
  return token
end
return 0`;

// KEYS: claim. ARGV: owner, leaseMs. Returns 1 when still held and extended.
const RENEW = `
if redis.call('GET', KEYS[1]) == ARGV[1] then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
  return 1
end
return 0`;

// KEYS: claim. ARGV: owner. Returns 1 when released.
const RELEASE = `
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0`;

interface ClaimCommands {
  flowClaim(
    claim: string,
    fence: string,
    owner: string,
    leaseMs: number,
    fenceTtl: number,
  ): Promise<number>;
  flowRenew(claim: string, owner: string, leaseMs: number): Promise<number>;
  flowRelease(claim: string, owner: string): Promise<number>;
}

export function withClaimCommands(client: RedisClient): RedisClient & ClaimCommands {
  const target = client as RedisClient & Partial<ClaimCommands>;
  if (!target.flowClaim) {
    client.defineCommand('flowClaim', { numberOfKeys: 2, lua: CLAIM });
    client.defineCommand('flowRenew', { numberOfKeys: 1, lua: RENEW });
    client.defineCommand('flowRelease', { numberOfKeys: 1, lua: RELEASE });
  }
  return client as RedisClient & ClaimCommands;
}
