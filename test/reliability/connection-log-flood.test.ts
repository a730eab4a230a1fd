import { EventEmitter } from 'node:events';
import type { Cluster } from 'ioredis';
import { describe, expect, it } from 'vitest';
import { logConnectionLifecycle } from '../../src/redis/connection-log';
import { captureLog } from '../support/redis-log-capture';

/**
 * While a Redis Cluster node is down, ioredis reports every failed
 * reconnection twice: `connect ECONNREFUSED` on the node, then
 * "Connection is closed.". Measured during a master failover (5 s): about
 * 200 pairs of error lines per process on the sharded subscriber alone,
 * because the two alternated and each undid the once-per-problem dedupe.
 */
function refused(port: number): Error {
  return Object.assign(new Error(`connect ECONNREFUSED 127.0.0.1:${port}`), {
    code: 'ECONNREFUSED',
  });
}

describe('connection log during a node outage', () => {
  it('logs the outage once, not once per reconnection attempt', () => {
    const { log, lines } = captureLog('info');
    const client = new EventEmitter() as unknown as Cluster;
    logConnectionLifecycle(client, log, {
      where: 'cluster 127.0.0.1:1',
      purpose: 'subscriber',
      password: '',
      username: '',
    });
    client.emit('ready');
    for (let attempt = 0; attempt < 50; attempt++) {
      client.emit('node error', refused(17001), '127.0.0.1:17001');
      client.emit('error', new Error('Connection is closed.'));
    }
    const errors = lines.filter((l) => l.level >= 50);
    expect(errors.map((l) => l.msg)).toEqual([expect.stringMatching(/^Redis is not reachable/)]);
    // Recovery is still reported, and a new outage is logged again.
    client.emit('ready');
    expect(lines.at(-1)?.msg).toBe('Redis connection restored');
    client.emit('node error', refused(17001), '127.0.0.1:17001');
    expect(lines.filter((l) => l.level >= 50)).toHaveLength(2);
  });

  it('still logs "Connection is closed." when it is the first problem', () => {
    const { log, lines } = captureLog('info');
    const client = new EventEmitter() as unknown as Cluster;
    logConnectionLifecycle(client, log, {
      where: '127.0.0.1:1',
      purpose: 'commands',
      password: '',
      username: '',
    });
    client.emit('error', new Error('Connection is closed.'));
    expect(lines.filter((l) => l.level >= 50).map((l) => l.msg)).toEqual([
      'Redis connection error',
    ]);
  });
});
