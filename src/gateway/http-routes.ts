import type { HttpRequest, HttpResponse, TemplatedApp } from 'uWebSockets.js';
import { DOC_ID_PATTERN, ProtocolError } from '../protocol';
import { unavailableFrom } from '../redis';
import { registerDemoRoutes } from './demo-routes';
import type { GatewayContext, RequestInput } from './gateway-context';

type Answer = { status: number; body: unknown; contentType?: string };

const STATUS_TEXT: Record<number, string> = {
  200: '200 OK',
  400: '400 Bad Request',
  401: '401 Unauthorized',
  403: '403 Forbidden',
  404: '404 Not Found',
  426: '426 Upgrade Required',
  405: '405 Method Not Allowed',
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
    const head = req.getMethod() === 'head';
    // Bodies are never read: a request that announces one is answered, then its connection closed.
    const hasBody =
      req.getHeader('content-length') !== '' || req.getHeader('transfer-encoding') !== '';
    const close = hasBody || handler === methodNotAllowed;
    handler(input)
      .catch((err: unknown): Answer => {
        // A backend outage is the client's "retry later", as on the WebSocket.
        const unavailable =
          err instanceof ProtocolError && err.code === 'UNAVAILABLE' ? err : unavailableFrom(err);
        if (unavailable) {
          return { status: 503, body: { error: 'UNAVAILABLE', message: unavailable.message } };
        }
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
          if (answer.status === 405) res.writeHeader('allow', 'GET, HEAD');
          const body = typeof answer.body === 'string' ? answer.body : JSON.stringify(answer.body);
          // A HEAD answer closes its connection: a keep-alive client's next request on it went unanswered.
          if (head) res.endWithoutBody(Buffer.byteLength(body), true);
          else res.end(body, close);
        });
      });
  };
}

/** Every route answers GET and HEAD; any other method gets this. */
async function methodNotAllowed(input: RequestInput): Promise<Answer> {
  return {
    status: 405,
    body: {
      error: 'METHOD_NOT_ALLOWED',
      message: `${input.url} answers GET and HEAD only`,
    },
  };
}

/** Registers `handler` for GET and HEAD of `pattern`, and 405 for every other method. */
function serve(
  app: TemplatedApp,
  pattern: string,
  handler: (input: RequestInput) => Promise<Answer>,
  log: GatewayContext['log'],
): void {
  app.get(pattern, route(handler, log));
  app.head(pattern, route(handler, log));
  app.any(pattern, route(methodNotAllowed, log));
}

/** The document id of a /docs path segment; null when its percent-encoding is broken. */
function decodedDoc(param: string): string | null {
  try {
    return decodeURIComponent(param);
  } catch {
    return null;
  }
}

export function registerHttpRoutes(app: TemplatedApp, context: GatewayContext): void {
  const { log } = context;
  serve(
    app,
    '/health',
    async () => {
      const report = await context.health();
      return { status: report.status === 'error' ? 503 : 200, body: report };
    },
    log,
  );

  serve(app, '/ws/stats', async () => ({ status: 200, body: await context.stats() }), log);

  serve(
    app,
    '/metrics',
    async () => ({
      status: 200,
      body: await context.metrics.registry.metrics(),
      contentType: context.metrics.registry.contentType,
    }),
    log,
  );

  serve(
    app,
    '/docs/:doc',
    async (input) => {
      const doc = decodedDoc(input.param);
      if (doc === null || !DOC_ID_PATTERN.test(doc)) {
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
      // A store that cannot be read rejects with UNAVAILABLE: 503 (see route).
      const snapshot = await context.collaboration.snapshot(doc);
      if (!snapshot)
        return {
          status: 404,
          body: { error: 'NOT_FOUND', message: `document "${doc}" has no session` },
        };
      return { status: 200, body: snapshot };
    },
    log,
  );

  if (context.serveDemo) registerDemoRoutes(app, log);

  app.any(
    '/*',
    route(
      async (input): Promise<Answer> =>
        // uWS hands an HTTP request without an upgrade on /ws to this route.
        input.url === '/ws'
          ? {
              status: 426,
              body: {
                error: 'BAD_REQUEST',
                message:
                  '/ws is the WebSocket endpoint: connect with a WebSocket client (ws://<host>:<port>/ws), not plain HTTP',
              },
            }
          : {
              status: 404,
              body: {
                error: 'NOT_FOUND',
                message: `no route ${input.url}; see /health, /ws/stats, /metrics, /docs/:doc and /ws`,
              },
            },
      log,
    ),
  );
}
