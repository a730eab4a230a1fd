import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../src/config';

describe('REDIS_WAIT_REPLICAS', () => {
  it('is auto by default: acknowledged ops survive a failover wherever a master has a replica', () => {
    expect(loadConfig({}).redis.waitReplicas).toBe('auto');
  });

  it('takes auto or a whole number, and names what it accepts otherwise', () => {
    expect(loadConfig({ REDIS_WAIT_REPLICAS: 'auto' }).redis.waitReplicas).toBe('auto');
    expect(loadConfig({ REDIS_WAIT_REPLICAS: '0' }).redis.waitReplicas).toBe(0);
    expect(loadConfig({ REDIS_WAIT_REPLICAS: '2' }).redis.waitReplicas).toBe(2);
    for (const bad of ['yes', '-1', '1.5', 'AUTO ']) {
      expect(() => loadConfig({ REDIS_WAIT_REPLICAS: bad })).toThrow(ConfigError);
      expect(() => loadConfig({ REDIS_WAIT_REPLICAS: bad })).toThrow(
        /REDIS_WAIT_REPLICAS: must be auto or a whole number/,
      );
    }
  });
});
