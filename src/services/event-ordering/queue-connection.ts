import { createIORedisClient } from 'bullmq';
import type { Cluster, Redis } from 'ioredis';

type Listener = (...args: unknown[]) => void;

/**
 * The connection a gateway's document queues share, as BullMQ sees it.
 *
 * Every BullMQ Queue puts three listeners (error, close, ready) on its
 * connection and takes them off when it closes. On a plain client they sit
 * in EventEmitter arrays, so with thousands of cached queues each eviction
 * (the oldest queue, whose listeners are at the far end) scans and splices
 * arrays of thousands: 5-9 % of a gateway's CPU at 10,000 documents. Here
 * they sit in Maps behind one listener per event on the client, so adding
 * and removing one costs the same however many queues are open. Everything
 * else goes to BullMQ's own adapter of the client.
 */
export function queueConnection(client: Redis | Cluster): Redis | Cluster {
  const adapted = createIORedisClient(client) as unknown as Redis | Cluster;
  // Per event: each listener as registered -> what to call (`once` removes itself).
  const events = new Map<string | symbol, Map<Listener, Listener>>();
  const listenersOf = (event: string | symbol): Map<Listener, Listener> => {
    let listeners = events.get(event);
    if (!listeners) {
      const created = new Map<Listener, Listener>();
      adapted.on(event, (...args: unknown[]) => {
        for (const call of created.values()) call(...args);
      });
      events.set(event, (listeners = created));
    }
    return listeners;
  };
  // Commands defined on the client (BullMQ's scripts): BullMQ's adapter binds
  // them afresh at every read, and every new Queue reads each of them once.
  const commands = new Map<string | symbol, unknown>();
  const facade: Redis | Cluster = new Proxy(adapted, {
    get(target, prop) {
      const own = overrides[prop as keyof typeof overrides];
      if (own !== undefined && Object.hasOwn(overrides, prop)) return own;
      if (commands.has(prop)) return commands.get(prop);
      const value: unknown = Reflect.get(target, prop);
      if (typeof value === 'function' && Object.hasOwn(client, prop)) commands.set(prop, value);
      return value;
    },
  });
  const on = (event: string | symbol, listener: Listener) => {
    listenersOf(event).set(listener, listener);
    return facade;
  };
  const off = (event: string | symbol, listener: Listener) => {
    events.get(event)?.delete(listener);
    return facade;
  };
  const overrides = {
    on,
    addListener: on,
    once: (event: string | symbol, listener: Listener) => {
      const listeners = listenersOf(event);
      listeners.set(listener, (...args: unknown[]) => {
        listeners.delete(listener);
        listener(...args);
      });
      return facade;
    },
    off,
    removeListener: off,
    // The limit guards against leaks in EventEmitter arrays, which hold none of these.
    getMaxListeners: () => 0,
    setMaxListeners: () => facade,
  };
  return facade;
}
