import type { Member } from './member';

/**
 * The members of one document on one gateway, also indexed by client id: an
 * outcome names its client, and that client's members get the ack. One
 * client may hold two members of a document for a moment (a re-join that
 * overlaps the leave of the earlier one).
 */
export class FeedMembers implements Iterable<Member> {
  private readonly all = new Set<Member>();
  private readonly byClient = new Map<string, Set<Member>>();

  get size(): number {
    return this.all.size;
  }

  [Symbol.iterator](): Iterator<Member> {
    return this.all[Symbol.iterator]();
  }

  add(member: Member): void {
    this.all.add(member);
    let set = this.byClient.get(member.client);
    if (!set) this.byClient.set(member.client, (set = new Set()));
    set.add(member);
  }

  delete(member: Member): void {
    this.all.delete(member);
    const set = this.byClient.get(member.client);
    set?.delete(member);
    if (set?.size === 0) this.byClient.delete(member.client);
  }

  /** The members of `client` (usually one). */
  of(client: string): Iterable<Member> {
    return this.byClient.get(client) ?? [];
  }

  /** The one live member of `client`, when it has exactly one. */
  onlyLive(client: string): Member | undefined {
    const set = this.byClient.get(client);
    if (set?.size !== 1) return undefined;
    const [member] = set;
    return member?.phase === 'live' ? member : undefined;
  }

  /** The receive time of the oldest unacked op of any member, or undefined. */
  oldestInflight(): number | undefined {
    let oldest: number | undefined;
    for (const member of this.all) {
      const since = member.inflight.oldest();
      if (since !== undefined && (oldest === undefined || since < oldest)) oldest = since;
    }
    return oldest;
  }
}
