import { startFlowChild, type FlowChild } from '../support/flow-processes';

type Role = 'gateway' | 'worker';

/**
 * Named gateway and worker processes started from source against one Redis,
 * as pm2 would run them. A test kills some with SIGKILL; `restore()` starts
 * the dead ones again under the same names, so the next test finds the full
 * set.
 */
export class FlowFleet {
  private readonly processes = new Map<string, { role: Role; child: FlowChild }>();

  constructor(private readonly env: Record<string, string>) {}

  async start(members: Record<string, Role>): Promise<void> {
    await Promise.all(Object.entries(members).map(([name, role]) => this.spawn(name, role)));
  }

  private async spawn(name: string, role: Role): Promise<FlowChild> {
    const child = await startFlowChild(role, { ...this.env, NODE_ID: name }, 40_000);
    this.processes.set(name, { role, child });
    return child;
  }

  get(name: string): FlowChild {
    const entry = this.processes.get(name);
    if (!entry) throw new Error(`no process ${name}`);
    return entry.child;
  }

  pid(name: string): number {
    const pid = this.get(name).child.pid;
    if (pid === undefined) throw new Error(`${name} has no pid`);
    return pid;
  }

  /** WebSocket URLs of the gateways. */
  get urls(): string[] {
    return [...this.processes.values()].filter((p) => p.role === 'gateway').map((p) => p.child.url);
  }

  /** Whether `name` is still running. */
  alive(name: string): boolean {
    const { child } = this.get(name);
    return child.exitCode === null && child.signalCode === null;
  }

  /** Starts again every process that died. */
  async restore(): Promise<void> {
    await Promise.all(
      [...this.processes.entries()]
        .filter(([name]) => !this.alive(name))
        .map(([name, { role }]) => this.spawn(name, role)),
    );
  }

  /** Lines of every process that match, prefixed with its name. */
  lines(match: RegExp): string[] {
    return [...this.processes.entries()].flatMap(([name, { child }]) =>
      child.lines.filter((line) => match.test(line)).map((line) => `${name}: ${line}`),
    );
  }

  /** The last lines each process printed, for a failure message. */
  tail(lines = 15): string {
    return [...this.processes.entries()]
      .map(([name, { child }]) => `--- ${name}\n${child.lines.slice(-lines).join('\n')}`)
      .join('\n');
  }

  async stop(): Promise<void> {
    await Promise.all([...this.processes.values()].map(({ child }) => child.kill('SIGTERM')));
  }
}
