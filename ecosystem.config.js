/**
 * pm2 apps of Flow Realtime: `npx pm2 start ecosystem.config.js` (after
 * `npm run build`, and `npm run cluster:up` for the local Redis Cluster).
 * docs/operations.md explains every setting; in short:
 *
 * - Every app is in the pm2 namespace `backend`: `pm2 restart backend`,
 *   `pm2 reload backend`, `pm2 logs backend`, `pm2 delete backend` act on all.
 * - Fork mode with `instances`: every gateway listens on the same PORT; uSockets
 *   sets SO_REUSEPORT and the kernel spreads new connections over them.
 * - `wait_ready`: pm2 counts an instance as up when it sends 'ready' (src/cli.ts
 *   does once it serves). `pm2 reload` of a fork-mode app is a restart of
 *   its instances one after the other (with two or fewer; add `--parallel 1`
 *   for more), each waiting for the new one's 'ready' before the next stops,
 *   so a gateway always listens. `pm2 reload backend` acts on four processes:
 *   add `--parallel 1` there too, or reload `gateway` and `worker` in turn.
 * - `kill_timeout` is above SHUTDOWN_DRAIN_MS + 1 s, the time a stopping process
 *   takes at most (it closes clients with 1001, drains, exits; src/cli.ts).
 *
 * The topology follows the flags (read when `pm2 start` evaluates this file):
 * all three USE_REDIS_* flags on: gateways and workers; WebSockets and
 * collaboration on, ordering off: gateways only (they order in-process, the
 * atomic apply in Redis keeps one order); anything else: one `flow all`
 * process, since a service in memory serves one process only. Flags set in
 * `.env` are re-read at every restart: after a change, `pm2 restart backend`
 * restarts every app with the new flags. An app list that no longer fits
 * still works: extra gateway instances of a single-process configuration
 * wait as standbys, and workers idle while ordering is in-process; `pm2
 * delete backend` and a new start give the list that fits.
 *
 * NODE_ID is not set: a static file cannot give each instance its own value
 * (pm2 only numbers instances in NODE_APP_INSTANCE, and `increment_var` only
 * counts numbers up), so each process keeps the default `<hostname>-<pid>`,
 * unique per process and new after every restart.
 *
 * The configuration is validated by the server's own code (dist/config) when
 * this file is read: a value the server refuses fails `pm2 start` with the
 * variable's name.
 *
 * Every variable below can be overridden from the shell that runs
 * `pm2 start`, e.g. `PORT=3101 GATEWAY_INSTANCES=4 npx pm2 start ecosystem.config.js`;
 * variables not listed here reach the apps from that shell's environment too.
 */
'use strict';

const fs = require('node:fs');
const path = require('node:path');
const util = require('node:util');

/**
 * The project's `.env`, when there is one. The apps read it themselves at
 * every start (src/config), so a variable set there is NOT copied into the
 * apps' pm2 environment: editing `.env` and `pm2 restart backend` then
 * changes it, which is how the operations guide migrates and rolls back.
 */
const envFile = path.join(__dirname, '.env');
const fromFile = fs.existsSync(envFile) ? util.parseEnv(fs.readFileSync(envFile, 'utf8')) : {};

const env = (name, fallback) => {
  const value = process.env[name] ?? fromFile[name];
  return value === undefined || value === '' ? fallback : value;
};

/**
 * The apps' configuration, validated by the server's own code (dist/config,
 * built by `npm install` or `npm run build`), so that a value the server
 * would refuse (`USE_REDIS_WEBSOCKETS=ture`) fails `pm2 start` here, loudly,
 * instead of choosing the topology from a misread flag. The flags default to
 * on for this file, which starts the cluster topology.
 */
function validatedConfig() {
  let configModule;
  try {
    configModule = require('./dist/config');
  } catch (err) {
    throw new Error(
      `ecosystem.config.js needs the built server (${err.message}): run "npm run build" first`,
      { cause: err },
    );
  }
  const flagDefaults = {
    USE_REDIS_WEBSOCKETS: 'true',
    USE_REDIS_COLLABORATION: 'true',
    USE_REDIS_EVENT_ORDERING: 'true',
  };
  // As env() above: an empty value means "not set".
  const vars = { ...flagDefaults };
  for (const source of [fromFile, process.env]) {
    for (const [name, value] of Object.entries(source)) if (value) vars[name] = value;
  }
  try {
    return configModule.loadConfig(vars);
  } catch (err) {
    if (err instanceof configModule.ConfigError) {
      throw new Error(`ecosystem.config.js: ${err.message}\nFix the variable and run pm2 again.`, {
        cause: err,
      });
    }
    throw err;
  }
}
const config = validatedConfig();
const flag = (name) =>
  ({
    USE_REDIS_WEBSOCKETS: config.flags.websockets,
    USE_REDIS_COLLABORATION: config.flags.collaboration,
    USE_REDIS_EVENT_ORDERING: config.flags.eventOrdering,
  })[name];
