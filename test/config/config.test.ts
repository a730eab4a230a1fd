import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { createRedis } from '../../src/redis/connection';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {
  ConfigError,
  describeConfig,
  loadConfig,
  redisDebugEnabled,
  withEnvFile,
} from '../../src/config';

describe('configuration', () => {
  it('has the operations guide variables with its defaults', () => {
    const config = loadConfig({});
    expect(config.redis).toMatchObject({
      host: 'localhost',
      port: 6379,
      password: '',
      db: 0,
      sessionTtlSeconds: 3600,
      maxRetries: 3,
      retryDelayMs: 1000,
      keyPrefix: 'flow:',
    });
    expect(config.flags).toEqual({ websockets: false, collaboration: false, eventOrdering: false });
    expect(config.port).toBe(3001);
    expect(config.limits.maxPayloadBytes).toBe(65536);
  });

  it('keeps Redis auto-pipelining off unless REDIS_AUTO_PIPELINING asks for it, on command connections only', () => {
    expect(loadConfig({}).redis.autoPipelining).toBe(false);
    const config = loadConfig({ REDIS_AUTO_PIPELINING: 'true', REDIS_PORT: '1' });
    const quiet = pino({ level: 'silent' });
    const commands = createRedis(config, quiet, 'commands', {
      lazyConnect: true,
      autoPipelining: config.redis.autoPipelining,
    });
    const subscriber = createRedis(config, quiet, 'subscriber', { lazyConnect: true });
    expect(commands.options.enableAutoPipelining).toBe(true);
    expect(subscriber.options.enableAutoPipelining).toBe(false);
    commands.disconnect();
    subscriber.disconnect();
  });

  it('reads flags strictly: true/false/1/0 only', () => {
    expect(
      loadConfig({ USE_REDIS_WEBSOCKETS: 'true', USE_REDIS_COLLABORATION: '1' }).flags,
    ).toMatchObject({
      websockets: true,
      collaboration: true,
    });
    expect(() => loadConfig({ USE_REDIS_WEBSOCKETS: 'ture' })).toThrow(ConfigError);
  });

  it('names every bad variable and what it accepts, all at once', () => {
    try {
      loadConfig({
        PORT: 'abc',
        REDIS_CLUSTER_NODES: 'a:1,b',
        USE_REDIS_EVENT_ORDERING: 'yes',
        LOG_LEVEL: 'loud',
      });
      expect.unreachable();
    } catch (err) {
      expect(err).toBeInstanceOf(ConfigError);
      const message = (err as Error).message;
      expect(message).toMatch(/PORT: /);
      expect(message).toMatch(/REDIS_CLUSTER_NODES: .*"b" is not host:port/);
      expect(message).toMatch(/USE_REDIS_EVENT_ORDERING: must be true or false/);
      expect(message).toMatch(/LOG_LEVEL: /);
    }
  });

  it('is frozen', () => {
    const config = loadConfig({});
    expect(Object.isFrozen(config)).toBe(true);
    expect(Object.isFrozen(config.redis)).toBe(true);
  });

  it('masks secrets when described, and lists every variable once', () => {
    const entries = describeConfig(
      loadConfig({ REDIS_PASSWORD: 'hunter2', AUTH_JWT_SECRET: 's3cret' }),
    );
    const byName = new Map(entries.map((e) => [e.env, e]));
    expect(byName.get('REDIS_PASSWORD')?.value).toBe('********');
    expect(byName.get('AUTH_JWT_SECRET')?.value).toBe('********');
    expect(JSON.stringify(entries)).not.toMatch(/hunter2|s3cret/);
    expect(byName.size).toBe(entries.length);
    for (const entry of entries) expect(entry.doc.length).toBeGreaterThan(10);
  });

  it('turns Redis tracing on for DEBUG=redis:*', () => {
    expect(redisDebugEnabled(loadConfig({ DEBUG: 'redis:*' }))).toBe(true);
    expect(redisDebugEnabled(loadConfig({ DEBUG: 'other' }))).toBe(false);
  });

  it('reads .env under the environment: the environment wins', () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'flow-env-'));
    const file = path.join(dir, '.env');
    writeFileSync(
      file,
      'USE_REDIS_WEBSOCKETS=true\nPORT=4100\n# a comment\nREDIS_HOST=from-file\n',
    );
    try {
      const config = loadConfig(withEnvFile({ PORT: '4200' }, file));
      expect(config.flags.websockets).toBe(true);
      expect(config.port).toBe(4200);
      expect(config.redis.host).toBe('from-file');
      expect(withEnvFile({ A: '1' }, path.join(dir, 'missing'))).toEqual({ A: '1' });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('DEBUG and the Redis password', () => {
  it.each(['*', 'ioredis:*', 'app,ioredis:redis*', 'ioredis'])(
    'refuses DEBUG=%s when REDIS_PASSWORD is set: ioredis would print it',
    (debug) => {
      expect(() => loadConfig({ DEBUG: debug, REDIS_PASSWORD: 'hunter2' })).toThrow(
        /DEBUG: .* prints REDIS_PASSWORD; use DEBUG=redis:\*/,
      );
    },
  );

  it('allows DEBUG=redis:* with a password, and DEBUG=* without one', () => {
    expect(redisDebugEnabled(loadConfig({ DEBUG: 'redis:*', REDIS_PASSWORD: 'x' }))).toBe(true);
    expect(redisDebugEnabled(loadConfig({ DEBUG: '*' }))).toBe(false);
  });
});

describe('REDIS_AUTO_PIPELINING with BullMQ ordering', () => {
  it('is refused at start, saying why and what to set', () => {
    expect(() =>
      loadConfig({ REDIS_AUTO_PIPELINING: 'true', USE_REDIS_EVENT_ORDERING: 'true' }),
    ).toThrow(
      /REDIS_AUTO_PIPELINING=true.*USE_REDIS_EVENT_ORDERING=true.*set REDIS_AUTO_PIPELINING=false/,
    );
    expect(loadConfig({ REDIS_AUTO_PIPELINING: 'true' }).redis.autoPipelining).toBe(true);
  });
});
