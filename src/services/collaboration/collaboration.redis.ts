import { randomUUID } from 'node:crypto';
import type { FlowConfig } from '../../config';
import type { Logger } from 'pino';
import { MAX_ENTITY_BYTES, MAX_ENTITY_DEPTH } from '../../protocol/limits';
import { DEFAULT_DOC_MAX_BYTES } from '../../document/document-size';
import type { EventRecord } from '../../protocol';
import { createRedis, type RedisClient } from '../../redis/connection';
import { ConnectionMessages } from '../../redis/connection-log';
import { redisFailureKind, unavailableFrom, type RedisFailureKind } from '../../redis/errors';
import { RedisKeys } from '../../redis/keys';
import { type CollaborationService } from './collaboration-service';
import type { RedisCollaborationOptions } from './redis-options';
import { FencedError, type Fence } from '../../document/fence';
import { type ApplyOutcome, type OpSubmission } from '../../document/op-submission';
import { AcknowledgedSeqs } from './acknowledged-seqs';
import { ReplicaWait } from './replica-wait';
import { parseDedupeRecord } from './dedupe-bounds';
import {
  type CatchUp,
  type DocumentSnapshot,
  type PresenceRecord,
  type ResumePoint,
} from '../../document/catch-up';
import { CollaborationScripts as Scripts, documentScriptKeys } from './lua';
import { judgeOp, type OpFate } from './op-fate';
import {
  asArray,
  asNumber,
  asString,
  decodeApply,
  decodeEvents,
  decodeState,
  pushSubmission,
} from './lua/codec';

/** How often the failure of one kind is logged at most. */
const FAILURE_LOG_INTERVAL_MS = 10_000;

/**
 * Sessions, state, history and presence of every document in Redis, each
 * document under its own hash tag (see src/redis/keys.ts for the layout).
 * Every change of a document is one Lua script, so any number of processes
 * may share the documents; a Redis outage surfaces as UnavailableError.
 *
 * Presence liveness: each record names its node; this service heartbeats the
 * nodes it has written presence for into `flow:presence-nodes` every third of
 * `presenceTimeoutMs`. `listPresence` drops (and deletes) the records of nodes
 * whose heartbeat is older than the timeout, so the clients of a crashed
 * gateway vanish without anyone clearing them.
 */
export class RedisCollaborationService implements CollaborationService {
  readonly mode = 'redis' as const;
  private readonly redis: RedisClient;
  private readonly keys: RedisKeys;
  private get maxDocBytes(): number {
    return this.options.maxDocBytes ?? DEFAULT_DOC_MAX_BYTES;
  }
  private readonly log: Logger;
  private readonly now: () => number;
  private readonly presenceTimeoutMs: number;
  private readonly localNodes = new Set<string>();
  private heartbeat: NodeJS.Timeout | undefined;
  private lastFailure: { kind: RedisFailureKind; at: number } | undefined;
  private closed: Promise<void> | undefined;
  private readonly replicaWait: ReplicaWait;
  private readonly acknowledged = new AcknowledgedSeqs();

  constructor(private readonly options: RedisCollaborationOptions) {
    this.redis = options.redis;
    this.keys = options.keys ?? new RedisKeys();
    this.log = options.log.child({ component: 'collaboration' });
    this.now = options.now ?? Date.now;
    this.presenceTimeoutMs = options.presenceTimeoutMs ?? 30_000;
    this.replicaWait = new ReplicaWait({
      redis: options.redis,
      log: this.log,
      setting: options.waitReplicas ?? 0,
      timeoutMs: options.waitTimeoutMs ?? 1000,
      call: (operation, doc, run) => this.call(operation, doc, run),
      now: this.now,
    });
  }

  async open(doc: string, resume?: ResumePoint): Promise<CatchUp> {
    const keys = this.keys.doc(doc);
    const reply = await this.call('open', doc, () =>
      Scripts.open.run(this.redis, documentScriptKeys(keys), [
        doc,
        randomUUID(),
        this.options.sessionTtlSeconds,
        resume?.epoch ?? '',
        resume?.seq ?? 0,
      ]),
    );
    const [epochItem, seqItem, kind, payload] = asArray('open-6', reply, 'the reply');
    const epoch = asString('open-6', epochItem, 'the epoch');
    const seq = asNumber('open-6', seqItem, 'the seq');
    if (asString('open-6', kind, 'the kind') === 'events') {
      return { kind: 'events', epoch, seq, events: decodeEvents('open-6', payload) };
    }
    return {
      kind: 'snapshot',
      snapshot: { doc, epoch, seq, state: decodeState('open-6', payload) },
    };
  }

  async eventsAfter(doc: string, epoch: string, afterSeq: number): Promise<EventRecord[] | null> {
    const keys = this.keys.doc(doc);
    const reply = await this.call('eventsAfter', doc, () =>
      Scripts.eventsAfter.run(this.redis, [keys.session, keys.history], [epoch, afterSeq]),
    );
    const [kind, entries] = asArray('events-2', reply, 'the reply');
    if (asString('events-2', kind, 'the kind') !== 'events') return null;
    const events = decodeEvents('events-2', entries);
    // Events read back are delivered and acknowledged as kept: like an apply,
    // they wait for the replicas (REDIS_WAIT_REPLICAS) first.
    if (events.length > 0) await this.replicaWait.confirm(doc, keys.session);
    return events;
  }

