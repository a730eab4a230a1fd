import type {
  ClaimOutcome,
  ClientIdClaim,
  ClientIdRegistry,
  TakeoverListener,
} from './client-id-registry';

interface Holding {
  user: string | null;
  holder: ClientIdClaim | null;
  /** When an unheld id is forgotten (ms); Infinity while held or kept forever. */
  expiresAt: number;
}

export interface MemoryClientIdOptions {
  /** Seconds a released id stays its user's; 0 keeps it forever. */
  retentionSeconds: number;
  now?: () => number;
}

/** Client ids of this process only: enough when every connection reaches this one process. */
export class MemoryClientIdRegistry implements ClientIdRegistry {
  readonly mode = 'memory' as const;
  private readonly holdings = new Map<string, Holding>();
  private readonly listeners = new Map<string, TakeoverListener>();
  private readonly now: () => number;
  private readonly sweeper: NodeJS.Timeout;

  constructor(private readonly options: MemoryClientIdOptions) {
    this.now = options.now ?? Date.now;
    this.sweeper = setInterval(() => this.forgetExpired(), 60_000);
    this.sweeper.unref();
  }

  forgetExpired(): void {
    const now = this.now();
    for (const [client, holding] of this.holdings)
      if (holding.holder === null && holding.expiresAt <= now) this.holdings.delete(client);
  }

  async listen(node: string, listener: TakeoverListener): Promise<void> {
    this.listeners.set(node, listener);
  }

  async claim(claim: ClientIdClaim): Promise<ClaimOutcome> {
    const held = this.holdings.get(claim.client);
    const live = held && (held.holder !== null || held.expiresAt > this.now()) ? held : undefined;
    if (live && live.user !== null && live.user !== claim.user) return { kind: 'refused' };
    this.holdings.set(claim.client, {
      user: claim.user ?? live?.user ?? null,
      holder: claim,
      expiresAt: Number.POSITIVE_INFINITY,
    });
    const previous = live?.holder;
    if (previous && previous.connection !== claim.connection)
      this.listeners.get(previous.node)?.(claim.client, previous.connection);
    return { kind: 'claimed' };
  }

  async release(claim: ClientIdClaim): Promise<void> {
    const held = this.holdings.get(claim.client);
    if (!held || held.holder?.connection !== claim.connection) return;
    const { retentionSeconds } = this.options;
    // Without a user there is no ownership to keep.
    if (held.user === null) {
      this.holdings.delete(claim.client);
      return;
    }
    held.holder = null;
    held.expiresAt =
      retentionSeconds === 0 ? Number.POSITIVE_INFINITY : this.now() + retentionSeconds * 1000;
  }

  async refresh(_claims: readonly ClientIdClaim[]): Promise<void> {
    // Held ids never expire here; only released ones do.
  }

  async close(): Promise<void> {
    clearInterval(this.sweeper);
    this.listeners.clear();
  }
}
