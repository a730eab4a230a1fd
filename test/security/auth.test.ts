import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startFlowChild } from '../support/flow-processes';
import { useRedisServers } from '../support/redis-harness';
import { flagEnv, redisEnv } from '../support/redis-env';
import { waitFor } from '../support/scenarios';
import { randomDoc, startTestServer } from '../support/test-server';
import { TestClient } from '../support/ws-client';
import {
  SECRET,
  algNone,
  hs256,
  rs256,
  startLoggedServer,
  upgradeStatus,
  type LoggedServer,
} from './auth-support';

/**
 * PROTOCOL.md section 7 and the /docs route of section 8, beyond the basic
 * matrix of test/e2e/errors.test.ts: algorithm confusion, missing and
 * malformed claims, read versus write grants, `*` versus an exact grant, and
 * that no token ever reaches a log line.
 */
type Server = Awaited<ReturnType<typeof startTestServer>>;

const redis = useRedisServers();
let server: Server;
const clients: TestClient[] = [];

async function connect(token: string, id?: string): Promise<TestClient> {
  const query = `token=${encodeURIComponent(token)}${id ? `&client=${id}` : ''}`;
  const client = await TestClient.connect(`${server.url}?${query}`);
  clients.push(client);
  return client;
}

const set = (id: string, v: number) => [{ op: 'set', coll: 'nodes', id, value: { v } }];

beforeAll(async () => {
  server = await startTestServer({ AUTH_JWT_SECRET: SECRET });
});
afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.close()));
});
afterAll(async () => {
  await server.close();
});

describe('tokens refused at upgrade with 401', () => {
  const doc = 'granted-doc';
  const cases: Array<[string, () => Promise<string> | string]> = [
    ['alg none (unsigned)', () => algNone({ '*': 'write' })],
    [
      'alg none with the signature of a valid token',
      async () => {
        const valid = await hs256({ docs: { '*': 'write' } });
        return `${algNone({ '*': 'write' }).slice(0, -1)}.${valid.split('.')[2]}`;
      },
    ],
    ['RS256 signed by an unknown key', () => rs256({ '*': 'write' })],
    [
      'HS512 with the right secret (only HS256 is accepted)',
      () => hs256({ docs: { '*': 'write' } }, 'HS512'),
    ],
    ['no sub', () => hs256({ sub: '', docs: { [doc]: 'write' } })],
    ['no exp', () => hs256({ docs: { [doc]: 'write' }, expiresInS: null })],
    ['expired', () => hs256({ docs: { [doc]: 'write' }, expiresInS: -30 })],
    ['no docs', () => hs256({})],
    ['docs is an array', () => hs256({ docs: [doc] })],
    ['docs is a string', () => hs256({ docs: '*' })],
    ['docs is null', () => hs256({ docs: null })],
    ['docs grants "admin"', () => hs256({ docs: { [doc]: 'admin' } })],
    ['docs grants true', () => hs256({ docs: { [doc]: true } })],
    ['docs names an invalid document id', () => hs256({ docs: { 'has space': 'read' } })],
    [
      'docs has one invalid entry among valid ones',
      () => hs256({ docs: { [doc]: 'write', '../x': 'read' } }),
    ],
    [
      'docs hides grants under "__proto__"',
      () => hs256({ docs: JSON.parse('{"__proto__":{"*":"write"}}') as unknown }),
    ],
    ['three parts of garbage', () => 'a.b.c'],
    [
      'a tampered payload',
      async () => {
        const [header, , signature] = (await hs256({ docs: { [doc]: 'read' } })).split('.');
        const payload = Buffer.from(
          JSON.stringify({ sub: 'u', exp: 9999999999, docs: { '*': 'write' } }),
        ).toString('base64url');
        return `${header}.${payload}.${signature}`;
      },
    ],
  ];

  it.each(cases)('%s', async (_name, make) => {
    const token = await make();
    expect(await upgradeStatus(`${server.url}?token=${encodeURIComponent(token)}`)).toBe(401);
    // The same token is refused by GET /docs too.
    const res = await fetch(`${server.http}/docs/${doc}`, {
      headers: { authorization: `Bearer ${token}` },
    });
    expect(res.status).toBe(401);
    expect(await res.json()).toMatchObject({ error: 'UNAUTHORIZED' });
  });

  it('accepts the control token, so the refusals above are about the token', async () => {
    const token = await hs256({ docs: { [doc]: 'write' } });
    expect(await upgradeStatus(`${server.url}?token=${encodeURIComponent(token)}`)).toBe(101);
  });

  it('answers 401 with a message that names the problem and never echoes the token', async () => {
    const token = await hs256({ docs: { [doc]: 'write' }, expiresInS: -30 });
    const res = await fetch(`${server.http}/docs/${doc}?token=${token}`);
    const body = await res.text();
    expect(res.status).toBe(401);
    expect(body).toMatch(/expired/);
    expect(body).not.toContain(token.split('.')[2] as string);
  });
});

