import { freePort } from './redis-processes';
import type { RedisEndpoint, StartedRedis, StartedRedisCluster } from './redis-types';

/**
 * Redis in Testcontainers, used when a Docker engine answers. The module is
 * loaded lazily: without an engine it is never imported.
 */
const IMAGE = 'redis:7-alpine';
const FAST = ['--save', '', '--appendonly', 'no'];

/** True when a container runtime answers; without one this rejects within milliseconds. */
export async function containerRuntimeAvailable(): Promise<boolean> {
  try {
    const { getContainerRuntimeClient } = await import('testcontainers');
    await getContainerRuntimeClient();
    return true;
  } catch {
    return false;
  }
}

export async function startRedisContainer(args: readonly string[] = []): Promise<StartedRedis> {
  const { GenericContainer, Wait } = await import('testcontainers');
  const container = await new GenericContainer(IMAGE)
    .withCommand(['redis-server', ...FAST, ...args])
    .withExposedPorts(6379)
    .withWaitStrategy(Wait.forLogMessage(/Ready to accept connections/))
    .start();
  let stopped: Promise<void> | undefined;
  return {
    host: container.getHost(),
    port: container.getMappedPort(6379),
    stop: () => (stopped ??= container.stop().then(() => undefined)),
  };
}

/**
 * Three cluster masters on the host network: the nodes announce the
 * addresses the tests connect to, with no NAT map. Needs a Linux engine (or
 * Docker Desktop with host networking enabled).
 */
export async function startRedisClusterContainers(): Promise<StartedRedisCluster> {
  const { GenericContainer, Wait } = await import('testcontainers');
  const ports = [await freePort(true), await freePort(true), await freePort(true)];
  const containers = await Promise.all(
    ports.map((port) =>
      new GenericContainer(IMAGE)
        .withNetworkMode('host')
        .withCommand([
          'redis-server',
          ...FAST,
          '--port',
          String(port),
          '--bind',
          '127.0.0.1',
          '--cluster-enabled',
          'yes',
          '--cluster-config-file',
          'nodes.conf',
          '--cluster-node-timeout',
          '3000',
        ])
        .withWaitStrategy(Wait.forLogMessage(/Ready to accept connections/))
        .start(),
    ),
  );
  const stopAll = () => Promise.all(containers.map((c) => c.stop())).then(() => undefined);
  try {
    const nodes: RedisEndpoint[] = ports.map((port) => ({ host: '127.0.0.1', port }));
    const first = containers[0];
    if (!first) throw new Error('no cluster container started');
    const created = await first.exec([
      'redis-cli',
      '--cluster',
      'create',
      ...nodes.map((n) => `${n.host}:${n.port}`),
      '--cluster-yes',
    ]);
    if (created.exitCode !== 0)
      throw new Error(`redis-cli --cluster create failed:\n${created.output}`);
    const deadline = Date.now() + 15_000;
    for (const node of nodes) {
      for (;;) {
        const info = await first.exec(['redis-cli', '-p', String(node.port), 'cluster', 'info']);
        if (/cluster_state:ok/.test(info.output)) break;
        if (Date.now() > deadline)
          throw new Error(`cluster node ${node.port} never reached cluster_state:ok`);
        await new Promise((r) => setTimeout(r, 100));
      }
    }
    let stopped: Promise<void> | undefined;
    return { nodes, stop: () => (stopped ??= stopAll()) };
  } catch (err) {
    await stopAll();
    throw err;
  }
}
