// Prints the size of what a browser downloads: the SDK (flow-realtime/client,
// browser build) and the demo page's script, minified, raw and gzipped.
//   npm run size
import { build } from 'esbuild';
import path from 'node:path';
import process from 'node:process';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { withoutWs } from './without-ws.mjs';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

async function minified(entry) {
  const result = await build({
    entryPoints: [path.join(root, entry)],
    bundle: true,
    minify: true,
    format: 'esm',
    platform: 'browser',
    target: 'es2020',
    write: false,
    plugins: [withoutWs],
  });
  return result.outputFiles[0].contents;
}

const kb = (bytes) => `${(bytes / 1024).toFixed(1)} KB`;
for (const [name, entry] of [
  ['flow-realtime/client (browser build)', 'src/client/index.ts'],
  ['demo page script (SDK included)', 'src/demo/main.ts'],
]) {
  const code = await minified(entry);
  process.stdout.write(
    `${name}: ${kb(code.length)} minified, ${kb(gzipSync(code, { level: 9 }).length)} gzipped\n`,
  );
}
