import { describe, expect, it, vi } from 'vitest';
import { WebSocket } from 'ws';
import { ConnectionState, FlowError, type StateChange } from '../../src/client';
import { createClient, eventually, joinedClient, nextEvent, startServer } from './helpers';

describe('FlowClient connection', () => {
  it('goes idle -> connecting -> open, sends its client id and token, and emits welcome', async () => {
    const server = await startServer();
    const client = createClient(server, { token: 'jwt-1' });
    const states: StateChange[] = [];
    client.on('state', (change) => states.push(change));
    expect(client.state).toBe(ConnectionState.Idle);
    expect(client.clientId).toMatch(/^[A-Za-z0-9_-]{1,64}$/);

    const welcome = nextEvent(client, 'welcome');
    client.connect();
    expect(client.state).toBe('connecting');
    const connection = await server.nextConnection();
    expect((await welcome).node).toBe('fake-1');

    expect(client.state).toBe('open');
    expect(states.map((s) => [s.previous, s.state])).toEqual([
      ['idle', 'connecting'],
      ['connecting', 'open'],
    ]);
    expect(connection.clientId).toBe(client.clientId);
    expect(connection.query.get('token')).toBe('jwt-1');
  });

  it('keeps a given client id and generates distinct ones otherwise', async () => {
    const server = await startServer();
    const a = createClient(server, { client: 'tab_A-1' });
    a.connect();
    expect((await server.nextConnection()).clientId).toBe('tab_A-1');
    expect(createClient(server).clientId).not.toBe(createClient(server).clientId);
    expect(() => createClient(server, { client: 'bad id!' })).toThrow(TypeError);
  });

  it('answers ping by ref with the round trip time', async () => {
    const server = await startServer();
    const client = createClient(server);
    client.connect();
    await nextEvent(client, 'welcome');
    const rtt = await client.ping();
    expect(rtt).toBeGreaterThanOrEqual(0);
    const connection = server.connections[0];
    const ping = connection?.received.find((m) => m.type === 'ping');
    expect(ping?.ref).toMatch(/^r\d+$/);
  });

  it('close() is idempotent, closes with 1000 and rejects what waits', async () => {
    const { client, connection, handle } = await joinedClient(await startServer());
    const states: string[] = [];
    client.on('state', (change) => states.push(change.state));
    const submit = handle.submit([{ op: 'set', coll: 'nodes', id: 'n1', value: { x: 1 } }]);
    const joining = client.join('doc-2');
    await connection.next('op');

    client.close();
    client.close();

    expect(client.state).toBe('closed');
    expect(states).toEqual(['closed']);
    await expect(submit).rejects.toMatchObject({ code: 'CLIENT_CLOSED', doc: 'doc-1' });
    await expect(joining).rejects.toBeInstanceOf(FlowError);
    await expect(joining).rejects.toMatchObject({ code: 'CLIENT_CLOSED' });
    await expect(client.ping()).rejects.toMatchObject({ code: 'CLIENT_CLOSED' });
    await expect(client.join('doc-3')).rejects.toMatchObject({ code: 'CLIENT_CLOSED' });
    expect((await connection.closed).code).toBe(1000);
  });

  it('stops after a 1008 close: state closed, an error event, no reconnect', async () => {
    const srv = await startServer();
    const client = createClient(srv);
    const errors: FlowError[] = [];
    client.on('error', (error) => errors.push(error));
    const joining = client.join('doc-1');
    const connection = await srv.nextConnection();
    await connection.next('join');
    connection.close(1008, 'policy');

    await expect(joining).rejects.toMatchObject({ code: 'DISCONNECTED' });
    expect(client.state).toBe('closed');
    expect(errors.map((e) => e.code)).toEqual(['DISCONNECTED']);
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(srv.connections).toHaveLength(1);
  });

  it.each([1001, 1013, 4000])('reconnects after close %i with a fresh token', async (code) => {
    const srv = await startServer();
    let tokens = 0;
    const client = createClient(srv, { token: () => `t${++tokens}` });
    const states: string[] = [];
    client.on('state', (change) => states.push(change.state));
    client.connect();
    const first = await srv.nextConnection();
    await eventually(() => expect(client.state).toBe('open'));
    first.close(code, 'bye');

    const second = await srv.nextConnection();
    expect(second.clientId).toBe(first.clientId);
    expect([first.query.get('token'), second.query.get('token')]).toEqual(['t1', 't2']);
    await eventually(() => expect(client.state).toBe('open'));
    expect(states).toEqual(['connecting', 'open', 'reconnecting', 'open']);
  });

  it('reconnects within 100 ms after a 1001 (the stopping gateway spreads its closes), after the backoff otherwise', async () => {
    // The largest delays either way: 0.9 of the range.
    const random = vi.spyOn(Math, 'random').mockReturnValue(0.9);
    try {
      const srv = await startServer();
      const reconnectAfter = async (code: number) => {
        const client = createClient(srv, { reconnect: { minDelayMs: 5000, maxDelayMs: 5000 } });
        client.connect();
        const first = await srv.nextConnection();
        await eventually(() => expect(client.state).toBe('open'));
        const closed = Date.now();
        first.close(code, 'bye');
        const again = await Promise.race([
          srv.nextConnection().then(() => Date.now() - closed),
          new Promise<null>((resolve) => setTimeout(() => resolve(null), 1000)),
        ]);
        client.close();
        return again;
      };
      expect(await reconnectAfter(1001)).toBeLessThan(500);
      // A slow-consumer close keeps the backoff: 0.9 x 5000 ms.
      expect(await reconnectAfter(1013)).toBeNull();
    } finally {
      random.mockRestore();
    }
  });

  it('keeps retrying through the given WebSocket while the server cannot be reached', async () => {
    const srv = await startServer();
    const url = srv.url;
    await srv.close();
    const urls: string[] = [];
    class CountingWebSocket extends WebSocket {
      constructor(address: string) {
        urls.push(address);
        super(address);
      }
    }
    const client = createClient(url, {
      WebSocket: CountingWebSocket,
      reconnect: { minDelayMs: 20, maxDelayMs: 20 },
    });
    const states: string[] = [];
    client.on('state', (change) => states.push(change.state));
    client.connect();
    await eventually(() => expect(urls.length).toBeGreaterThanOrEqual(3));
    expect(client.state).toBe('reconnecting');
    expect(states).toEqual(['connecting', 'reconnecting']);
    // Every attempt carries the same client id.
    expect(new Set(urls.map((u) => new URL(u).searchParams.get('client'))).size).toBe(1);
  });

  it('drops a silent connection after the keepalive timeout and reconnects', async () => {
    const srv = await startServer();
    const client = createClient(srv, { pingIntervalMs: 30, pongTimeoutMs: 30 });
    client.connect();
    const first = await srv.nextConnection();
    await eventually(() => expect(client.state).toBe('open'));
    // Stop answering anything, pings included: a dead peer.
    (first as unknown as { send: () => void }).send = () => {};
    const second = await srv.nextConnection(1_000);
    expect(first.received.some((m) => m.type === 'ping')).toBe(true);
    expect(second.clientId).toBe(first.clientId);
  });

  it('adopts the client id the welcome names', async () => {
    const srv = await startServer({ welcome: false });
    const client = createClient(srv);
    client.connect();
    const connection = await srv.nextConnection();
    connection.welcome('fake-1', 'server-named');
    await eventually(() => expect(client.clientId).toBe('server-named'));
  });
});
