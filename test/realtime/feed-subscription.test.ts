import { afterEach, describe, expect, it } from 'vitest';
import { startHub } from './hub-harness';

describe('a document subscription that failed', () => {
  let close: (() => Promise<void>) | undefined;
  afterEach(async () => {
    await close?.();
  });

  it('is tried again by the next join instead of replaying the failure', async () => {
    const gateway = startHub();
    close = gateway.close;
    gateway.websockets.failSubscribes = 1;
    const client = gateway.connect('c1');
    expect(await client.request({ type: 'join', doc: 'd1' })).toMatchObject({
      type: 'error',
      code: 'UNAVAILABLE',
    });
    // At once, well within the time an empty feed lingers.
    expect(await client.request({ type: 'join', doc: 'd1' })).toMatchObject({
      type: 'joined',
      doc: 'd1',
    });
    expect(gateway.websockets.subscribeCalls).toBe(2);
  });

  it('fails each waiting join once, then serves the next one', async () => {
    const gateway = startHub();
    close = gateway.close;
    gateway.websockets.failSubscribes = 1;
    const a = gateway.connect('a');
    const b = gateway.connect('b');
    const [first, second] = await Promise.all([
      a.request({ type: 'join', doc: 'd2' }),
      b.request({ type: 'join', doc: 'd2' }),
    ]);
    expect(first).toMatchObject({ type: 'error', code: 'UNAVAILABLE' });
    expect(second).toMatchObject({ type: 'error', code: 'UNAVAILABLE' });
    expect(await b.request({ type: 'join', doc: 'd2' })).toMatchObject({ type: 'joined' });
    expect(await a.request({ type: 'join', doc: 'd2' })).toMatchObject({ type: 'joined' });
  });
});
