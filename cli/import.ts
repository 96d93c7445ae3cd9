/**
 * `nudge import <file.csv> --sequence <id>`: enrolls every row of a CSV file in a sequence
 * through the API's bulk enrollment, batch by batch, with a progress bar.
 *
 * Safe to interrupt and run again. Each batch is sent with an Idempotency-Key derived from
 * the sequence and the batch's content, so running the same import again replays the
 * answers of batches already done (for the API's idempotency window, 24 h by default)
 * instead of enrolling anyone a second time; past that window, contacts still active in the
 * sequence answer `already_active` (E2). Ctrl-C finishes the batch in flight, then stops;
 * a second Ctrl-C stops at once (the batch in flight completes on the server either way).
 */
import { createHash } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import { SingleBar } from 'cli-progress';
import { CliError } from './admin.js';
import { CsvError, parseContactsCsv, type CsvContact } from './csv-contacts.js';

export interface ImportOptions {
  sequence: string;
  apiUrl: string;
  apiKey?: string;
  batchSize: number;
  report?: string;
  progress?: boolean;
}

type Status = 'enrolled' | 'already_active' | 'ineligible' | 'invalid' | 'failed';

interface ItemResult {
  index: number;
  status: Status;
  contactId: string | null;
  reason: string | null;
  field: string | null;
  detail: string | null;
}

interface RowOutcome extends ItemResult {
  line: number;
  who: string;
}

const MAX_ATTEMPTS = 8;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

class Interrupted extends Error {}

export async function importCsv(file: string, options: ImportOptions): Promise<void> {
  const apiKey = options.apiKey ?? process.env.NUDGE_API_KEY;
  if (!apiKey) throw new CliError('an API key is needed: pass --api-key or set NUDGE_API_KEY');
  let rows: CsvContact[];
  try {
    rows = parseContactsCsv(await readFile(file, 'utf8'));
  } catch (error) {
    if (error instanceof CsvError) throw new CliError(`${file}: ${error.message}`);
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') throw new CliError(`${file}: no such file`);
    throw error;
  }
  if (rows.length === 0) throw new CliError(`${file}: no rows to import`);

  const api = options.apiUrl.replace(/\/+$/, '');
  const url = `${api}/sequences/${options.sequence}/enrollments/bulk`;
  const totals: Record<Status, number> = {
    enrolled: 0,
    already_active: 0,
    ineligible: 0,
    invalid: 0,
    failed: 0,
  };
  const problems: RowOutcome[] = [];
  let done = 0;
  let replayedBatches = 0;

  const showBar = options.progress ?? process.stderr.isTTY;
  const bar = showBar
    ? new SingleBar({
        format:
          'Enrolling |{bar}| {percentage}% {value}/{total} rows · enrolled {enrolled} · already {already} · ineligible {ineligible} · invalid {invalid} · ETA {eta_formatted}',
        barCompleteChar: '█',
        barIncompleteChar: '░',
        hideCursor: true,
        stream: process.stderr,
      })
    : null;
  const payload = () => ({
    enrolled: totals.enrolled,
    already: totals.already_active,
    ineligible: totals.ineligible,
    invalid: totals.invalid,
  });
  bar?.start(rows.length, 0, payload());

  let stopping = false;
  const onSigint = () => {
    if (stopping) {
      bar?.stop();
      console.error('\nStopped. Run the same command again to continue; nobody is enrolled twice.');
      process.exit(130);
    }
    stopping = true;
    bar?.stop();
    console.error('\nFinishing the batch in flight, then stopping (Ctrl-C again to stop now)…');
  };
  process.on('SIGINT', onSigint);

  try {
    for (let start = 0; start < rows.length; start += options.batchSize) {
      if (stopping) throw new Interrupted();
      const batch = rows.slice(start, start + options.batchSize);
      const { results, replayed } = await sendBatch(url, apiKey, options.sequence, batch);
      if (replayed) replayedBatches++;
      for (const [i, result] of results.entries()) {
        totals[result.status]++;
        if (result.status !== 'enrolled' && result.status !== 'already_active') {
          const row = batch[i]!;
          problems.push({
            ...result,
            line: row.line,
            who: String(row.item.email ?? row.item.contactId ?? ''),
          });
        }
      }
      done += batch.length;
      if (bar) bar.update(done, payload());
      else {
        console.error(
          `${done}/${rows.length} rows: enrolled ${totals.enrolled}, already active ${totals.already_active}, ` +
            `ineligible ${totals.ineligible}, invalid ${totals.invalid}${replayed ? ' (batch already done earlier)' : ''}`,
        );
      }
    }
  } catch (error) {
    bar?.stop();
    if (error instanceof Interrupted) {
      console.error(
        `Interrupted after ${done} of ${rows.length} rows. Run the same command again to continue: ` +
          'rows already sent are not enrolled twice.',
      );
      process.exitCode = 130;
      return;
    }
    throw error;
  } finally {
    process.off('SIGINT', onSigint);
  }
  bar?.stop();

  console.log(
    `Imported ${rows.length} rows into sequence ${options.sequence}: ${totals.enrolled} enrolled, ` +
      `${totals.already_active} already active, ${totals.ineligible} ineligible, ${totals.invalid} invalid` +
      (totals.failed ? `, ${totals.failed} failed (run again to retry them)` : '') +
      '.',
  );
  if (replayedBatches > 0) {
    console.log(`${replayedBatches} batch(es) had been sent by an earlier run: their answers were replayed.`);
  }
  if (problems.length > 0) {
    if (options.report) {
      await writeFile(options.report, reportCsv(problems));
      console.log(`Rows not enrolled: ${options.report}`);
    } else {
      for (const p of problems.slice(0, 10)) console.error(`  line ${p.line} ${p.who}: ${describe(p)}`);
      if (problems.length > 10)
        console.error(`  … and ${problems.length - 10} more (use --report FILE for all)`);
    }
  }
  if (totals.failed > 0) process.exitCode = 2;
}

