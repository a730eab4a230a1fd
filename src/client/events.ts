/** An event name to the payload its listeners receive. */
export type EventMap = object;

export type Listener<T> = (payload: T) => void;

/**
 * A typed event emitter. A throwing listener must not break the SDK's state
 * machine half way through a message, so its error is rethrown on a later
 * microtask, where the host reports it as uncaught.
 */
export class TypedEmitter<M extends EventMap> {
  private readonly listeners = new Map<keyof M, Set<Listener<never>>>();

  /** Adds a listener; returns the function that removes it. */
  on<K extends keyof M>(event: K, listener: Listener<M[K]>): () => void {
    let set = this.listeners.get(event);
    if (!set) {
      set = new Set();
      this.listeners.set(event, set);
    }
    set.add(listener);
    return () => {
      set.delete(listener);
    };
  }

  /** Adds a listener that runs at most once. */
  once<K extends keyof M>(event: K, listener: Listener<M[K]>): () => void {
    const off = this.on(event, (payload) => {
      off();
      listener(payload);
    });
    return off;
  }

  protected emit<K extends keyof M>(event: K, payload: M[K]): void {
    const set = this.listeners.get(event);
    if (!set) return;
    // Copy: a listener may unsubscribe itself or others while we iterate.
    for (const listener of [...set] as Listener<M[K]>[]) {
      try {
        listener(payload);
      } catch (err) {
        queueMicrotask(() => {
          throw err;
        });
      }
    }
  }

  protected removeAllListeners(): void {
    this.listeners.clear();
  }
}
