import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';

/** One file of the demo page, read once at start. */
export interface DemoAsset {
  body: Buffer;
  contentType: string;
}

const CONTENT_TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.png': 'image/png',
  '.svg': 'image/svg+xml',
};

/**
 * Where `npm run build` puts the page: beside the compiled gateway
 * (`dist/demo`), or, when the gateway runs from the sources (`npm run dev`,
 * tests), in the `dist/demo` of the checkout.
 */
export function demoDirectory(here = __dirname): string | undefined {
  const candidates = [path.resolve(here, '../demo'), path.resolve(here, '../../dist/demo')];
  return candidates.find((dir) => existsSync(path.join(dir, 'app.js')));
}

/**
 * The page's files by name, read once. Only the regular files directly in
 * the directory with a known type are served, so no request path can reach
 * anything else (no `..`, no subdirectory, no source map).
 */
export function loadDemoAssets(dir: string): Map<string, DemoAsset> {
  const assets = new Map<string, DemoAsset>();
  for (const name of readdirSync(dir)) {
    const contentType = CONTENT_TYPES[path.extname(name)];
    const file = path.join(dir, name);
    if (contentType && statSync(file).isFile()) {
      assets.set(name, { body: readFileSync(file), contentType });
    }
  }
  return assets;
}
