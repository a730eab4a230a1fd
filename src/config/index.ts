import convict from 'convict';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { parseEnv } from 'node:util';
import { schema } from './schema/index';

export type FlowConfig = Readonly<ReturnType<ReturnType<typeof build>['getProperties']>>;

/** A configuration value that failed validation, named by its environment variable. */
export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

function build(env: NodeJS.ProcessEnv) {
  return convict(schema, { env: withDemoDefault(env), args: [] });
}

/**
 * SERVE_DEMO follows NODE_ENV when unset: `npm start` and `npm run dev` show
 * the demo, a production deployment (NODE_ENV=production set explicitly, as
 * the Dockerfile, compose file and pm2 ecosystem do) does not.
 */
function withDemoDefault(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  if (env.SERVE_DEMO !== undefined && env.SERVE_DEMO !== '') return env;
  return { ...env, SERVE_DEMO: env.NODE_ENV === 'production' ? 'false' : 'true' };
}

/** Maps a convict path such as `redis.port` to its environment variable. */
function envNameOf(path: string): string | undefined {
  let node: unknown = schema;
  for (const part of path.split('.')) {
    if (typeof node !== 'object' || node === null) return undefined;
    node = (node as Record<string, unknown>)[part];
  }
  return typeof node === 'object' && node !== null && 'env' in node
    ? String((node as { env: unknown }).env)
    : undefined;
}

function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null) {
    for (const child of Object.values(value)) deepFreeze(child);
    Object.freeze(value);
  }
  return value;
}

/**
 * Reads and validates the configuration once. Only this module reads the
 * environment; everything else receives the frozen result.
 */
export function loadConfig(env: NodeJS.ProcessEnv = withEnvFile(process.env)): FlowConfig {
  const config = build(env);
  try {
    config.validate({ allowed: 'strict' });
  } catch (err) {
    const lines = String((err as Error).message)
      .split('\n')
      .filter(Boolean);
    throw new ConfigError(
      lines.map((line) => {
        const match = /^([\w.]+): (.*)$/.exec(line);
        const name = match?.[1] ? envNameOf(match[1]) : undefined;
        return name && match ? `${name}: ${match[2]}` : line;
      }),
    );
  }
  const properties = config.getProperties();
  const { tlsCertFile, tlsKeyFile } = properties.redis;
  if ((tlsCertFile === '') !== (tlsKeyFile === '')) {
    throw new ConfigError([
      'REDIS_TLS_CERT_FILE and REDIS_TLS_KEY_FILE: a client certificate needs its key; set both, or neither',
    ]);
  }
  const leak = debugLeakProblem(properties.debug, properties.redis.password);
  if (leak) throw new ConfigError([leak]);
  if (properties.redis.autoPipelining && properties.flags.eventOrdering) {
    // BullMQ's multi-command operations are not written for auto-pipelining;
    // a cluster load test with both on left one op unanswered.
    throw new ConfigError([
      'REDIS_AUTO_PIPELINING=true with USE_REDIS_EVENT_ORDERING=true: BullMQ queues do not support ' +
        'auto-pipelined connections; set REDIS_AUTO_PIPELINING=false (or use in-process ordering)',
    ]);
  }
  return deepFreeze(properties);
}

/**
 * ioredis writes its own debug lines (through the `debug` package, which reads
 * DEBUG itself) when DEBUG enables its namespace, and those show the AUTH
 * command with the password. With a password set, that is refused at start.
 */
function debugLeakProblem(debug: string, password: string): string | undefined {
  if (password === '') return undefined;
  const leaks = debug
    .split(/[\s,]+/)
    .some((ns) => ns === '*' || ns === 'ioredis' || (ns.startsWith('ioredis') && ns.endsWith('*')));
  return leaks
    ? `DEBUG: "${debug}" turns on ioredis's own debug output, which prints REDIS_PASSWORD; use DEBUG=redis:* to trace Redis commands (names and keys, never values)`
    : undefined;
}

/**
 * The process environment over the variables of `.env` in the working
 * directory, when there is one: the environment wins. Reading the file at
 * every start is what lets an operator change flags in `.env` and
 * `pm2 restart backend`, as the rollback of a migration does.
 */
export function withEnvFile(
  env: NodeJS.ProcessEnv,
  file = path.resolve('.env'),
): NodeJS.ProcessEnv {
  if (!existsSync(file)) return env;
  const fromFile = parseEnv(readFileSync(file, 'utf8')) as Record<string, string>;
  return { ...fromFile, ...env };
}

/** A test or embedding helper: defaults overridden by the given variables only. */
export function configFrom(vars: Record<string, string>): FlowConfig {
  return loadConfig({ ...vars });
}

export interface ConfigEntry {
  env: string;
  value: string;
  doc: string;
  sensitive: boolean;
}

/** The effective configuration as environment variables, secrets masked. */
export function describeConfig(config: FlowConfig): ConfigEntry[] {
  const entries: ConfigEntry[] = [];
  const walk = (node: Record<string, unknown>, values: Record<string, unknown>) => {
    for (const [key, child] of Object.entries(node)) {
      const value = values[key];
      if (typeof child === 'object' && child !== null && 'env' in child) {
        const spec = child as {
          env: string;
          doc: string;
          sensitive?: boolean;
          urlWithPassword?: boolean;
        };
        const sensitive = spec.sensitive === true;
        let shown = sensitive && value !== '' ? '********' : String(value);
        if (spec.urlWithPassword) shown = maskUrlPassword(shown);
        entries.push({ env: spec.env, value: shown, doc: spec.doc, sensitive });
      } else if (typeof child === 'object' && child !== null) {
        walk(child as Record<string, unknown>, (value ?? {}) as Record<string, unknown>);
      }
    }
  };
  walk(schema as unknown as Record<string, unknown>, config as unknown as Record<string, unknown>);
  return entries;
}

/** `scheme://user:***@host/...`: the password of a URL hidden, anything else as it is. */
function maskUrlPassword(value: string): string {
  return value.replace(/^([a-z][a-z0-9+.-]*:\/\/[^:/@]*):[^@/]*@/i, '$1:***@');
}

export function redisDebugEnabled(config: FlowConfig): boolean {
  return config.debug.split(/[\s,]+/).some((ns) => ns === 'redis:*');
}