describe('grants', () => {
  it('a read grant joins, sees events and presence, and is FORBIDDEN to send ops', async () => {
    const doc = randomDoc('ro');
    const writer = await connect(await hs256({ sub: 'writer', docs: { [doc]: 'write' } }));
    const reader = await connect(await hs256({ sub: 'reader', docs: { [doc]: 'read' } }));
    await writer.request({ type: 'join', doc });
    expect(await reader.request({ type: 'join', doc })).toMatchObject({ type: 'joined', seq: 0 });

    expect(await writer.request({ type: 'op', doc, cseq: 1, ops: set('a', 1) })).toMatchObject({
      type: 'ack',
      seq: 1,
    });
    expect(await reader.next((m) => m.type === 'event')).toMatchObject({ seq: 1, cseq: 1 });
    writer.send({ type: 'presence', doc, state: { cursor: 7 } });
    expect(await reader.next((m) => m.type === 'presence')).toMatchObject({
      user: 'writer',
      state: { cursor: 7 },
    });

    for (const ops of [set('a', 2), [{ op: 'del', coll: 'nodes', id: 'a' }]]) {
      expect(await reader.request({ type: 'op', doc, cseq: 1, ops })).toMatchObject({
        type: 'error',
        code: 'FORBIDDEN',
        doc,
        cseq: 1,
      });
    }
    // The refusals left the document alone, and the reader still receives events.
    expect(await writer.request({ type: 'op', doc, cseq: 2, ops: set('b', 2) })).toMatchObject({
      seq: 2,
    });
    expect(await reader.next((m) => m.type === 'event')).toMatchObject({ seq: 2 });
    const read = await hs256({ docs: { [doc]: 'read' } });
    const snapshot = await fetch(`${server.http}/docs/${doc}?token=${read}`);
    expect(await snapshot.json()).toMatchObject({
      seq: 2,
      state: { nodes: { a: { v: 1 }, b: { v: 2 } } },
    });
  });

  it('an exact grant wins over "*", in both directions', async () => {
    const exactRead = randomDoc('exact-read');
    const exactWrite = randomDoc('exact-write');
    const other = randomDoc('other');
    // "*" write, one document read only.
    const a = await connect(await hs256({ docs: { '*': 'write', [exactRead]: 'read' } }));
    // "*" read, one document writable.
    const b = await connect(await hs256({ docs: { '*': 'read', [exactWrite]: 'write' } }));
    for (const doc of [exactRead, exactWrite, other]) {
      expect(await a.request({ type: 'join', doc })).toMatchObject({ type: 'joined' });
      expect(await b.request({ type: 'join', doc })).toMatchObject({ type: 'joined' });
    }
    expect(
      await a.request({ type: 'op', doc: exactRead, cseq: 1, ops: set('x', 1) }),
    ).toMatchObject({ code: 'FORBIDDEN' });
    expect(await a.request({ type: 'op', doc: other, cseq: 1, ops: set('x', 1) })).toMatchObject({
      type: 'ack',
    });
    expect(
      await b.request({ type: 'op', doc: exactWrite, cseq: 1, ops: set('x', 1) }),
    ).toMatchObject({ type: 'ack' });
    expect(await b.request({ type: 'op', doc: other, cseq: 2, ops: set('y', 1) })).toMatchObject({
      code: 'FORBIDDEN',
    });
  });

  it('a token without "*" reaches only its documents', async () => {
    const mine = randomDoc('mine');
    const client = await connect(await hs256({ docs: { [mine]: 'write' } }));
    expect(await client.request({ type: 'join', doc: randomDoc('theirs') })).toMatchObject({
      code: 'FORBIDDEN',
    });
    // An op for a document never joined is NOT_JOINED before any grant is looked at.
    expect(
      await client.request({ type: 'op', doc: randomDoc('theirs'), cseq: 1, ops: set('x', 1) }),
    ).toMatchObject({ code: 'NOT_JOINED' });
    expect(await client.request({ type: 'join', doc: mine })).toMatchObject({ type: 'joined' });
  });

  it('grant names are matched exactly: a prefix, a longer name or a case change grants nothing', async () => {
    const doc = randomDoc('Exact');
    const client = await connect(
      await hs256({
        docs: { [doc.toLowerCase()]: 'write', [`${doc}x`]: 'write', [doc.slice(0, 8)]: 'write' },
      }),
    );
    expect(await client.request({ type: 'join', doc })).toMatchObject({ code: 'FORBIDDEN' });
  });

  it('a grant for a name of Object.prototype grants nothing else', async () => {
    // "constructor" and "toString" are valid document ids; a lookup that reads
    // the prototype would find a function there and must not grant it.
    const client = await connect(await hs256({ docs: { 'granted-only': 'read' } }));
    for (const doc of ['constructor', 'toString', 'hasOwnProperty', '__proto__']) {
      expect(await client.request({ type: 'join', doc })).toMatchObject({
        type: 'error',
        code: 'FORBIDDEN',
      });
    }
  });
});

