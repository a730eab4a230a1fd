import type { FlowConfig } from '../config';
import type { JoinMessage, LeaveMessage, Rejection } from '../protocol';
import { TokenBucket } from './rate-limiter';

type MembershipLimits = Pick<FlowConfig['limits'], 'joinsPerSecond' | 'docsPerConnection'>;

/**
 * The budget of joins and leaves of one connection. A join reads a whole
 * document (and, when it carries presence, speaks to every member), so a
 * connection may not churn through them at the message rate; the burst lets
 * a reconnecting client re-join every document it may hold at once.
 */
export function membershipBucket(limits: MembershipLimits): TokenBucket {
  return new TokenBucket(
    limits.joinsPerSecond,
    Math.max(limits.joinsPerSecond, limits.docsPerConnection),
  );
}

export function membershipRefusal(
  message: JoinMessage | LeaveMessage,
  limits: MembershipLimits,
): Rejection {
  return {
    code: 'RATE_LIMITED',
    message: `more than ${limits.joinsPerSecond} joins and leaves per second; this ${message.type} was dropped, slow down`,
    doc: message.doc,
    ref: message.ref,
  };
}
