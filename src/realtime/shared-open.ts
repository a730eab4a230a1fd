import type { CatchUp } from '../document/catch-up';

/**
 * One snapshot read shared by the joins of a document at one seq, so that
 * many joiners of a large document cost one read of it, not one each. A
 * failed read is not shared: the next join tries again.
 */
export class SharedOpen {
  private current: { seq: number; promise: Promise<CatchUp> } | null = null;

  /** The read made at `seq`, or a new one from `open`. */
  at(seq: number, open: () => Promise<CatchUp>): Promise<CatchUp> {
    const shared = this.current;
    if (shared && shared.seq === seq) return shared.promise;
    const promise = open();
    this.current = { seq, promise };
    promise.catch(() => {
      if (this.current?.promise === promise) this.current = null;
    });
    return promise;
  }

  clear(): void {
    this.current = null;
  }
}
