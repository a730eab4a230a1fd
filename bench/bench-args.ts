import { parseArgs, type ParseArgsConfig } from 'node:util';

type ParseArgsOptions = NonNullable<ParseArgsConfig['options']>;
type ParseArgsOptionConfig = ParseArgsOptions[string];

/** What --help says of an option, and the range of a number it takes. */
export type BenchOption = ParseArgsOptionConfig & {
  /** One line for --help, e.g. "op messages offered per second". */
  help: string;
  /** The option is a number: at least `min`, at most `max`, whole unless `fraction`. */
  number?: { min: number; max?: number; fraction?: boolean };
};

type Parsed<O extends ParseArgsOptions> = ReturnType<
  typeof parseArgs<{ options: O; strict: true; allowPositionals: false }>
>['values'];

/** How a bench script is named in its messages, run, and described by --help. */
export interface BenchScript {
  /** e.g. "bench:cluster" */
  name: string;
  /** e.g. "npm run bench:cluster --" */
  command: string;
  about: string;
}

/** Says what was wrong with the command line, and how to see the options; exits 2. */
export function benchUsageError(script: BenchScript, message: string): never {
  process.stderr.write(
    `${script.name}: ${message}\nRun \`${script.command} --help\` to see its options.\n`,
  );
  process.exit(2);
}

/**
 * The options of a bench script, read the way its users expect of a
 * command: `--help` prints them and exits 0; an unknown option, a missing
 * value or a number out of range prints what was wrong and how to see the
 * options, and exits 2, with no stack trace.
 */
export function benchArgs<O extends Record<string, BenchOption>>(
  script: BenchScript,
  options: O,
  argv: string[] = process.argv.slice(2),
): Parsed<O> {
  const { command, about } = script;
  const config = Object.fromEntries(
    Object.entries(options).map(([name, { help: _help, number: _number, ...parse }]) => [
      name,
      parse,
    ]),
  ) as unknown as O;
  const fail = (message: string): never => benchUsageError(script, message);
  if (argv.includes('--help') || argv.includes('-h')) {
    process.stdout.write(`${usage(command, about, options)}\n`);
    process.exit(0);
  }
  let values: Parsed<O>;
  try {
    values = parseArgs({ args: argv, options: config, strict: true, allowPositionals: false })
      .values as Parsed<O>;
  } catch (err) {
    return fail((err as Error).message);
  }
  for (const [name, option] of Object.entries(options)) {
    const text = (values as Record<string, unknown>)[name];
    if (option.number === undefined || typeof text !== 'string') continue;
    const problem = numberProblem(text, option.number);
    if (problem) fail(`--${name} must be ${problem}, not "${text}"`);
  }
  return values;
}

function numberProblem(text: string, rule: NonNullable<BenchOption['number']>): string | null {
  const n = Number(text);
  const kind = rule.fraction ? 'a number' : 'a whole number';
  const range =
    rule.max === undefined ? `of at least ${rule.min}` : `from ${rule.min} to ${rule.max}`;
  const fits =
    text.trim() !== '' &&
    Number.isFinite(n) &&
    (rule.fraction || Number.isInteger(n)) &&
    n >= rule.min &&
    (rule.max === undefined || n <= rule.max);
  return fits ? null : `${kind} ${range}`;
}

/** The --help text: the command, what it does, and one line per option with its default. */
export function usage(
  command: string,
  about: string,
  options: Record<string, BenchOption>,
): string {
  const lines = Object.entries(options).map(([name, option]) => {
    const flag = option.type === 'string' ? `--${name} ${option.number ? 'N' : 'X'}` : `--${name}`;
    // An empty list, an empty string or a false switch says nothing worth a "(default ...)".
    const shown = [option.default].flat().filter((v) => v !== undefined && v !== false && v !== '');
    const fallback = shown.length > 0 ? ` (default ${shown.join(' ')})` : '';
    return { flag, text: `${option.help}${option.multiple ? ' (repeatable)' : ''}${fallback}` };
  });
  const width = Math.max(...lines.map((l) => l.flag.length), '--help'.length) + 2;
  return [
    `usage: ${command} [options]`,
    '',
    about,
    '',
    ...lines.map((l) => `  ${l.flag.padEnd(width)}${l.text}`),
    `  ${'--help'.padEnd(width)}print this and exit`,
  ].join('\n');
}