describe('GET /docs/:doc', () => {
  let doc: string;
  beforeAll(async () => {
    doc = randomDoc('http');
    const writer = await connect(await hs256({ docs: { [doc]: 'write' } }));
    await writer.request({ type: 'join', doc });
    await writer.request({ type: 'op', doc, cseq: 1, ops: set('n', 1) });
    await writer.close();
  });

  const get = (path: string, authorization?: string) =>
    fetch(`${server.http}${path}`, authorization ? { headers: { authorization } } : {});

  it('401 without a token, with a bad one, or with an unknown scheme', async () => {
    const valid = await hs256({ docs: { [doc]: 'read' } });
    expect((await get(`/docs/${doc}`)).status).toBe(401);
    expect((await get(`/docs/${doc}`, 'Bearer nope')).status).toBe(401);
    expect((await get(`/docs/${doc}?token=nope`)).status).toBe(401);
    expect((await get(`/docs/${doc}`, `Basic ${valid}`)).status).toBe(401);
    expect((await get(`/docs/${doc}`, `Bearer ${algNone({ '*': 'read' })}`)).status).toBe(401);
    expect((await get(`/docs/${doc}?token=${await rs256({ '*': 'read' })}`)).status).toBe(401);
  });

  it('403 for a token that grants other documents only', async () => {
    const other = await hs256({ docs: { [`${doc}-other`]: 'write' } });
    expect((await get(`/docs/${doc}`, `Bearer ${other}`)).status).toBe(403);
    expect((await get(`/docs/${doc}?token=${other}`)).status).toBe(403);
  });

  it('200 for read, write and "*" grants, as Bearer or ?token=', async () => {
    for (const docs of [{ [doc]: 'read' }, { [doc]: 'write' }, { '*': 'read' }]) {
      const token = await hs256({ docs });
      for (const res of [
        await get(`/docs/${doc}`, `Bearer ${token}`),
        await get(`/docs/${doc}`, `bearer ${token}`),
        await get(`/docs/${doc}?token=${token}`),
      ]) {
        expect(res.status).toBe(200);
        expect(await res.json()).toMatchObject({ doc, seq: 1, state: { nodes: { n: { v: 1 } } } });
      }
    }
  });

  it('a valid Bearer header wins over a bad ?token=, and the header alone is checked', async () => {
    const token = await hs256({ docs: { [doc]: 'read' } });
    expect((await get(`/docs/${doc}?token=garbage`, `Bearer ${token}`)).status).toBe(200);
    const other = await hs256({ docs: { elsewhere: 'read' } });
    expect((await get(`/docs/${doc}?token=${token}`, `Bearer ${other}`)).status).toBe(403);
  });

  it('404 for a granted document without a session; 400 for an invalid id, before any token check', async () => {
    const token = await hs256({ docs: { '*': 'read' } });
    expect((await get(`/docs/${randomDoc('none')}`, `Bearer ${token}`)).status).toBe(404);
    expect((await get(`/docs/${encodeURIComponent('bad id')}`)).status).toBe(400);
  });
});

