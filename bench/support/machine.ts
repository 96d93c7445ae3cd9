/** A one-line description of the machine and tool versions, written beside every figure. */
import { execFileSync } from 'node:child_process';
import { cpus, totalmem } from 'node:os';

function versionOf(command: string, args: string[]): string {
  try {
    return execFileSync(command, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] })
      .trim()
      .split('\n')[0]!;
  } catch {
    return 'unknown';
  }
}

export function describeMachine(): string {
  const cpu = cpus();
  const temporal = process.env.TEMPORAL_CLI_PATH
    ? versionOf(process.env.TEMPORAL_CLI_PATH, ['--version'])
    : 'unknown';
  return [
    `${cpu.length} × ${cpu[0]?.model.trim() ?? 'unknown CPU'}`,
    `${Math.round(totalmem() / 2 ** 30)} GiB RAM`,
    `Node ${process.version}`,
    temporal.replace(/^temporal version /, 'Temporal CLI '),
    versionOf('psql', ['--version']).replace(/^psql \(PostgreSQL\) /, 'PostgreSQL '),
  ].join(', ');
}
