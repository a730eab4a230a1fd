import { randomUUID } from 'node:crypto';
import { UnavailableError } from '../../protocol';
import type { SnapshotRead, StoredSnapshot } from '../../document/stored-snapshot';
import type { RedisClient } from '../../redis/connection';
import type { DocKeys } from '../../redis/keys';
import { entityField } from '../../redis/submission-args';
import { CollaborationScripts as Scripts, documentScriptKeys } from './lua';
import { asNumber, decodeSaveRead } from './lua/codec';

/** How long a saver lease lasts when its holder never records the save (it crashed). */
export const SAVER_LEASE_MS = 30_000;

/** With a document store, what the Redis collaboration service needs of it. */
export interface RedisDurableOptions {
  /** The stored snapshot of a document Redis does not have; null for a new document. */
  load(doc: string): Promise<StoredSnapshot | null>;
  /** Unique per process: the holder written into saver leases. */
  owner: string;
  /** @default SAVER_LEASE_MS */
  saverLeaseMs?: number;
}

/** Loads of a durable document before a script that keeps answering `missing` is given up. */
const RESTORE_ATTEMPTS = 3;

/**
 * Runs a script that answers `missing` for a durable document with no
 * session: the document is then loaded from the store and the script run again.
 */
export async function withSession<T>(
  durable: RedisDurableDocuments | undefined,
  doc: string,
  keys: DocKeys,
  run: () => Promise<T | 'missing'>,
): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    const result = await run();
    if (result !== 'missing') return result;
    if (!durable || attempt >= RESTORE_ATTEMPTS)
      throw new UnavailableError(
        `document "${doc}" could not be loaded into Redis from the document store; try again shortly`,
      );
    await durable.restore(doc, keys, true);
  }
}

type Call = <T>(operation: string, doc: string, run: () => Promise<T>) => Promise<T>;

/**
 * The document-store side of documents kept in Redis: a session missing from
 * Redis is seeded from its stored snapshot (seed-6), never started empty over
 * it; one process at a time writes a document (its saver lease, taken by
 * save-read-3 and released by saved-7); savedSeq lives in the session hash.
 */
export class RedisDurableDocuments {
  /** Seeds in flight in this process, one per document: concurrent first opens share it. */
  private readonly seeding = new Map<string, Promise<void>>();

  constructor(
    private readonly options: RedisDurableOptions,
    private readonly redis: RedisClient,
    private readonly ttlSeconds: number,
    private readonly call: Call,
  ) {}

  /**
   * Loads `doc` from the store into Redis unless a session exists by then; a
   * document the store lacks starts empty (seq 0) when `createIfNew`. A store
   * that cannot be read refuses (UNAVAILABLE): nothing is created.
   */
  restore(doc: string, keys: DocKeys, createIfNew: boolean): Promise<void> {
    const key = `${createIfNew ? 'create' : 'load'}\t${doc}`;
    let pending = this.seeding.get(key);
    if (!pending) {
      pending = this.seed(doc, keys, createIfNew).finally(() => this.seeding.delete(key));
      this.seeding.set(key, pending);
    }
    return pending;
  }

  private async seed(doc: string, keys: DocKeys, createIfNew: boolean): Promise<void> {
    const stored = await this.options.load(doc).catch((err: unknown) => {
      const reason = `document "${doc}" cannot be read from the document store (${(err as Error).message})`;
      throw new UnavailableError(`${reason}; nothing was changed: try again shortly`);
    });
    if (!stored && !createIfNew) return;
    const snapshot = stored ?? { epoch: randomUUID(), seq: 0, state: {} };
    const args: Array<string | number> = [doc, snapshot.epoch, snapshot.seq, this.ttlSeconds];
    for (const [coll, entities] of Object.entries(snapshot.state)) {
      for (const [id, entity] of Object.entries(entities)) {
        args.push(entityField(coll, id), JSON.stringify(entity));
      }
    }
    await this.call('seed', doc, () =>
      Scripts.seed.run(this.redis, documentScriptKeys(keys), args),
    );
  }

  /** The snapshot to write, taking the saver lease (see SnapshotRead). */
  async readForSave(doc: string, keys: DocKeys): Promise<SnapshotRead> {
    const reply = await this.call('readForSave', doc, () =>
      Scripts.saveRead.run(
        this.redis,
        [keys.session, keys.state, keys.saver],
        [this.options.owner, this.options.saverLeaseMs ?? SAVER_LEASE_MS],
      ),
    );
    return decodeSaveRead(reply);
  }

  /** The store holds `doc` up to `seq` of `epoch`: savedSeq, TTL back, lease released. */
  async recordSaved(doc: string, keys: DocKeys, seq: number, epoch: string): Promise<number> {
    const reply = await this.call('recordSaved', doc, () =>
      Scripts.saved.run(
        this.redis,
        [...documentScriptKeys(keys), keys.saver],
        [epoch, seq, this.ttlSeconds, this.options.owner],
      ),
    );
    return asNumber('saved-7', reply, 'the saved seq');
  }
}
