import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { ConfigError, configFrom, describeConfig } from '../../src/config';
import {
  assertStoreServesProcesses,
  createDocumentStore,
  describeTarget,
  documentStoreTarget,
} from '../../src/services/document-store';
import { StartupError } from '../../src/config/startup-error';

describe('document store configuration', () => {
  it('keeps documents on disk by default when no Redis flag is on, and nowhere else otherwise', () => {
    expect(documentStoreTarget(configFrom({}))).toEqual({
      kind: 'embedded',
      path: './data/documents',
      defaulted: true,
    });
    expect(documentStoreTarget(configFrom({ USE_REDIS_COLLABORATION: 'true' }))).toEqual({
      kind: 'none',
      defaulted: true,
    });
    expect(documentStoreTarget(configFrom({ DOCUMENT_STORE: 'none' })).kind).toBe('none');
    expect(documentStoreTarget(configFrom({ DOCUMENT_STORE: '' })).kind).toBe('none');
  });

  it('reads file:, postgres:// and http(s):// targets', () => {
    expect(documentStoreTarget(configFrom({ DOCUMENT_STORE: 'file:/var/lib/flow' }))).toEqual({
      kind: 'embedded',
      path: '/var/lib/flow',
      defaulted: false,
    });
    const pgUrl = 'postgresql://u:p@db:5432/flow?sslmode=verify-full';
    expect(documentStoreTarget(configFrom({ DOCUMENT_STORE: pgUrl }))).toEqual({
      kind: 'postgres',
      url: pgUrl,
    });
    expect(
      documentStoreTarget(configFrom({ DOCUMENT_STORE: 'https://app.example/flow/docs' })),
    ).toEqual({ kind: 'http', url: 'https://app.example/flow/docs' });
  });

  it('refuses an unknown target, saying what it accepts', () => {
    expect(() => configFrom({ DOCUMENT_STORE: 'mysql://db' })).toThrow(ConfigError);
    expect(() => configFrom({ DOCUMENT_STORE: 'mysql://db' })).toThrow(
      /DOCUMENT_STORE: must be auto, none, file:PATH, postgres:/,
    );
    expect(() => configFrom({ DOCUMENT_STORE_MIGRATE: 'maybe' })).toThrow(
      /DOCUMENT_STORE_MIGRATE: must be true, false/,
    );
  });

  it('has the debounce defaults, and masks the secret and the password of the URL in `flow config`', () => {
    const config = configFrom({
      DOCUMENT_STORE: 'postgres://u:pw@db/flow',
      DOCUMENT_STORE_SECRET: 'shh',
    });
    expect(config.documentStore).toMatchObject({ debounceMs: 2000, maxDelayMs: 10000 });
    const shown = describeConfig(config);
    const value = (env: string) => shown.find((e) => e.env === env)?.value;
    expect(value('DOCUMENT_STORE_SECRET')).toBe('********');
    expect(value('DOCUMENT_STORE')).toBe('postgres://u:***@db/flow');
    expect(describeConfig(configFrom({})).find((e) => e.env === 'DOCUMENT_STORE')?.value).toBe(
      'auto',
    );
    expect(value('STORE_DEBOUNCE_MS')).toBe('2000');
  });

  it('hides credentials when naming a target', () => {
    const target = documentStoreTarget(
      configFrom({ DOCUMENT_STORE: 'postgres://u:secretpw@db:5432/flow?sslmode=require' }),
    );
    expect(describeTarget(target)).toBe('postgres://u:***@db:5432/flow');
  });

  it('refuses an embedded store for a configuration of several processes, naming PostgreSQL', () => {
    const embedded = documentStoreTarget(configFrom({}));
    expect(() => assertStoreServesProcesses(embedded, false)).not.toThrow();
    expect(() => assertStoreServesProcesses(embedded, true)).toThrow(StartupError);
    expect(() => assertStoreServesProcesses(embedded, true)).toThrow(
      /serves one process.*DOCUMENT_STORE=postgres:/,
    );
    const pgTarget = documentStoreTarget(configFrom({ DOCUMENT_STORE: 'postgres://db/flow' }));
    expect(() => assertStoreServesProcesses(pgTarget, true)).not.toThrow();
  });

  it('warns in one line that documents live only in Redis for the session TTL when there is no store', async () => {
    const lines: string[] = [];
    const log = pino({ level: 'info' }, { write: (line: string) => lines.push(line) });
    const config = configFrom({ USE_REDIS_COLLABORATION: 'true', REDIS_SESSION_TTL: '600' });
    await expect(createDocumentStore(config, log, { severalProcesses: true })).resolves.toBeNull();
    expect(lines).toHaveLength(1);
    const entry = JSON.parse(lines[0] ?? '{}') as Record<string, unknown>;
    expect(entry).toMatchObject({ level: 40, sessionTtlSeconds: 600 });
    expect(entry.msg).toMatch(
      /kept only in Redis, for REDIS_SESSION_TTL seconds after their last edit/,
    );
  });
});
