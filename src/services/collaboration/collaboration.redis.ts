import { randomUUID } from 'node:crypto';
import type { FlowConfig } from '../../config';
import type { Logger } from 'pino';
import { MAX_ENTITY_BYTES, MAX_ENTITY_DEPTH } from '../../protocol/limits';
import { DEFAULT_DOC_MAX_BYTES } from '../../document/document-size';
import type { EventRecord } from '../../protocol';
import { createRedis, type RedisClient } from '../../redis/connection';
import { RedisKeys } from '../../redis/keys';
import { type CollaborationService } from './collaboration-service';
import type { RedisCollaborationOptions } from './redis-options';
import { type Fence } from '../../document/fence';
import { type ApplyOutcome, type OpSubmission } from '../../document/op-submission';
import { AcknowledgedSeqs } from './acknowledged-seqs';
import { ReplicaWait } from './replica-wait';
import { RedisFailures } from './redis-failures';
import { PresenceNodes } from './presence-nodes';
import {
  type CatchUp,
  type DocumentSnapshot,
  type PresenceRecord,
  type ResumePoint,
} from '../../document/catch-up';
import { CollaborationScripts as Scripts, documentScriptKeys } from './lua';
import { judgeOp, type OpFate } from './op-fate';
import {
  decodeApply,
  decodeEventsAfter,
  decodeFindOp,
  decodeOpen,
  decodeSnapshot,
  isMissing,
  pushSubmission,
} from './lua/codec';
import { RedisDurableDocuments, withSession } from './redis-durable';
import type { SnapshotRead } from '../../document/stored-snapshot';

