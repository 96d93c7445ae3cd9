/**
 * The `nudge` command line (bin/nudge.js runs it).
 *
 *   nudge workspace create <name>              a workspace and its first API key (shown once)
 *   nudge keys list --workspace <id>           a workspace's keys (never the keys themselves)
 *   nudge keys create <name> --workspace <id>  another key (shown once)
 *   nudge keys revoke <key id>                 refuse a key from now on
 *   nudge import <file.csv> --sequence <id>    enroll a CSV of contacts (safe to interrupt and rerun)
 *
 * Workspace and key commands use the database (DATABASE_URL); import uses the API
 * (NUDGE_API_URL, NUDGE_API_KEY).
 */
import { Command, InvalidArgumentError } from 'commander';
import { CliError, createKey, createWorkspace, listKeys, revokeKey } from './admin.js';
import { importCsv, type ImportOptions } from './import.js';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export function uuid(value: string): string {
  if (!UUID.test(value))
    throw new InvalidArgumentError('expected an id like 0b8a5a2e-3c1f-4f5e-9d61-6a4a1b2c3d4e');
  return value.toLowerCase();
}

function batchSize(value: string): number {
  const size = Number(value);
  if (!Number.isInteger(size) || size < 1 || size > 10_000)
    throw new InvalidArgumentError('between 1 and 10000');
  return size;
}

function nonEmpty(value: string): string {
  if (!value.trim()) throw new InvalidArgumentError('must not be empty');
  return value.trim();
}

export function buildProgram(): Command {
  const program = new Command('nudge')
    .description('Nudge: email sequences on Temporal')
    .showHelpAfterError('(run with --help for usage)')
    .configureHelp({ showGlobalOptions: true });

  const workspace = program.command('workspace').description('manage workspaces (needs DATABASE_URL)');
  workspace
    .command('create')
    .description('create a workspace and print its first API key (shown once)')
    .argument('<name...>', 'workspace name', (value: string, previous: string[] = []) => [...previous, value])
    .option('--json', 'print {"workspaceId","apiKey"} as JSON')
    .action((name: string[], options: { json?: boolean }) =>
      createWorkspace(nonEmpty(name.join(' ')), options),
    );

  const keys = program.command('keys').description("manage a workspace's API keys (needs DATABASE_URL)");
  keys
    .command('list')
    .description("list a workspace's API keys")
    .requiredOption('-w, --workspace <id>', 'workspace id', uuid)
    .option('--json', 'print JSON')
    .action((options: { workspace: string; json?: boolean }) => listKeys(options.workspace, options));
  keys
    .command('create')
    .description('issue another API key (shown once)')
    .argument('<name>', 'what the key is for, e.g. "CRM integration"', nonEmpty)
    .requiredOption('-w, --workspace <id>', 'workspace id', uuid)
    .option('--json', 'print {"id","apiKey"} as JSON')
    .action((name: string, options: { workspace: string; json?: boolean }) =>
      createKey(options.workspace, name, options),
    );
  keys
    .command('revoke')
    .description('revoke an API key: requests with it get 401 from now on')
    .argument('<key id>', 'the key id (from `nudge keys list`)', uuid)
    .action((keyId: string) => revokeKey(keyId));

  program
    .command('import')
    .description('enroll every contact of a CSV file in a sequence (safe to interrupt and run again)')
    .argument(
      '<file>',
      'CSV with a header row: email (or contact id), and optionally name, time zone, tags (a;b), any other column as an attribute',
    )
    .requiredOption('-s, --sequence <id>', 'the sequence to enroll the contacts in', uuid)
    .option('--api-url <url>', 'Nudge API address', process.env.NUDGE_API_URL ?? 'http://127.0.0.1:3000')
    .option('--api-key <key>', 'API key (default: $NUDGE_API_KEY)')
    .option('--batch-size <n>', 'rows per request', batchSize, 1000)
    .option('--report <file>', 'write the rows that were not enrolled, with the reason, to this CSV')
    .option('--no-progress', 'print one line per batch instead of a progress bar')
    .action((file: string, options: ImportOptions & { progress: boolean }) =>
      importCsv(file, { ...options, progress: options.progress && process.stderr.isTTY }),
    );

  return program;
}

try {
  await buildProgram().parseAsync(process.argv);
} catch (error) {
  if (error instanceof CliError) {
    console.error(`nudge: ${error.message}`);
    process.exitCode = error.exitCode;
  } else {
    throw error;
  }
}
