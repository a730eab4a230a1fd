import type { HttpResponse, TemplatedApp } from 'uWebSockets.js';
import type { GatewayContext } from './gateway-context';
import { demoDirectory, loadDemoAssets, type DemoAsset } from './demo-assets';

function send(res: HttpResponse, status: string, contentType: string, body: string | Buffer): void {
  res.cork(() => {
    res.writeStatus(status);
    res.writeHeader('content-type', contentType);
    res.writeHeader('cache-control', 'no-cache');
    res.end(body);
  });
}

/**
 * The demo page at `/` and `/demo/` (SERVE_DEMO), from the files `npm run
 * build` wrote, read once here. Answers are synchronous, so uWS needs no
 * onAborted.
 */
export function registerDemoRoutes(app: TemplatedApp, log: GatewayContext['log']): void {
  const dir = demoDirectory();
  const assets = dir ? loadDemoAssets(dir) : new Map<string, DemoAsset>();
  const page = assets.get('index.html');
  if (!page) {
    log.warn({ dir }, 'demo page not built; run npm run build to serve it at /');
  }
  const servePage = (res: HttpResponse): void => {
    if (page) send(res, '200 OK', page.contentType, page.body);
    else {
      const message = 'the demo page is not built: run npm run build, then restart';
      send(
        res,
        '404 Not Found',
        'application/json',
        JSON.stringify({ error: 'NOT_FOUND', message }),
      );
    }
  };
  app.get('/', servePage);
  app.get('/demo', servePage);
  app.get('/demo/', servePage);
  app.get('/demo/*', (res, req) => {
    const name = req.getUrl().slice('/demo/'.length);
    const asset = assets.get(name);
    if (asset) send(res, '200 OK', asset.contentType, asset.body);
    else {
      const message = `no demo file ${JSON.stringify(name)}`;
      send(
        res,
        '404 Not Found',
        'application/json',
        JSON.stringify({ error: 'NOT_FOUND', message }),
      );
    }
  });
}
