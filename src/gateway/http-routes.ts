import type { HttpRequest, HttpResponse, TemplatedApp } from 'uWebSockets.js';
import { DOC_ID_PATTERN, UnavailableError } from '../protocol';
import type { GatewayContext, RequestInput } from './gateway-context';

type Answer = { status: number; body: unknown; contentType?: string };

const STATUS_TEXT: Record<number, string> = {
  200: '200 OK',
  400: '400 Bad Request',
  401: '401 Unauthorized',
  403: '403 Forbidden',
  404: '404 Not Found',
  500: '500 Internal Server Error',
  503: '503 Service Unavailable',
};

/**
 * Runs an async handler the uWS way: register onAborted before any await,
 * copy what is needed from the request first (it dies at the first await),
 * and write the answer inside cork.
 */
function route(handler: (input: RequestInput) => Promise<Answer>, log: GatewayContext['log']) {
  return (res: HttpResponse, req: HttpRequest) => {
    let aborted = false;
    res.onAborted(() => {
      aborted = true;
    });
    const input: RequestInput = {
      url: req.getUrl(),
      query: req.getQuery() ?? '',
      authorization: req.getHeader('authorization'),
      param: req.getParameter(0) ?? '',
    };
    handler(input)
      .catch((err: unknown): Answer => {
        log.error({ err, url: input.url }, 'http handler failed');
        return {
          status: 500,
          body: { error: 'INTERNAL', message: 'internal error; see the server log' },
        };
      })
      .then((answer) => {
        if (aborted) return;
        res.cork(() => {
          res.writeStatus(STATUS_TEXT[answer.status] ?? `${answer.status}`);
          res.writeHeader('content-type', answer.contentType ?? 'application/json');
          res.end(typeof answer.body === 'string' ? answer.body : JSON.stringify(answer.body));
        });
      });
  };
}

export function registerHttpRoutes(app: TemplatedApp, context: GatewayContext): void {
  const { log } = context;
  app.get(
    '/health',
    route(async () => {
      const report = await context.health();
      return { status: report.status === 'error' ? 503 : 200, body: report };
    }, log),
  );

  app.get(
    '/ws/stats',
    route(async () => ({ status: 200, body: await context.stats() }), log),
  );

  app.get(
    '/metrics',
    route(
      async () => ({
        status: 200,
        body: await context.metrics.registry.metrics(),
        contentType: context.metrics.registry.contentType,
      }),
      log,
    ),
  );

  app.get(
    '/docs/:doc',
    route(async (input) => {
      const doc = decodeURIComponent(input.param);
      if (!DOC_ID_PATTERN.test(doc)) {
        return {
          status: 400,
          body: {
            error: 'BAD_REQUEST',
            message: 'a document id is 1-128 characters of A-Z a-z 0-9 _ . : -',
          },
        };
      }
      const denied = await context.authorizeDocumentRead(doc, input);
      if (denied) return denied;
      let snapshot;
      try {
        snapshot = await context.collaboration.snapshot(doc);
      } catch (err) {
        if (!(err instanceof UnavailableError)) throw err;
        return { status: 503, body: { error: 'UNAVAILABLE', message: err.message } };
      }
      if (!snapshot)
        return {
          status: 404,
          body: { error: 'NOT_FOUND', message: `document "${doc}" has no session` },
        };
      return { status: 200, body: snapshot };
    }, log),
  );

  app.any(
    '/*',
    route(
      async (input) => ({
        status: 404,
        body: {
          error: 'NOT_FOUND',
          message: `no route ${input.url}; see /health, /ws/stats, /metrics, /docs/:doc and /ws`,
        },
      }),
      log,
    ),
  );
}
