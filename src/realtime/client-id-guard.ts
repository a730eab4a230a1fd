import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import { CloseCodes, ProtocolError, UnavailableError } from '../protocol';
import { MemoryClientIdRegistry } from '../services/client-ids/client-ids.memory';
import type { ClientIdClaim, ClientIdRegistry } from '../services/client-ids/client-id-registry';

/** The reason of the close, as PROTOCOL.md section 1 words it. */
export const TAKEN_OVER_REASON = 'client id in use by a newer connection';

/** How often open connections keep their client-id records alive (well within the hold lease). */
export const CLIENT_ID_REFRESH_MS = 30_000;
/** A takeover that arrives before its connection opened is remembered this long. */
const EARLY_TAKEOVER_MS = 30_000;

/** The upgrade presented a client id that another user owns: refused with HTTP 409. */
export class ClientIdOwnedError extends ProtocolError {
  constructor(client: string) {
    super(
      'BAD_REQUEST',
      `client id "${client}" belongs to another user; connect with a client id of your own, or without one (the server then assigns one)`,
    );
    this.name = 'ClientIdOwnedError';
  }
}

interface Holder {
  claim: ClientIdClaim;
  end(code: number, reason: string): void;
}

/**
 * This gateway's side of the client-id registry: claims an id at the
 * upgrade, closes the older connection (4409) when a newer one takes its id
 * over anywhere in the cluster, releases the id when the connection ends.
 */
export class ClientIdGuard {
  private readonly holders = new Map<string, Holder>();
  /** Connections taken over between their upgrade and their open: closed as soon as they open. */
  private readonly early = new Map<string, number>();
  private readonly ticker: NodeJS.Timeout;

  constructor(
    private readonly registry: ClientIdRegistry,
    private readonly node: string,
    private readonly log: Logger,
    /** Used while the registry is unavailable (give it the registry's retention). */
    private readonly fallback: ClientIdRegistry = new MemoryClientIdRegistry({
      retentionSeconds: 0,
    }),
  ) {
    this.ticker = setInterval(() => this.refresh(), CLIENT_ID_REFRESH_MS);
    this.ticker.unref();
  }

  async start(): Promise<void> {
    const listener = (client: string, connection: string) => this.takenOver(client, connection);
    await this.fallback.listen(this.node, listener);
    await this.registry.listen(this.node, listener);
  }

  /** Claims `client` for a new connection of `user`; throws ClientIdOwnedError when it is another's. */
  async claim(client: string, user: string | null): Promise<ClientIdClaim> {
    const claim: ClientIdClaim = { client, user, node: this.node, connection: randomUUID() };
    let outcome;
    try {
      outcome = await this.registry.claim(claim);
    } catch (err) {
      if (!(err instanceof UnavailableError)) throw err;
      // The shared registry is down (so are the other Redis services, whose
      // requests answer UNAVAILABLE): this gateway still keeps its own
      // connections to one per client id and one user per client id.
      this.log.warn({ client, err: err.message }, 'client id claimed on this gateway only');
      outcome = await this.fallback.claim(claim);
    }
    if (outcome.kind === 'refused') throw new ClientIdOwnedError(client);
    return claim;
  }

  /** The connection opened; false when a newer one already took its id (it must close). */
  attach(claim: ClientIdClaim, end: (code: number, reason: string) => void): boolean {
    if (this.early.delete(claim.connection)) {
      end(CloseCodes.CLIENT_ID_TAKEN_OVER, TAKEN_OVER_REASON);
      return false;
    }
    this.holders.set(claim.connection, { claim, end });
    return true;
  }

  /** The connection closed, or its upgrade was abandoned. */
  release(claim: ClientIdClaim): void {
    this.holders.delete(claim.connection);
    void this.fallback.release(claim);
    this.registry
      .release(claim)
      .catch((err: unknown) =>
        this.log.warn({ client: claim.client, err }, 'client id release failed'),
      );
  }

  private takenOver(client: string, connection: string): void {
    const holder = this.holders.get(connection);
    if (!holder) {
      const now = Date.now();
      for (const [id, at] of this.early) if (now - at > EARLY_TAKEOVER_MS) this.early.delete(id);
      this.early.set(connection, now);
      return;
    }
    this.holders.delete(connection);
    this.log.info({ client }, 'client id taken over by a newer connection');
    holder.end(CloseCodes.CLIENT_ID_TAKEN_OVER, TAKEN_OVER_REASON);
  }

  private refresh(): void {
    if (this.holders.size === 0) return;
    const claims = [...this.holders.values()].map((h) => h.claim);
    this.registry
      .refresh(claims)
      .catch((err: unknown) => this.log.debug({ err }, 'client id refresh failed'));
  }

  async close(): Promise<void> {
    clearInterval(this.ticker);
    await this.fallback.close();
    await this.registry.close();
  }
}
