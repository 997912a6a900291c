/**
 * What every benchmark in bench/ shares: the row it reports, the median it takes,
 * and where its results go (bench/results/<name>.json, which bench/run.ts turns into
 * bench/RESULTS.md).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { PROJECT_ROOT } from '../../scripts/lib/paths.js';

export interface BenchRow {
  name: string;
  baseline: number | string;
  measured: number | string;
  ratio: number;
  /** As bench/run.ts reads it: "≥ 0.7", "≤ 1.5×"; "diagnostic" for rows without a goal of their own. */
  goal: string;
  unit?: string;
  notes?: string;
  /** Whether the goal is met, when the benchmark decides it; else bench/run.ts reads the goal. */
  pass?: boolean;
}

export interface BenchResult {
  title: string;
  server?: string;
  rows: BenchRow[];
}

export const RESULTS_DIR = join(PROJECT_ROOT, 'bench', 'results');

export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? (s[mid] as number) : ((s[mid - 1] as number) + (s[mid] as number)) / 2;
}

/** Writes bench/results/<name>.json; returns its path. */
export function writeBenchResult(name: string, result: BenchResult): string {
  mkdirSync(RESULTS_DIR, { recursive: true });
  const file = join(RESULTS_DIR, `${name}.json`);
  writeFileSync(file, `${JSON.stringify(result, null, 2)}\n`);
  return file;
}