describe('tokens never appear in a log line', () => {
  /** Everything a token could leak through: the whole token, its signature, the secret. */
  function secretsOf(tokens: string[]): string[] {
    const parts = tokens.flatMap((t) => [t, t.split('.')[2] ?? '']);
    return [...parts.filter((p) => p.length >= 16), SECRET];
  }

  async function exercise(server: LoggedServer): Promise<string[]> {
    const doc = randomDoc('logs');
    const valid = await hs256({ sub: 'log-user', docs: { [doc]: 'write' } });
    const readOnly = await hs256({ sub: 'log-reader', docs: { [doc]: 'read' } });
    const refused = [
      await hs256({ docs: { [doc]: 'write' }, expiresInS: -30 }),
      await hs256({ docs: { [doc]: 'admin' } }),
      await hs256({ docs: { [doc]: 'write' } }, 'HS512'),
      algNone({ '*': 'write' }),
      await rs256({ '*': 'write' }),
      `${valid.slice(0, -4)}AAAA`,
      'not-a-jwt-but-long-enough-to-be-searched-for',
    ];
    for (const token of refused) {
      expect(await upgradeStatus(`${server.url}?token=${encodeURIComponent(token)}`)).toBe(401);
      expect((await fetch(`${server.http}/docs/${doc}?token=${token}`)).status).toBe(401);
      expect(
        (
          await fetch(`${server.http}/docs/${doc}`, {
            headers: { authorization: `Bearer ${token}` },
          })
        ).status,
      ).toBe(401);
    }
    const writer = await TestClient.connect(`${server.url}?token=${valid}&client=log-writer`);
    const reader = await TestClient.connect(`${server.url}?token=${readOnly}`);
    try {
      await writer.request({ type: 'join', doc, presence: { name: 'W' } });
      await reader.request({ type: 'join', doc });
      expect(await writer.request({ type: 'op', doc, cseq: 1, ops: set('a', 1) })).toMatchObject({
        type: 'ack',
      });
      expect(await reader.request({ type: 'op', doc, cseq: 1, ops: set('a', 2) })).toMatchObject({
        code: 'FORBIDDEN',
      });
      writer.send('not json');
      await writer.next((m) => m.type === 'error');
      await writer.request({ type: 'join', doc: 'not-granted' });
      await writer.request({ type: 'leave', doc });
    } finally {
      await Promise.all([writer.close(), reader.close()]);
    }
    for (const token of [valid, readOnly]) {
      expect((await fetch(`${server.http}/docs/${doc}?token=${token}`)).status).toBe(200);
      await fetch(`${server.http}/no-such-route?token=${token}`);
      await fetch(`${server.http}/docs/${randomDoc('missing')}`, {
        headers: { authorization: `Bearer ${token}` },
      });
    }
    return secretsOf([valid, readOnly, ...refused]);
  }

  function expectClean(text: string, secrets: string[]): void {
    expect(text.length).toBeGreaterThan(0);
    for (const secret of secrets) {
      const at = text.indexOf(secret);
      expect(at === -1 ? '' : text.slice(Math.max(0, at - 200), at + 200)).toBe('');
    }
  }

  it('memory mode, at trace level', async () => {
    const logged = await startLoggedServer({ AUTH_JWT_SECRET: SECRET });
    try {
      const secrets = await exercise(logged);
      await logged.close();
      expectClean(logged.logText(), secrets);
      // The log did record the refusals' context; it is not silent by accident.
      expect(logged.logText()).toContain('listening');
    } finally {
      await logged.close();
    }
  });

  it('Redis mode with DEBUG=redis:* (every Redis command traced), at trace level', async () => {
    const logged = await startLoggedServer({
      AUTH_JWT_SECRET: SECRET,
      DEBUG: 'redis:*',
      ...redisEnv(redis.addresses, 'single'),
      ...flagEnv({ websockets: true, collaboration: true, eventOrdering: true }),
    });
    try {
      const secrets = await exercise(logged);
      await logged.close();
      const text = logged.logText();
      expectClean(text, secrets);
      expect(text).toMatch(/EVALSHA|evalsha|FCALL|fcall|hget|HGET/i);
    } finally {
      await logged.close();
    }
  }, 30_000);

  it('a gateway process with its production logger (stdout JSON), at trace level', async () => {
    const child = await startFlowChild(
      'all',
      { AUTH_JWT_SECRET: SECRET, LOG_LEVEL: 'trace' },
      40_000,
    );
    try {
      const secrets = await exercise(
        Object.assign(child, { logText: () => child.lines.join('\n') }) as unknown as LoggedServer,
      );
      await child.kill('SIGTERM');
      await waitFor(
        () => child.lines.some((l) => l.includes('"msg":"stopped"')),
        5_000,
        'exit log',
      );
      expectClean(child.lines.join('\n'), secrets);
    } finally {
      await child.kill('SIGKILL');
    }
  }, 60_000);
});