const count = (name, fallback) => {
  const value = Number(env(name, String(fallback)));
  if (!Number.isInteger(value) || value < 1) throw new Error(`${name} must be a whole number >= 1`);
  return value;
};

const drainMs = Number(env('SHUTDOWN_DRAIN_MS', '5000'));
const flags = {
  USE_REDIS_WEBSOCKETS: flag('USE_REDIS_WEBSOCKETS'),
  USE_REDIS_COLLABORATION: flag('USE_REDIS_COLLABORATION'),
  USE_REDIS_EVENT_ORDERING: flag('USE_REDIS_EVENT_ORDERING'),
};
const multiProcess = flags.USE_REDIS_WEBSOCKETS && flags.USE_REDIS_COLLABORATION;
const withWorkers = multiProcess && flags.USE_REDIS_EVENT_ORDERING;

/** What every app shares: the local cluster of `npm run cluster:up` unless overridden. */
const shared = {
  NODE_ENV: env('NODE_ENV', 'production'),
  PORT: env('PORT', '3001'),
  REDIS_CLUSTER_NODES: env('REDIS_CLUSTER_NODES', '127.0.0.1:7001,127.0.0.1:7002,127.0.0.1:7003'),
  USE_REDIS_WEBSOCKETS: String(flags.USE_REDIS_WEBSOCKETS),
  USE_REDIS_COLLABORATION: String(flags.USE_REDIS_COLLABORATION),
  USE_REDIS_EVENT_ORDERING: String(flags.USE_REDIS_EVENT_ORDERING),
  SHUTDOWN_DRAIN_MS: String(drainMs),
};

// What `.env` sets stays out of the pm2 environment (see above).
for (const name of Object.keys(shared)) {
  if (fromFile[name] !== undefined && process.env[name] === undefined) delete shared[name];
}

/** Settings of every app. */
const common = {
  cwd: __dirname,
  script: `${__dirname}/dist/cli.js`,
  exec_mode: 'fork',
  namespace: 'backend',
  wait_ready: true,
  // Time a new instance has to send 'ready'; pm2 goes on without it after this.
  listen_timeout: 20_000,
  // SIGINT first; SIGKILL only after this. The process exits by itself within
  // SHUTDOWN_DRAIN_MS + 1 s.
  kill_timeout: drainMs + 3000,
  // A process that keeps failing to start (Redis unreachable, bad config) is
  // restarted with growing delays instead of in a tight loop.
  exp_backoff_restart_delay: 200,
  // Logs: one JSON line per event (pino). One file per app for all its
  // instances, and no pm2 timestamp prefix, so every line stays JSON.
  merge_logs: true,
  time: false,
};

/**
 * Metrics ports: gateways share PORT, so Prometheus reaches each process on a
 * port of its own, METRICS_PORT + its pm2 instance number (NODE_APP_INSTANCE,
 * added by the process): gateways from METRICS_PORT (9101, 9102, ...),
 * workers from METRICS_PORT + 100 (9201, 9202, ...). docs/operations.md has
 * the scrape configuration.
 */
const metricsBase = config.metrics.port === 0 ? 9101 : config.metrics.port;

const apps = [
  {
    ...common,
    name: 'gateway',
    args: multiProcess ? 'gateway' : 'all',
    instances: multiProcess ? count('GATEWAY_INSTANCES', 2) : 1,
    env: { ...shared, METRICS_PORT: String(metricsBase) },
  },
];
if (withWorkers) {
  apps.push({
    ...common,
    name: 'worker',
    args: 'worker',
    instances: count('WORKER_INSTANCES', 2),
    env: { ...shared, METRICS_PORT: String(metricsBase + 100) },
  });
}

module.exports = { apps };