  async findOps(doc: string, submitter: string, cseqs: readonly number[]): Promise<OpFate[]> {
    const keys = this.keys.doc(doc);
    const reply = await this.call('findOp', doc, () =>
      Scripts.findOp.run(this.redis, [keys.session, keys.history, keys.dedupe], [submitter]),
    );
    const items = asArray('find-op-3', reply, 'the reply');
    if (items.length === 0) return cseqs.map(() => ({ kind: 'pending' }));
    const window = parseDedupeRecord(asString('find-op-3', items[2], 'the dedupe record'));
    const pairs = asArray('find-op-3', items[4], 'the events');
    const clientEvents: Array<{ seq: number; cseq: number }> = [];
    for (let i = 0; i + 1 < pairs.length; i += 2) {
      clientEvents.push({
        seq: asNumber('find-op-3', pairs[i], 'an event seq'),
        cseq: asNumber('find-op-3', pairs[i + 1], 'an event cseq'),
      });
    }
    const records = {
      epoch: asString('find-op-3', items[0], 'the epoch'),
      last: window.at(-1) ?? null,
      window,
      firstKept: asNumber('find-op-3', items[3], 'the first kept seq'),
      clientEvents,
    };
    const fates = cseqs.map((cseq) => judgeOp(records, cseq));
    // An op found applied is answered as acknowledged: like an apply, that
    // answer waits for the replicas (REDIS_WAIT_REPLICAS), or a failover right
    // after it could lose an op the client was told is kept.
    if (fates.some((fate) => fate.kind === 'applied')) {
      await this.replicaWait.confirm(doc, keys.session);
    }
    return fates;
  }

  async snapshot(doc: string): Promise<DocumentSnapshot | null> {
    const keys = this.keys.doc(doc);
    const reply = await this.call('snapshot', doc, () =>
      Scripts.snapshot.run(this.redis, [keys.session, keys.state], []),
    );
    const items = asArray('snapshot-2', reply, 'the reply');
    if (items.length === 0) return null;
    return {
      doc,
      epoch: asString('snapshot-2', items[0], 'the epoch'),
      seq: asNumber('snapshot-2', items[1], 'the seq'),
      state: decodeState('snapshot-2', items[2]),
    };
  }

  async applyBatch(
    doc: string,
    batch: readonly OpSubmission[],
    fence?: Fence,
  ): Promise<ApplyOutcome[]> {
    if (batch.length === 0) return [];
    const keys = this.keys.doc(doc);
    const candidateEpoch = randomUUID();
    const args: Array<string | number> = [
      doc,
      candidateEpoch,
      this.options.sessionTtlSeconds,
      this.options.historyLength,
      MAX_ENTITY_BYTES,
      MAX_ENTITY_DEPTH,
      fence === undefined ? '' : String(fence.token),
      fence === undefined ? '' : fence.owner,
      this.maxDocBytes,
      batch.length,
    ];
    const points = this.acknowledged.pointsFor(doc, batch);
    args.push(points.length);
    for (const { epoch, seq } of points) args.push(epoch, seq);
    for (const sub of batch) pushSubmission(args, sub);
    const reply = await this.call('applyBatch', doc, () =>
      Scripts.apply.run(this.redis, documentScriptKeys(keys), args),
    );
    const outcomes = decodeApply(doc, batch, reply, this.maxDocBytes);
    // A new epoch that goes on from a seq above 0 was moved by the check above; an
    // expired (or wholly lost) document starts its new epoch at seq 1 instead.
    const first = outcomes.find((o) => o.kind === 'applied');
    if (
      points.length > 0 &&
      first?.kind === 'applied' &&
      first.epoch === candidateEpoch &&
      first.seq > 1
    )
      this.log.error(
        { doc, epoch: first.epoch, acknowledged: points, seq: first.seq - 1 },
        'Redis lost acknowledged writes of a document (a failover to a lagging replica?); it goes on in a new epoch and its clients resync',
      );
    await this.replicaWait.confirm(doc, keys.session);
    this.acknowledged.note(doc, outcomes);
    return outcomes;
  }

  async setPresence(doc: string, record: PresenceRecord): Promise<void> {
    const keys = this.keys.doc(doc);
    const { client, user, state, node } = record;
    await this.call('setPresence', doc, async () => {
      if (!this.localNodes.has(node)) {
        // Heartbeat first, so that no reader sees the record of an unknown node.
        await this.redis.zadd(this.keys.presenceNodes(), this.now(), node);
        this.localNodes.add(node);
        this.startHeartbeat();
      }
      const json = JSON.stringify({ client, user, state, node });
      await Scripts.setPresence.run(this.redis, documentScriptKeys(keys), [
        client,
        json,
        this.options.sessionTtlSeconds,
      ]);
    });
  }

