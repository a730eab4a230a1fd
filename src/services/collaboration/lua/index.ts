import { LuaScript } from '../../../redis/lua-script';
import type { DocKeys } from '../../../redis/keys';
import { APPLY_LUA } from './apply-6.lua';
import { DROP_IF_BLANK_LUA } from './drop-blank-6.lua';
import { EVENTS_AFTER_LUA } from './events-2.lua';
import { FIND_OP_LUA } from './find-op-3.lua';
import { OPEN_LUA } from './open-6.lua';
import { SET_PRESENCE_LUA } from './presence-6.lua';
import { SNAPSHOT_LUA } from './snapshot-2.lua';
import { TAKE_APPLY_LUA } from './take-apply-12.lua';
import { SEED_LUA } from './seed-6.lua';
import { SAVED_LUA } from './saved-7.lua';
import { SAVE_READ_LUA } from './save-read-3.lua';

/**
 * The Lua scripts of the Redis collaboration service. Each source opens with
 * its contract (KEYS, ARGV, output); the sources are TypeScript string
 * modules so that `tsc` output carries them without a copy step.
 */
export const CollaborationScripts = {
  apply: new LuaScript('apply-6', APPLY_LUA, 6),
  open: new LuaScript('open-6', OPEN_LUA, 6),
  setPresence: new LuaScript('presence-6', SET_PRESENCE_LUA, 6),
  eventsAfter: new LuaScript('events-2', EVENTS_AFTER_LUA, 2),
  snapshot: new LuaScript('snapshot-2', SNAPSHOT_LUA, 2),
  findOp: new LuaScript('find-op-3', FIND_OP_LUA, 3),
  takeApply: new LuaScript('take-apply-12', TAKE_APPLY_LUA, 12, true),
  dropIfBlank: new LuaScript('drop-blank-6', DROP_IF_BLANK_LUA, 6),
  seed: new LuaScript('seed-6', SEED_LUA, 6),
  saved: new LuaScript('saved-7', SAVED_LUA, 7),
  saveRead: new LuaScript('save-read-3', SAVE_READ_LUA, 3),
} as const;

/** The KEYS of the six-key scripts, in the order their contracts state. */
export function documentScriptKeys(keys: DocKeys): string[] {
  return [keys.session, keys.state, keys.history, keys.dedupe, keys.presence, keys.fence];
}

export { entityField } from '../../../redis/submission-args';
