/**
 * bench/RESULTS.md from the results files the benchmarks wrote: one table per
 * benchmark, each row's ratio against its goal.
 */
import type { BenchResult, BenchRow } from './results.js';

/**
 * Whether a ratio meets a goal written like "≥ 0.7" or "≤ 1.5×"; undefined when the
 * goal names no bound (a diagnostic row) or there is no ratio to judge.
 */
export function meetsGoal(ratio: number | null, goal: string): boolean | undefined {
  const m = /([≤≥<>]=?)\s*([\d.]+)/.exec(goal);
  if (!m || ratio === null || !Number.isFinite(ratio)) return undefined;
  const target = Number(m[2]);
  return m[1]?.startsWith('≥') || m[1]?.startsWith('>') ? ratio >= target : ratio <= target;
}

/**
 * A row as read back from JSON: a ratio that was NaN or infinite when written
 * (a run too short to measure anything, e.g. zero rounds) arrives as null.
 */
type StoredRow = Omit<BenchRow, 'ratio'> & { ratio: number | null };

function renderRow(row: StoredRow): string {
  const ok = row.pass ?? meetsGoal(row.ratio, row.goal);
  const unit = row.unit ? ` ${row.unit}` : '';
  const ratio = row.ratio === null || !Number.isFinite(row.ratio) ? 'n/a' : row.ratio.toFixed(2);
  const met = ok === undefined ? '' : ok ? 'yes' : 'no';
  return `| ${row.name} | ${row.baseline}${unit} | ${row.measured}${unit} | ${ratio} | ${row.goal} | ${met} | ${row.notes ?? ''} |`;
}

/** The Markdown of bench/RESULTS.md; `machine` describes where it ran. */
export function renderResults(results: BenchResult[], date: string, machine: string): string {
  const lines = [
    '# Benchmark results',
    '',
    `Written by \`npm run bench\` on ${date}. Machine: ${machine}.`,
    'Every ratio compares two measurements taken in the same run on the same server, so machine noise cancels out;',
    'absolute times are shown for context only.',
    '',
  ];
  for (const res of results) {
    lines.push(`## ${res.title}`, '');
    if (res.server) lines.push(`Server: ${res.server}`, '');
    lines.push('| measurement | baseline | measured | ratio | goal | met | notes |', '|---|---|---|---|---|---|---|');
    for (const row of res.rows as StoredRow[]) lines.push(renderRow(row));
    lines.push('');
  }
  return lines.join('\n');
}
