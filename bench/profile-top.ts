/**
 * `npx tsx bench/profile-top.ts FILE.cpuprofile [N]`: the N functions with the
 * most self time in a V8 CPU profile (from `node --cpu-prof`, or
 * `npm run bench:memory -- --cpu-prof DIR`), and the same grouped by file.
 */
import fs from 'node:fs';
import path from 'node:path';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}
interface Profile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
  startTime: number;
  endTime: number;
}

function main(argv: string[]): number {
  const [file, topText] = argv;
  if (!file) {
    console.error('usage: npx tsx bench/profile-top.ts FILE.cpuprofile [N]');
    return 2;
  }
  const top = Number(topText ?? 30);
  const profile = JSON.parse(fs.readFileSync(file, 'utf8')) as Profile;
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const selfUs = new Map<number, number>();
  profile.samples.forEach((id, i) =>
    selfUs.set(id, (selfUs.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0)),
  );
  const total = profile.endTime - profile.startTime;

  const byFunction = new Map<string, number>();
  const byFile = new Map<string, number>();
  for (const [id, us] of selfUs) {
    const frame = byId.get(id)?.callFrame;
    if (!frame) continue;
    const where = frame.url ? shortUrl(frame.url) : '';
    const name = `${frame.functionName || '(anonymous)'}${where ? ` ${where}:${frame.lineNumber + 1}` : ''}`;
    byFunction.set(name, (byFunction.get(name) ?? 0) + us);
    const group = where || frame.functionName || '(native)';
    byFile.set(group, (byFile.get(group) ?? 0) + us);
  }
  const print = (title: string, map: Map<string, number>) => {
    console.log(`${title} (self time, of ${(total / 1e6).toFixed(1)} s profiled)`);
    for (const [name, us] of [...map].sort((a, b) => b[1] - a[1]).slice(0, top)) {
      console.log(
        `${((100 * us) / total).toFixed(1).padStart(5)}%  ${(us / 1000).toFixed(0).padStart(7)} ms  ${name}`,
      );
    }
  };
  print('top functions', byFunction);
  console.log('');
  print('top files', byFile);
  return 0;
}

function shortUrl(url: string): string {
  const file = url.replace(/^file:\/\//, '');
  const rel = path.relative(process.cwd(), file);
  return rel.startsWith('..') ? file.replace(/^.*node_modules\//, 'node_modules/') : rel;
}

process.exitCode = main(process.argv.slice(2));
