import { readFileSync } from 'node:fs';
import { rootCertificates, type ConnectionOptions } from 'node:tls';
import type { FlowConfig } from '../config';

/**
 * TLS options of every Redis connection, or undefined without REDIS_TLS.
 * The files are read once per connection, at its creation: a renewed
 * certificate takes effect at the next process start.
 */
export function redisTlsOptions(config: FlowConfig): ConnectionOptions | undefined {
  const r = config.redis;
  if (!r.tls) return undefined;
  const read = (file: string) => (file === '' ? undefined : readFileSync(file));
  // `ca` replaces Node's list of trusted authorities: keep the system ones
  // too, so that a CA file added for one service does not break another.
  const ca = read(r.tlsCaFile);
  return {
    rejectUnauthorized: r.tlsRejectUnauthorized,
    ...(ca ? { ca: [...rootCertificates, ca] } : {}),
    ...(r.tlsCertFile !== '' ? { cert: read(r.tlsCertFile), key: read(r.tlsKeyFile) } : {}),
  };
}
