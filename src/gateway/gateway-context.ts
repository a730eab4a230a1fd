import type { Logger } from 'pino';
import type { Metrics } from '../observability/metrics';
import type { CollaborationService } from '../services/collaboration/collaboration-service';

/** What a route handler reads from a request: uWS requests die at the first await. */
export interface RequestInput {
  url: string;
  query: string;
  authorization: string;
  param: string;
}

export interface HealthReport {
  /** `degraded`: serving, but a dependency fails (the document store); answered with 200. */
  status: 'ok' | 'degraded' | 'error';
  node: string;
  role: string;
  uptimeSeconds: number;
  /** Each dependency: `ok`, or what is wrong with it. */
  checks: Record<string, string>;
}

/** What the HTTP routes need from the process they run in. */
export interface GatewayContext {
  log: Logger;
  metrics: Metrics;
  collaboration: CollaborationService;
  /** Serve the demo page at `/` and `/demo/` (SERVE_DEMO). */
  serveDemo: boolean;
  health(): Promise<HealthReport>;
  stats(): Promise<Record<string, unknown>>;
  /** Null when reading `doc` is allowed; otherwise the HTTP answer (401 or 403). */
  authorizeDocumentRead(
    doc: string,
    input: RequestInput,
  ): Promise<{ status: number; body: unknown } | null>;
}