/**
 * Sessions, state, history and presence of every document in Redis, each
 * document under its own hash tag (see src/redis/keys.ts for the layout).
 * Every change of a document is one Lua script, so any number of processes
 * may share the documents; a Redis outage surfaces as UnavailableError
 * (see RedisFailures). The scripts' replies are read by lua/codec.ts.
 *
 * Presence liveness: each record names its node; the nodes this service has
 * written presence for heartbeat into `flow:presence-nodes` (PresenceNodes),
 * so that the clients of a crashed gateway vanish without anyone clearing them.
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
  private readonly failures: RedisFailures;
  private readonly presenceNodes: PresenceNodes;
  private closed: Promise<void> | undefined;
  private readonly replicaWait: ReplicaWait;
  private readonly acknowledged = new AcknowledgedSeqs();
  /** With a document store (options.durable): loads, saver leases, savedSeq. */
  private readonly durable: RedisDurableDocuments | undefined;
  /** The scripts' durable argument. */
  private readonly durableArg: '1' | '';

  constructor(private readonly options: RedisCollaborationOptions) {
    this.redis = options.redis;
    this.keys = options.keys ?? new RedisKeys();
    this.log = options.log.child({ component: 'collaboration' });
    this.now = options.now ?? Date.now;
    this.failures = new RedisFailures(this.log, this.now);
    this.presenceNodes = new PresenceNodes({
      redis: options.redis,
      key: this.keys.presenceNodes(),
      timeoutMs: options.presenceTimeoutMs ?? 30_000,
      now: this.now,
      beatFailed: (err) => this.failures.failure(err, 'presenceHeartbeat', undefined),
    });
    this.replicaWait = new ReplicaWait({
      redis: options.redis,
      log: this.log,
      setting: options.waitReplicas ?? 0,
      timeoutMs: options.waitTimeoutMs ?? 1000,
      call: (operation, doc, run) => this.call(operation, doc, run),
      now: this.now,
    });
    this.durable =
      options.durable &&
      new RedisDurableDocuments(
        options.durable,
        options.redis,
        options.sessionTtlSeconds,
        (operation, doc, run) => this.call(operation, doc, run),
      );
    this.durableArg = this.durable ? '1' : '';
  }

  async open(doc: string, resume?: ResumePoint): Promise<CatchUp> {
    const keys = this.keys.doc(doc);
    const durable = this.durable !== undefined;
    return withSession(this.durable, doc, this.keys.doc(doc), async () => {
      const reply = await this.call('open', doc, () =>
        Scripts.open.run(this.redis, documentScriptKeys(keys), [
          doc,
          randomUUID(),
          this.options.sessionTtlSeconds,
          resume?.epoch ?? '',
          resume?.seq ?? 0,
          this.durableArg,
        ]),
      );
      return decodeOpen(doc, reply, durable);
    });
  }

  /** Durable documents in Redis: loads `doc` from the store when Redis has no session of it. */
  async restore(doc: string): Promise<void> {
    await this.durable?.restore(doc, this.keys.doc(doc), true);
  }

  /** Without a document store (options.durable) there is never anything to write. */
  async readForSave(doc: string): Promise<SnapshotRead> {
    if (!this.durable) return { kind: 'gone' };
    return this.durable.readForSave(doc, this.keys.doc(doc));
  }

  async recordSaved(doc: string, seq: number, epoch: string): Promise<void> {
    await this.durable?.recordSaved(doc, this.keys.doc(doc), seq, epoch);
  }

  async eventsAfter(doc: string, epoch: string, afterSeq: number): Promise<EventRecord[] | null> {
    const keys = this.keys.doc(doc);
    const reply = await this.call('eventsAfter', doc, () =>
      Scripts.eventsAfter.run(this.redis, [keys.session, keys.history], [epoch, afterSeq]),
    );
    const events = decodeEventsAfter(reply);
    if (events === null) return null;
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
    const records = decodeFindOp(reply);
    if (records === null) return cseqs.map(() => ({ kind: 'pending' }));
    const fates = cseqs.map((cseq) => judgeOp(records, cseq));
    // An op found applied is answered as acknowledged: like an apply, that
    // answer waits for the replicas (REDIS_WAIT_REPLICAS), or a failover right
    // after it could lose an op the client was told is kept.
    if (fates.some((fate) => fate.kind === 'applied')) {
      await this.replicaWait.confirm(doc, keys.session);
    }
    return fates;
  }

  /** With a document store, a document Redis lacks is loaded from it first (when stored). */
  async snapshot(doc: string): Promise<DocumentSnapshot | null> {
    const keys = this.keys.doc(doc);
    const read = async () =>
      decodeSnapshot(
        doc,
        await this.call('snapshot', doc, () =>
          Scripts.snapshot.run(this.redis, [keys.session, keys.state], []),
        ),
      );
    const found = await read();
    if (found || !this.durable) return found;
    await this.durable.restore(doc, keys, false);
    return read();
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
    args.push(this.durableArg, points.length);
    for (const { epoch, seq } of points) args.push(epoch, seq);
    for (const sub of batch) pushSubmission(args, sub);
    const outcomes = await withSession(this.durable, doc, keys, async () => {
      const reply = await this.call('applyBatch', doc, () =>
        Scripts.apply.run(this.redis, documentScriptKeys(keys), args),
      );
      return isMissing(reply) ? 'missing' : decodeApply(doc, batch, reply, this.maxDocBytes);
    });
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
      await this.presenceNodes.register(node);
      const json = JSON.stringify({ client, user, state, node });
      await Scripts.setPresence.run(this.redis, documentScriptKeys(keys), [
        client,
        json,
        this.options.sessionTtlSeconds,
        this.durableArg,
      ]);
    });
  }

  async dropIfBlank(doc: string): Promise<boolean> {
    const keys = this.keys.doc(doc);
    const waiting = this.keys.ordering.queueKey(doc, 'wait');
    const blank = [keys.session, keys.state, keys.history, keys.dedupe, keys.presence, waiting];
    const dropped = await this.call('dropIfBlank', doc, () =>
      Scripts.dropIfBlank.run(this.redis, blank, []),
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
      return this.presenceNodes.live(presenceKey, records);
    });
  }

  /** Stops the heartbeat (this process's presence vanishes at once) and, when owned, the connection. Idempotent. */
  close(): Promise<void> {
    this.closed ??= (async () => {
      await this.presenceNodes.close();
      if (this.options.ownsConnection) await this.redis.quit().catch(() => this.redis.disconnect());
    })();
    return this.closed;
  }

  /** Runs one Redis operation; outages become UnavailableError, a stale fence FencedError. */
  private call<T>(operation: string, doc: string, run: () => Promise<T>): Promise<T> {
    return this.failures.call(operation, doc, run);
  }
}

/** The Redis collaboration service on its own connection (closed by `close()`). */
export function createRedisCollaborationService(
  config: FlowConfig,
  log: Logger,
  options: Pick<RedisCollaborationOptions, 'presenceTimeoutMs' | 'maxDocBytes' | 'durable'> = {},
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
