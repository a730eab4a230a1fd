import { describe, expect, it } from 'vitest';
import { generateClientId } from '../../src/client/client-id';
import { TypedEmitter } from '../../src/client/events';
import { defaultWebSocket } from '../../src/client/transport';
import { WebSocket } from 'ws';

class Emitter extends TypedEmitter<{ tick: number }> {
  fire(n: number): void {
    this.emit('tick', n);
  }
}

describe('TypedEmitter', () => {
  it('unsubscribes with the returned function and runs once listeners once', () => {
    const emitter = new Emitter();
    const seen: string[] = [];
    const off = emitter.on('tick', (n) => seen.push(`on${n}`));
    emitter.once('tick', (n) => seen.push(`once${n}`));
    emitter.fire(1);
    off();
    emitter.fire(2);
    expect(seen).toEqual(['on1', 'once1']);
  });

  it('still calls the other listeners when one throws, and rethrows it later', async () => {
    const emitter = new Emitter();
    const seen: number[] = [];
    const rethrown = new Promise<unknown>((resolve) => {
      const original = globalThis.queueMicrotask;
      globalThis.queueMicrotask = (task) => {
        globalThis.queueMicrotask = original;
        try {
          task();
        } catch (err) {
          resolve(err);
        }
      };
    });
    emitter.on('tick', () => {
      throw new Error('listener bug');
    });
    emitter.on('tick', (n) => seen.push(n));
    emitter.fire(7);
    expect(seen).toEqual([7]);
    expect(await rethrown).toMatchObject({ message: 'listener bug' });
  });
});

describe('platform defaults', () => {
  it('uses the ws package when the platform has no WebSocket (Node 20)', () => {
    const native = (globalThis as { WebSocket?: unknown }).WebSocket;
    expect(defaultWebSocket()).toBe(native ?? WebSocket);
  });

  it('generates client ids that the protocol accepts', () => {
    const ids = new Set(Array.from({ length: 100 }, () => generateClientId()));
    expect(ids.size).toBe(100);
    for (const id of ids) expect(id).toMatch(/^[A-Za-z0-9_-]{21}$/);
  });
});
