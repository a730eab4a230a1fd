#!/usr/bin/env node
/**
 * flow-loadtest: drives WebSocket clients against Flow gateways and checks
 * the protocol's invariants at the end. `flow-loadtest --help` for the options.
 */
import { writeFileSync } from 'node:fs';
import { parseOptions, UsageError, USAGE } from './options';
import { checkGateways, GatewayUnreachableError } from './preflight';
import { formatSummary } from './report';
import { runLoadTest } from './runner';

async function main(argv: string[]): Promise<number> {
  let options;
  try {
    options = parseOptions(argv, process.stdout.isTTY === true);
  } catch (err) {
    if (!(err instanceof UsageError)) throw err;
    console.error(`flow-loadtest: ${err.message}\n\n${USAGE}`);
    return 2;
  }
  if (options === 'help') {
    console.log(USAGE);
    return 0;
  }
  try {
    await checkGateways(options.urls);
  } catch (err) {
    if (!(err instanceof GatewayUnreachableError)) throw err;
    console.error(`flow-loadtest: ${err.message}`);
    return 1;
  }
  const report = await runLoadTest(options);
  if (options.report) {
    writeFileSync(options.report, `${JSON.stringify(report, null, 2)}\n`);
    console.error(`report written to ${options.report}`);
  }
  console.log(options.json ? JSON.stringify(report, null, 2) : formatSummary(report));
  return report.ok ? 0 : 1;
}

main(process.argv.slice(2))
  .then((code) => process.exit(code))
  .catch((err: unknown) => {
    console.error('flow-loadtest: the run failed:', err instanceof Error ? err.message : err);
    process.exit(1);
  });
