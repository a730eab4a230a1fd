import { LuaScript } from '../../../redis/lua-script';
import { HANDOVER_LUA } from './handover-2.lua';
import { HOLD_LUA } from './hold-2.lua';
import { MARK_LUA } from './mark-3.lua';
import { SWEEP_LUA } from './sweep-3.lua';
import { SET_ASIDE_LUA } from './set-aside-3.lua';

/**
 * The Lua scripts of the ready marks of Redis ordering (which documents have
 * queued work, and who works on them); each source opens with its contract.
 * The worker's take-and-apply script is the collaboration's take-apply-12.
 */
export const OrderingScripts = {
  mark: new LuaScript('mark-3', MARK_LUA, 2),
  sweep: new LuaScript('sweep-3', SWEEP_LUA, 2),
  handover: new LuaScript('handover-2', HANDOVER_LUA, 1),
  hold: new LuaScript('hold-2', HOLD_LUA, 1),
  setAside: new LuaScript('set-aside-3', SET_ASIDE_LUA, 3),
} as const;
