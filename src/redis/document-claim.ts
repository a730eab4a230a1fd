import type { RedisClient } from './connection';
import { LuaScript } from './lua-script';
import { CLAIM_RELEASE_LUA } from './lua/claim-release-1.lua';

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
const RELEASE = new LuaScript('claim-release-1', CLAIM_RELEASE_LUA, 1);

/** Releases `claimKey` when `owner` holds it; resolves true when it did. */
export async function releaseClaim(
  client: RedisClient,
  claimKey: string,
  owner: string,
): Promise<boolean> {
  return (await RELEASE.run(client, [claimKey], [owner])) === 1;
}
