/**
 * Writes one benchmark's figures into bench/RESULTS.md, replacing that benchmark's previous
 * section, with the command that produced them and the machine they were measured on.
 */
import { readFile, writeFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { format, resolveConfig } from 'prettier';
import { describeMachine } from './machine.js';

const RESULTS = fileURLToPath(new URL('../RESULTS.md', import.meta.url));
const HEADER = `# Benchmark results

Each section is written by its script (\`scripts/bench <name>\`) and replaced on the next run.
Figures are from one run on the machine named in the section; targets are beside them.
`;

export interface Figure {
  name: string;
  value: string;
  target?: string;
  /** true = meets the target, false = misses it, undefined = informative only. */
  ok?: boolean;
}

export async function writeResults(bench: string, title: string, figures: Figure[], notes: string[] = []) {
  const lines = [
    `<!-- bench:${bench} -->`,
    `## ${title}`,
    '',
    `Command: \`scripts/bench ${bench}\` — ${new Date().toISOString().slice(0, 16).replace('T', ' ')} UTC`,
    `Machine: ${describeMachine()}`,
    '',
    '| figure | value | target | |',
    '|---|---|---|---|',
    ...figures.map(
      (f) =>
        `| ${f.name} | ${f.value} | ${f.target ?? ''} | ${f.ok === undefined ? '' : f.ok ? 'met' : '**missed**'} |`,
    ),
    '',
    ...notes.map((note) => `${note}`),
    ...(notes.length ? [''] : []),
    `<!-- /bench:${bench} -->`,
  ].join('\n');

  let current = HEADER;
  try {
    current = await readFile(RESULTS, 'utf8');
  } catch {
    /* first run */
  }
  const pattern = new RegExp(`<!-- bench:${bench} -->[\\s\\S]*?<!-- /bench:${bench} -->`);
  const next = pattern.test(current) ? current.replace(pattern, lines) : `${current.trimEnd()}\n\n${lines}\n`;
  // Formatted as the linter checks it, so a fresh run commits as it is.
  await writeFile(RESULTS, await format(next, { ...(await resolveConfig(RESULTS)), filepath: RESULTS }));
  console.log(`\n${lines.replace(/<!--.*-->\n?/g, '')}`);
}

export const fmt = {
  rate: (perSecond: number) => `${perSecond.toFixed(1)}/s`,
  ratio: (value: number) => value.toFixed(2),
  ms: (value: number) => `${Math.round(value)} ms`,
  mib: (bytes: number) => `${(bytes / 2 ** 20).toFixed(0)} MiB`,
};
