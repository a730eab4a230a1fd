import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';

/**
 * npm 11 blocks dependency install scripts unless package.json `allowScripts`
 * names them, and warns at every install about the ones it does not cover.
 * Every dependency with an install script is decided there, so that
 * `npm ci` is quiet and runs only what the project needs.
 */
const ROOT = path.resolve(__dirname, '../..');
const read = (file: string): unknown => JSON.parse(readFileSync(path.join(ROOT, file), 'utf8'));

interface LockFile {
  packages: Record<string, { hasInstallScript?: boolean }>;
}

function packagesWithInstallScripts(): string[] {
  const lock = read('package-lock.json') as LockFile;
  const names = Object.entries(lock.packages)
    .filter(([, entry]) => entry.hasInstallScript === true)
    .map(([location]) => location.slice(location.lastIndexOf('node_modules/') + 13));
  return [...new Set(names)].sort();
}

describe('dependency install scripts', () => {
  it('are each approved or denied in package.json allowScripts', () => {
    const allowed = (read('package.json') as { allowScripts?: Record<string, boolean> })
      .allowScripts;
    const decided = Object.keys(allowed ?? {}).map((key) => key.replace(/(.)@.*$/, '$1'));
    const scripted = packagesWithInstallScripts();
    expect(scripted.length).toBeGreaterThan(0);
    for (const name of scripted) expect(decided, name).toContain(name);
  });

  it('decides nothing that is no longer installed', () => {
    const allowed = (read('package.json') as { allowScripts?: Record<string, boolean> })
      .allowScripts;
    const scripted = packagesWithInstallScripts();
    for (const key of Object.keys(allowed ?? {})) {
      expect(scripted, key).toContain(key.replace(/(.)@.*$/, '$1'));
    }
  });
});
