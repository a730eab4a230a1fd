import pino, { type Logger } from 'pino';
import type { FlowConfig } from '../config';

/**
 * One JSON line per event. Secrets are redacted by path wherever a config,
 * a token or a Redis password could end up in a log object.
 */
export function createLogger(
  config: Pick<FlowConfig, 'logLevel' | 'nodeId' | 'nodeEnv'>,
  role: string,
): Logger {
  return pino({
    // Readable lines for `npm run dev`; JSON everywhere else (pm2, containers).
    ...(config.nodeEnv === 'development' && prettyAvailable()
      ? {
          transport: {
            target: 'pino-pretty',
            options: { ignore: 'pid,hostname', translateTime: 'HH:MM:ss.l' },
          },
        }
      : {}),
    level: config.logLevel,
    base: { node: config.nodeId, role },
    redact: {
      paths: [
        'token',
        '*.token',
        'password',
        '*.password',
        'redis.password',
        'auth.jwtSecret',
        'headers.authorization',
        // ioredis puts the failed command on its errors: the connection's
        // `HELLO 3 AUTH <user> <password>` when the password is refused.
        'err.command.args',
        '*.err.command.args',
      ],
      censor: '[redacted]',
    },
  });
}

function prettyAvailable(): boolean {
  try {
    require.resolve('pino-pretty');
    return true;
  } catch {
    return false;
  }
}
