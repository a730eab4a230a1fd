import type { TokenVerifier } from '../auth/token-verifier';
import type { FlowConfig } from '../config';
import type { GatewayContext, HealthReport, RequestInput } from './gateway-context';
import type { Logger } from 'pino';
import type { Metrics } from '../observability/metrics';
import { ProtocolError } from '../protocol';
import { accessTo } from '../realtime/grants';
import type { GatewayHub } from '../realtime/hub';
import type { CollaborationService } from '../services/collaboration/collaboration-service';
import type { EventOrderingService } from '../services/event-ordering/event-ordering-service';
import { READY_SHARDS } from '../redis/ordering-keys';
import { RedisKeys } from '../redis/keys';
import type { WebSocketManager } from '../services/websocket-manager/websocket-manager';
import type { RedisResources } from '../redis/resources';
import type { Role } from '../config/topology';

export interface ContextDeps {
  config: FlowConfig;
  role: Role;
  started: number;
  log: Logger;
  metrics: Metrics;
  collaboration: CollaborationService;
  websockets: WebSocketManager;
  ordering: EventOrderingService;
  redis: RedisResources | null;
  verifier: TokenVerifier;
  hub: GatewayHub;
  /** With a document store: `ok`, or `degraded: <why>` while snapshots cannot be stored. */
  storeCheck?: (() => string) | null;
}

const counterValue = async (counter: { get(): Promise<{ values: Array<{ value: number }> }> }) =>
  (await counter.get()).values.reduce((sum, v) => sum + v.value, 0);

/**
 * /ws/stats answers within this many milliseconds: the cluster-wide figures
 * need Redis, and commands queued while it is away wait for reconnection
 * attempts (seconds); the local figures do not wait for them.
 */
const CLUSTER_FIGURES_WAIT_MS = 1000;

/** `work`, or a rejection at once when Redis is not connected or after `ms`. */
function withinDeadline<T>(work: Promise<T>, ms: number, redis: RedisResources): Promise<T> {
  work.catch(() => undefined);
  if (redis.commands.status !== 'ready') {
    return Promise.reject(new Error(`Redis at ${redis.target} is not connected`));
  }
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new Error(`no answer from Redis at ${redis.target} within ${ms} ms`)),
      ms,
    );
  });
  return Promise.race([work, deadline]).finally(() => clearTimeout(timer));
}

/** What the HTTP routes of a gateway answer: health, stats, document reads. */
export function buildGatewayContext(deps: ContextDeps): GatewayContext {
  const {
    config,
    role,
    started,
    log,
    metrics,
    collaboration,
    websockets,
    ordering,
    redis,
    verifier,
  } = deps;
  const uptimeSeconds = () => Math.round((Date.now() - started) / 1000);

  const health = async (): Promise<HealthReport> => {
    const checks: Record<string, string> = {};
    if (redis) checks.redis = await redis.check();
    const ok = Object.values(checks).every((c) => c === 'ok');
    // A failing store does not stop editing (snapshots wait in memory), so
    // it degrades the process without taking it out of a balancer.
    const store = deps.storeCheck?.();
    if (store !== undefined) checks.documentStore = store;
    const status = !ok ? 'error' : store === undefined || store === 'ok' ? 'ok' : 'degraded';
    return {
      status,
      node: config.nodeId,
      role,
      uptimeSeconds: uptimeSeconds(),
      checks,
    };
  };

  /** Documents with queued ops, over the whole cluster (Redis ordering only). */
  const waitingDocuments = async (): Promise<number | null> => {
    if (!redis || ordering.mode !== 'redis') return null;
    const keys = new RedisKeys(config.redis.keyPrefix).ordering;
    const counts = await Promise.all(
      Array.from({ length: READY_SHARDS }, (_, shard) => redis.commands.zcard(keys.ready(shard))),
    );
    return counts.reduce((sum, n) => sum + n, 0);
  };

  const stats = async () => {
    const local = deps.hub.stats();
    let cluster: Record<string, unknown> | null = null;
    if (redis) {
      const figures = async () => {
        const registry = await websockets.clusterStats();
        return { ...(registry ?? {}), documentsWaitingForOrdering: await waitingDocuments() };
      };
      try {
        cluster = await withinDeadline(figures(), CLUSTER_FIGURES_WAIT_MS, redis);
      } catch (err) {
        cluster = {
          unavailable: true,
          error: `cluster figures unavailable: ${(err as Error).message}`,
        };
      }
    }
    return {
      node: config.nodeId,
      role,
      uptimeSeconds: uptimeSeconds(),
      services: {
        websockets: websockets.mode,
        collaboration: collaboration.mode,
        eventOrdering: ordering.mode,
      },
      connections: local.connections,
      documents: local.documents,
      messagesIn: local.messagesIn,
      messagesOut: await counterValue(metrics.messagesOut),
      eventsDelivered: await counterValue(metrics.eventsDelivered),
      opsApplied: await counterValue(metrics.opsApplied),
      cluster,
    };
  };

  const authorizeDocumentRead = async (doc: string, input: RequestInput) => {
    if (!verifier.enabled) return null;
    const bearer = /^Bearer\s+(.+)$/i.exec(input.authorization)?.[1];
    const token = bearer ?? new URLSearchParams(input.query).get('token');
    try {
      const identity = await verifier.verify(token);
      if (accessTo(identity.grants, doc) === 'none') {
        return {
          status: 403,
          body: { error: 'FORBIDDEN', message: `the token does not grant document "${doc}"` },
        };
      }
      return null;
    } catch (err) {
      const message =
        err instanceof ProtocolError ? err.message : 'the token could not be verified';
      return { status: 401, body: { error: 'UNAUTHORIZED', message } };
    }
  };

  return {
    log,
    metrics,
    collaboration,
    serveDemo: config.serveDemo,
    health,
    stats,
    authorizeDocumentRead,
  };
}
