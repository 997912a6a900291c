/**
 * `npm run bench`: runs every benchmark in bench/ (each a standalone script that
 * starts its own throwaway PostgreSQL, measures ratios against a baseline taken in
 * the same run, and writes bench/results/<name>.json), then writes bench/RESULTS.md.
 * `npm run bench -- revisions` runs only the named ones.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { join } from 'node:path';
import { PROJECT_ROOT } from '../scripts/lib/paths.js';
import { renderResults } from './lib/report.js';
import { type BenchResult, RESULTS_DIR } from './lib/results.js';

const benchDir = join(PROJECT_ROOT, 'bench');
const wanted = process.argv.slice(2);
const benches = readdirSync(benchDir)
  .filter((f) => f.endsWith('.ts') && f !== 'run.ts')
  .map((f) => f.replace(/\.ts$/, ''))
  .filter((n) => wanted.length === 0 || wanted.includes(n))
  .sort();

let failed = 0;
for (const name of benches) {
  console.log(`\n=== bench/${name}.ts ===`);
  const r = spawnSync(process.execPath, ['--import', 'tsx', join(benchDir, `${name}.ts`)], { stdio: 'inherit', cwd: PROJECT_ROOT });
  if (r.status !== 0) {
    failed += 1;
    console.error(`bench/${name}.ts failed (exit ${r.status})`);
  }
}

const results: BenchResult[] = existsSync(RESULTS_DIR)
  ? readdirSync(RESULTS_DIR).filter((f) => f.endsWith('.json')).sort()
      .map((f) => JSON.parse(readFileSync(join(RESULTS_DIR, f), 'utf8')) as BenchResult)
  : [];

const machine = `${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}, ${Math.round(totalmem() / 2 ** 30)} GiB, Node ${process.version}`;
writeFileSync(join(benchDir, 'RESULTS.md'), renderResults(results, new Date().toISOString().slice(0, 10), machine));
console.log(`\nwrote bench/RESULTS.md (${results.length} benchmark files)`);
process.exit(failed > 0 ? 1 : 0);
