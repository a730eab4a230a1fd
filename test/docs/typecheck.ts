import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import ts from 'typescript';
import { ROOT } from './markdown';

/** The SDK's public import path in examples, mapped to the sources. */
export const SDK_IMPORT = 'flow-realtime/client';
export const SDK_SOURCE = path.join(ROOT, 'src', 'client', 'index.ts');

/**
 * Type-checks example files as a user of the package would write them: ES
 * modules (top-level await allowed), strict, browser and Node types, with
 * `flow-realtime/client` resolved to the SDK's sources. Returns one line per
 * problem; none when every example compiles.
 */
export function typeCheckExamples(examples: Record<string, string>): string[] {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'flow-doc-examples-'));
  try {
    const files = Object.entries(examples).map(([name, code]) => {
      const file = path.join(dir, `${name}.ts`);
      writeFileSync(file, code);
      return file;
    });
    const options: ts.CompilerOptions = {
      strict: true,
      noUncheckedIndexedAccess: true,
      noEmit: true,
      target: ts.ScriptTarget.ES2022,
      module: ts.ModuleKind.ESNext,
      moduleResolution: ts.ModuleResolutionKind.Bundler,
      lib: ['lib.es2022.d.ts', 'lib.dom.d.ts'],
      types: ['node'],
      typeRoots: [path.join(ROOT, 'node_modules', '@types')],
      esModuleInterop: true,
      skipLibCheck: true,
      paths: {
        [SDK_IMPORT]: [SDK_SOURCE],
        ws: [path.join(ROOT, 'node_modules', '@types', 'ws', 'index.d.ts')],
      },
    };
    const program = ts.createProgram(files, options);
    return ts.getPreEmitDiagnostics(program).map((d) => {
      const where =
        d.file && d.start !== undefined
          ? `${path.basename(d.file.fileName)}:${d.file.getLineAndCharacterOfPosition(d.start).line + 1}`
          : '';
      return `${where} ${ts.flattenDiagnosticMessageText(d.messageText, '\n')}`;
    });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