  async dropIfBlank(doc: string): Promise<boolean> {
    const keys = this.keys.doc(doc);
    const dropped = await this.call('dropIfBlank', doc, () =>
      Scripts.dropIfBlank.run(
        this.redis,
        [keys.session, keys.state, keys.history, keys.dedupe, keys.presence],
        [],
      ),
    );
    return dropped === 1;
  }

  async clearPresence(doc: string, client: string): Promise<void> {
    await this.call('clearPresence', doc, () =>
      this.redis.hdel(this.keys.doc(doc).presence, client),
    );
  }

  async listPresence(doc: string): Promise<PresenceRecord[]> {
    const presenceKey = this.keys.doc(doc).presence;
    return this.call('listPresence', doc, async () => {
      const flat = await this.redis.hgetall(presenceKey);
      const records = Object.values(flat).map((json) => JSON.parse(json) as PresenceRecord);
      const nodes = [...new Set(records.map((r) => r.node))].filter((n) => !this.localNodes.has(n));
      if (nodes.length === 0) return records;
      const beats = await this.redis.zmscore(this.keys.presenceNodes(), ...nodes);
      const cutoff = this.now() - this.presenceTimeoutMs;
      const dead = new Set(nodes.filter((_, i) => beats[i] === null || Number(beats[i]) < cutoff));
      if (dead.size === 0) return records;
      const gone = records.filter((r) => dead.has(r.node)).map((r) => r.client);
      // Pruning is best effort: the next reader filters the same records again.
      this.redis.hdel(presenceKey, ...gone).catch(() => undefined);
      return records.filter((r) => !dead.has(r.node));
    });
  }

  /** Stops the heartbeat (this process's presence vanishes at once) and, when owned, the connection. Idempotent. */
  close(): Promise<void> {
    this.closed ??= (async () => {
      if (this.heartbeat) clearInterval(this.heartbeat);
      const nodes = [...this.localNodes];
      this.localNodes.clear();
      if (nodes.length > 0) {
        await this.redis.zrem(this.keys.presenceNodes(), ...nodes).catch(() => undefined);
      }
      if (this.options.ownsConnection) await this.redis.quit().catch(() => this.redis.disconnect());
    })();
    return this.closed;
  }

  private startHeartbeat(): void {
    if (this.heartbeat) return;
    this.heartbeat = setInterval(() => void this.beat(), Math.max(this.presenceTimeoutMs / 3, 100));
    this.heartbeat.unref();
  }

  private async beat(): Promise<void> {
    const now = this.now();
    const members = [...this.localNodes].flatMap((node) => [now, node]);
    if (members.length === 0) return;
    try {
      await this.redis.zadd(this.keys.presenceNodes(), ...members);
      // Nodes silent for a day are long gone; keep the set small.
      await this.redis.zremrangebyscore(this.keys.presenceNodes(), '-inf', now - 86_400_000);
    } catch (err) {
      this.failure(err, 'presenceHeartbeat', undefined);
    }
  }

  /** Runs one Redis operation; outages become UnavailableError, a stale fence FencedError. */
  private async call<T>(operation: string, doc: string, run: () => Promise<T>): Promise<T> {
    try {
      return await run();
    } catch (err) {
      throw this.failure(err, operation, doc);
    }
  }

  private failure(err: unknown, operation: string, doc: string | undefined): unknown {
    if (err instanceof Error && err.message.startsWith('FENCED')) {
      this.log.warn(
        { operation, doc, error: err.message },
        'apply refused: the processing claim is stale',
      );
      return new FencedError(doc ?? '');
    }
    const unavailable = unavailableFrom(err);
    if (!unavailable) return err;
    const kind = redisFailureKind(err) ?? 'unreachable';
    const now = this.now();
    const last = this.lastFailure;
    if (!last || last.kind !== kind || now - last.at >= FAILURE_LOG_INTERVAL_MS) {
      this.lastFailure = { kind, at: now };
      const detail = {
        operation,
        doc,
        failure: kind,
        error: err instanceof Error ? err.message : String(err),
      };
      if (kind === 'out-of-memory') this.log.error(detail, ConnectionMessages.outOfMemory);
      else this.log.warn(detail, 'Redis cannot take the request; answering UNAVAILABLE');
    }
    return unavailable;
  }
}

/** The Redis collaboration service on its own connection (closed by `close()`). */
export function createRedisCollaborationService(
  config: FlowConfig,
  log: Logger,
  options: { presenceTimeoutMs?: number; maxDocBytes?: number } = {},
): RedisCollaborationService {
  return new RedisCollaborationService({
    redis: createRedis(config, log, 'collaboration', {
      autoPipelining: config.redis.autoPipelining,
    }),
    log,
    keys: new RedisKeys(config.redis.keyPrefix),
    historyLength: config.history.length,
    sessionTtlSeconds: config.redis.sessionTtlSeconds,
    ownsConnection: true,
    ...options,
  });
}
