import pino from 'pino';
import { configFrom } from '../../src/config';
import { startFlow, type FlowProcess, type Role } from '../../src/app/flow-process';

/** Starts a Flow process on a free loopback port; the caller closes it. */
export async function startTestServer(
  vars: Record<string, string> = {},
  role: Role = 'all',
): Promise<FlowProcess & { url: string; http: string }> {
  const config = configFrom({
    HOST: '127.0.0.1',
    PORT: '0',
    LOG_LEVEL: 'silent',
    // Tests run in parallel: none shares the default embedded store's directory.
    DOCUMENT_STORE: 'none',
    ...vars,
  });
  const flow = await startFlow(config, role, { log: pino({ level: config.logLevel }) });
  return Object.assign(flow, {
    url: `ws://127.0.0.1:${flow.port}/ws`,
    http: `http://127.0.0.1:${flow.port}`,
  });
}

export function randomDoc(prefix = 'doc'): string {
  return `${prefix}-${Math.random().toString(36).slice(2, 10)}`;
}