/** Sends one batch until it has an answer, retrying what is safe to retry. */
async function sendBatch(
  url: string,
  apiKey: string,
  sequenceId: string,
  batch: CsvContact[],
): Promise<{ results: ItemResult[]; replayed: boolean }> {
  const body = JSON.stringify({ contacts: batch.map((row) => row.item) });
  const key = `nudge-import-${createHash('sha256').update(`${sequenceId}\n${body}`).digest('hex').slice(0, 40)}`;
  for (let attempt = 1; ; attempt++) {
    let response: Response;
    try {
      response = await fetch(url, {
        method: 'POST',
        headers: {
          authorization: `Bearer ${apiKey}`,
          'content-type': 'application/json',
          'idempotency-key': key,
        },
        body,
      });
    } catch (error) {
      if (attempt >= MAX_ATTEMPTS)
        throw new CliError(`cannot reach the API at ${url}: ${(error as Error).message}`);
      await sleep(backoff(attempt));
      continue;
    }
    const retryAfter = Number(response.headers.get('retry-after'));
    if (response.ok) {
      const answer = (await response.json()) as { results: ItemResult[] };
      const replayed = response.headers.get('idempotent-replayed') === 'true';
      const failed = answer.results.filter((r) => r.status === 'failed');
      if (failed.length > 0 && attempt < MAX_ATTEMPTS) {
        // Not stored under the key, so the same request retries exactly the failed ones.
        await sleep(backoff(attempt));
        continue;
      }
      return { results: answer.results, replayed };
    }
    const transient = response.status === 429 || response.status === 409 || response.status >= 500;
    const problem = (await response.json().catch(() => ({}))) as {
      title?: string;
      detail?: string;
      type?: string;
    };
    const inProgress = problem.type === 'urn:nudge:problem:idempotency-key-in-progress';
    if (transient && (response.status !== 409 || inProgress) && attempt < MAX_ATTEMPTS) {
      await sleep(Number.isFinite(retryAfter) && retryAfter > 0 ? retryAfter * 1000 : backoff(attempt));
      continue;
    }
    throw new CliError(
      `the API refused the import (${response.status} ${problem.title ?? response.statusText})` +
        (problem.detail ? `: ${problem.detail}` : ''),
    );
  }
}

const backoff = (attempt: number) => Math.min(30_000, 250 * 2 ** attempt);

function describe(outcome: RowOutcome): string {
  return [outcome.status, outcome.reason, outcome.field, outcome.detail].filter(Boolean).join(' · ');
}

function reportCsv(problems: RowOutcome[]): string {
  const quote = (value: unknown) => `"${String(value ?? '').replace(/"/g, '""')}"`;
  const lines = problems.map((p) =>
    [p.line, p.who, p.status, p.reason, p.field, p.detail].map(quote).join(','),
  );
  return ['line,contact,status,reason,field,detail', ...lines].join('\n') + '\n';
}
