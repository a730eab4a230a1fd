import type { Logger } from 'pino';
import type { FlowConfig } from '../config';
import { isCluster, type RedisClient, type RedisKeys } from '../redis';
import type { RedisResources } from '../redis/resources';
import type { SaveScheduler } from '../services/document-store';
import type { CloseSteps } from './close-steps';
import type { DocumentSaving } from './document-saving';

/**
 * How often one process looks for unsaved documents that no process is
 * storing: three times STORE_MAX_DELAY_MS (30 s by default), within 1-60 s.
 */
export function sweepInterval(maxDelayMs: number): number {
  return Math.min(Math.max(3 * maxDelayMs, 1000), 60_000);
}

/** Session keys read per SCAN step. */
const SCAN_COUNT = 1000;

export interface UnsavedSweepOptions {
  client: RedisClient;
  keys: RedisKeys;
  scheduler: Pick<SaveScheduler, 'notify' | 'hasUnsaved'>;
  /** Unique per process: the holder of the sweep's lease. */
  owner: string;
  log: Pick<Logger, 'info' | 'warn'>;
  everyMs: number;
  /**
   * A document last edited this long ago whose edits are still not stored is
   * nobody's: the process that applied them stopped before storing them.
   */
  staleMs: number;
  now?: () => number;
}

/**
 * Durable documents in Redis are stored by the process that applied their
 * edits. When that process dies first, the edits stay in Redis (their keys
 * do not expire while unsaved) and this sweep, run by one process at a time
 * (the lease `flow:store-sweep`), finds them over every master and stores them.
 */
export class UnsavedSweep {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;

  constructor(private readonly options: UnsavedSweepOptions) {}

  start(): void {
    this.timer = setInterval(() => {
      this.running ??= this.sweep()
        .then(() => undefined)
        .catch((err: unknown) =>
          this.options.log.warn(
            { err: (err as Error).message },
            'looking for unsaved documents failed; trying again at the next sweep',
          ),
        )
        .finally(() => (this.running = undefined));
    }, this.options.everyMs);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    await this.running;
  }

  /** One sweep: the documents found are handed to the scheduler; resolves to how many. */
  async sweep(): Promise<number> {
    const { client, keys, owner, everyMs } = this.options;
    const lease = keys.storeSweep();
    const taken = await client.set(lease, owner, 'PX', everyMs, 'NX');
    if (taken === null && (await client.get(lease)) !== owner) return 0;
    const nodes: RedisClient[] = isCluster(client) ? client.nodes('master') : [client];
    let found = 0;
    for (const node of nodes) found += await this.sweepNode(node);
    if (found > 0)
      this.options.log.warn(
        { documents: found },
        'found documents whose latest edits no process was storing (a process stopped first); storing them now',
      );
    return found;
  }

  private async sweepNode(node: RedisClient): Promise<number> {
    const pattern = `${this.options.keys.prefix}sessions:*`;
    const cutoff = (this.options.now ?? Date.now)() - this.options.staleMs;
    let found = 0;
    let cursor = '0';
    do {
      const [next, sessionKeys] = await node.scan(cursor, 'MATCH', pattern, 'COUNT', SCAN_COUNT);
      cursor = next;
      if (sessionKeys.length === 0) continue;
      // The keys are this node's own, so one pipeline to it reads them all.
      const pipeline = node.pipeline();
      for (const key of sessionKeys)
        pipeline.hmget(key, 'doc', 'epoch', 'seq', 'savedEpoch', 'savedSeq', 'updatedAt');
      const replies = (await pipeline.exec()) ?? [];
      for (const [err, fields] of replies) {
        if (err || !Array.isArray(fields)) continue;
        const [doc, epoch, seq, savedEpoch, savedSeq, updatedAt] = fields as Array<string | null>;
        if (!doc || !epoch) continue;
        const saved = savedEpoch === epoch ? Number(savedSeq ?? 0) : 0;
        if (Number(seq) <= saved || Number(updatedAt ?? 0) > cutoff) continue;
        if (this.options.scheduler.hasUnsaved(doc)) continue;
        this.options.scheduler.notify(doc, Number(seq));
        found++;
      }
    } while (cursor !== '0');
    return found;
  }
}

/** Starts the sweep of a process whose documents are in Redis, stopped by `steps`. */
export function sweepUnsaved(
  config: FlowConfig,
  log: Logger,
  redis: RedisResources,
  saving: DocumentSaving,
  owner: string,
  steps: CloseSteps,
): UnsavedSweep {
  const sweep = new UnsavedSweep({
    client: redis.commands,
    keys: redis.keys,
    scheduler: saving.scheduler,
    owner,
    log,
    everyMs: sweepInterval(config.documentStore.maxDelayMs),
    staleMs: 2 * config.documentStore.maxDelayMs,
  });
  sweep.start();
  steps.add(() => sweep.stop());
  return sweep;
}
