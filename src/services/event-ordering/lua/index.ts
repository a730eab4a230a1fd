import { LuaScript } from '../../../redis/lua-script';
import { HANDOVER_LUA } from './handover-1.lua';
import { HOLD_LUA } from './hold-1.lua';
import { MARK_LUA } from './mark-2.lua';
import { SWEEP_LUA } from './sweep-2.lua';
import { TAKE_APPLY_LUA } from './take-apply-12.lua';

/** The Lua scripts of Redis ordering; each source opens with its contract. */
export const OrderingScripts = {
  takeApply: new LuaScript('take-apply-12', TAKE_APPLY_LUA, 12, true),
  mark: new LuaScript('mark-2', MARK_LUA, 2),
  sweep: new LuaScript('sweep-2', SWEEP_LUA, 2),
  handover: new LuaScript('handover-1', HANDOVER_LUA, 1),
  hold: new LuaScript('hold-1', HOLD_LUA, 1),
} as const;
