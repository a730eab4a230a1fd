// Bundles what tsc does not make (run by `npm run build` after tsc):
//   dist/demo/          the demo page the gateway serves at / (browser, minified)
//   dist/client/*.mjs   ES module builds of flow-realtime/client: index.mjs for Node,
//                       browser.mjs for bundlers and browsers (without the `ws` package)
import { build } from 'esbuild';
import { copyFile, mkdir } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { withoutWs } from './without-ws.mjs';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const at = (...parts) => path.join(root, ...parts);

const common = { bundle: true, format: 'esm', target: 'es2020', logLevel: 'warning' };

await Promise.all([
  build({
    ...common,
    entryPoints: [at('src/demo/main.ts')],
    outfile: at('dist/demo/app.js'),
    platform: 'browser',
    minify: true,
    plugins: [withoutWs],
  }),
  build({
    ...common,
    entryPoints: [at('src/client/index.ts')],
    outfile: at('dist/client/browser.mjs'),
    platform: 'browser',
    plugins: [withoutWs],
  }),
  build({
    ...common,
    entryPoints: [at('src/client/index.ts')],
    outfile: at('dist/client/index.mjs'),
    platform: 'node',
    target: 'node20',
    external: ['ws'],
    // `require('ws')` of the SDK needs a require function inside an ES module.
    banner: {
      js: "import { createRequire } from 'node:module'; const require = createRequire(import.meta.url);",
    },
  }),
]);

await mkdir(at('dist/demo'), { recursive: true });
await Promise.all(
  ['index.html', 'style.css'].map((file) => copyFile(at('src/demo', file), at('dist/demo', file))),
);
