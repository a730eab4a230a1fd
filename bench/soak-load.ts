/**
 * The soak run's load: the load tester in consecutive rounds, each a fresh
 * run id, so every round brings new clients that connect, join, write and
 * leave, and new documents that open, then idle and expire
 * (REDIS_SESSION_TTL) once the round is over. Each round ends with the load
 * tester's own checker against GET /docs/:doc.
 */
import { spawn } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import type { LoadReport } from '../src/loadtest/report';
import { ROOT } from './cluster-processes';

export interface RoundSettings {
  url: string;
  clients: number;
  docs: number;
  members: number;
  rate: number;
  presenceRate: number;
  durationS: number;
}

export interface RoundResult {
  round: number;
  runId: string;
  exitCode: number | null;
  report: LoadReport | null;
  /** The load tester's last lines, when it failed. */
  tail: string;
}

/**
 * Runs one round; resolves when the load tester has finished and checked.
 * `runId` names its documents (lt-<runId>-d<i>), for a caller that watches them.
 */
export async function runRound(
  round: number,
  settings: RoundSettings,
  reportDir: string,
  runId = `soak${round}-${Math.random().toString(36).slice(2, 6)}`,
): Promise<RoundResult> {
  const reportFile = path.join(reportDir, `round-${round}.json`);
  const args = [
    path.join(ROOT, 'dist', 'loadtest', 'cli.js'),
    ['--url', settings.url],
    ['--clients', String(settings.clients)],
    ['--docs', String(settings.docs)],
    ['--members', String(settings.members)],
    ['--rate', String(settings.rate)],
    ['--presence-rate', String(settings.presenceRate)],
    ['--duration', String(settings.durationS)],
    ['--ramp-up', '2'],
    ['--threads', '1'],
    // A pm2 reload during the round makes clients reconnect and resend: give them time.
    ['--drain-timeout', '60'],
    ['--run-id', runId],
    ['--report', reportFile],
    '--no-progress',
  ].flat();
  const child = spawn(process.execPath, args, { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => (output = (output + String(chunk)).slice(-4000)));
  child.stderr.on('data', (chunk: Buffer) => (output = (output + String(chunk)).slice(-4000)));
  const exitCode = await new Promise<number | null>((resolve) => child.once('exit', resolve));
  let report: LoadReport | null = null;
  try {
    report = JSON.parse(await readFile(reportFile, 'utf8')) as LoadReport;
  } catch {
    // No report: the round failed before it could write one; its tail says why.
  }
  return { round, runId, exitCode, report, tail: output.split('\n').slice(-12).join('\n') };
}

/** One line per round for the log. */
export function roundLine(r: RoundResult): string {
  if (!r.report) return `round ${r.round} (${r.runId}): FAILED, exit ${r.exitCode}\n${r.tail}`;
  const { totals, check, reconnects, latencyMs } = r.report;
  const verdict = check.ok ? 'checker OK' : `checker FOUND ${JSON.stringify(check.counts)}`;
  return (
    `round ${r.round} (${r.runId}): ${totals.acked} acked, ${totals.presenceSent} presence, ` +
    `${reconnects} reconnects, ack p99 ${latencyMs.ack.p99.toFixed(1)} ms, ${verdict}`
  );
}
