/**
 * The circuit breaker's failure + success pair counted in CPU instructions instead of
 * timed: the same statements as bench/breaker.ts (named prepared statements, a closed
 * breaker, every success writing), run by a single-user backend under callgrind. The
 * count repeats to 0.05 % whatever else the machine does (runs differ only in ids and
 * times), so it compares two versions of the functions where the timed ratio moves with
 * the machine.
 *
 * Each workload runs N = 200 and N = 2,000 times in a fresh copy of the same stopped
 * cluster; per call = (count at 2,000 − count at 200) / 1,800, which leaves out the
 * backend's start, the PREPAREs and its exit.
 *
 *   pair           record_failure + record_success    vs  the two raw UPDATEs they write   goal ≥ 0.7
 *   pair-floor     two minimal plpgsql RPCs, one raw  vs  the same raw UPDATEs             diagnostic
 *                  UPDATE each, the row returned
 *   success-read   record_success on a breaker        vs  one raw UPDATE of the row        diagnostic
 *                  without failures (a read)
 *
 * Ratios are baseline / measured instructions, so they read like the timed ratios
 * (higher is cheaper). Needs valgrind (Debian: apt-get install valgrind); without it the
 * benchmark says so and writes nothing.
 *
 *   npx tsx bench/breaker-instructions.ts
 */
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { bootstrapCluster, withClient } from '../scripts/lib/database.js';
import {
  APP_USER,
  asPgUser,
  binDir,
  chownTree,
  selectedMajor,
  startCluster,
  stopCluster,
} from '../scripts/lib/local-postgres.js';
import { buildTemplates, copyTemplate } from '../scripts/lib/test-cluster.js';
import { FLOOR_FUNCTIONS, rawFailureSql, rawSuccessSql, rpcCallSql } from './lib/breaker-sql.js';
import { type BenchRow, writeBenchResult } from './lib/results.js';

const SMALL = 200;
const LARGE = 2000;

const PREPARES = [
  `prepare raw_fail(uuid, text) as ${rawFailureSql('public.circuit_breaker_state')};`,
  `prepare raw_success(uuid) as ${rawSuccessSql('public.circuit_breaker_state')};`,
  `prepare rpc_fail(uuid, text) as ${rpcCallSql('public.record_failure', '$1, $2')};`,
  `prepare rpc_success(uuid) as ${rpcCallSql('public.record_success', '$1')};`,
  `prepare floor_fail(uuid, text) as ${rpcCallSql('bench.floor_failure', '$1, $2')};`,
  `prepare floor_success(uuid) as ${rpcCallSql('bench.floor_success', '$1')};`,
];

/** One call of each workload: the EXECUTEs, one per line (a single-user backend reads a statement a line). */
const WORKLOADS: Record<string, (source: string) => string[]> = {
  raw: (s) => [`execute raw_fail('${s}', 'HTTP 503');`, `execute raw_success('${s}');`],
  pair: (s) => [`execute rpc_fail('${s}', 'HTTP 503');`, `execute rpc_success('${s}');`],
  floor: (s) => [`execute floor_fail('${s}', 'HTTP 503');`, `execute floor_success('${s}');`],
  // On a breaker without failures: the success only reads; the baseline writes the row.
  successRead: (s) => [`execute rpc_success('${s}');`],
  rawSuccess: (s) => [`execute raw_success('${s}');`],
};

/**
 * Instructions a single-user backend executes for `lines` in a fresh copy of `pgdata`.
 * `work` is a folder the server's OS user may write (the callgrind output goes there).
 */
function count(work: string, pgdata: string, database: string, name: string, lines: string[]): Promise<number> {
  const copy = join(work, `data-${name}`);
  const out = join(work, `callgrind-${name}.out`);
  execFileSync('cp', ['-a', pgdata, copy]);
  chownTree(copy);
  const postgres = join(binDir(selectedMajor()), 'postgres');
  const [cmd, args] = asPgUser('valgrind', [
    '--tool=callgrind',
    `--callgrind-out-file=${out}`,
    postgres,
    '--single',
    '-D',
    copy,
    '-c',
    'fsync=off',
    database,
  ]);
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: ['pipe', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (d: Buffer) => (output += d.toString()));
    child.stderr.on('data', (d: Buffer) => (output += d.toString()));
    child.stdin.end(`${[...PREPARES, ...lines].join('\n')}\n`);
    child.on('close', (code) => {
      rmSync(copy, { recursive: true, force: true });
      // The backend prints a statement's error and goes on: any error makes the count meaningless.
      const problem = /.*\b(?:ERROR|FATAL|PANIC):.*/.exec(output)?.[0];
      if (problem || code !== 0) return reject(new Error(`${name}: ${problem ?? `exit ${code}`}`));
      const total = /^(?:summary|totals):\s+(\d+)/m.exec(readFileSync(out, 'utf8'))?.[1];
      if (!total) return reject(new Error(`${name}: no callgrind total in ${out}`));
      resolve(Number(total));
    });
  });
}

/** Instructions per call of a workload: the difference between LARGE and SMALL calls. */
async function perCall(work: string, pgdata: string, database: string, key: string, source: string): Promise<number> {
  const one = WORKLOADS[key] as (s: string) => string[];
  // Two at a time: one backend per core.
  const [small, large] = await Promise.all([
    count(work, pgdata, database, `${key}-${SMALL}`, Array.from({ length: SMALL }, () => one(source)).flat()),
    count(work, pgdata, database, `${key}-${LARGE}`, Array.from({ length: LARGE }, () => one(source)).flat()),
  ]);
  return Math.round((large - small) / (LARGE - SMALL));
}

async function main(): Promise<void> {
  if (spawnSync('valgrind', ['--version']).status !== 0) {
    console.log('valgrind not found: breaker instruction counts skipped (Debian: apt-get install valgrind)');
    return;
  }
  const dir = mkdtempSync(join(tmpdir(), 'scrapeguard-instructions-'));
  try {
    const cluster = await startCluster(dir);
    await bootstrapCluster(cluster);
    const urls = { app: cluster.urlFor('postgres', APP_USER), admin: cluster.rootUrl };
    const version = await buildTemplates(urls);
    const db = await copyTemplate(urls);
    const source = await withClient(db.appUrl, async (c) => {
      const id = (
        await c.query<{ id: string }>(
          `insert into public.event_sources (name, base_url) values ('counted', 'https://example.com/counted') returning id`,
        )
      ).rows[0]?.id as string;
      // Keep the breaker closed: the pair measures the closed path.
      await c.query('select public.configure_breaker($1, failure_threshold => 1000000000)', [id]);
      await c.query(FLOOR_FUNCTIONS);
      return id;
    });
    stopCluster(dir);
    const work = join(dir, 'counts');
    mkdirSync(work);
    chownTree(work);
    const pgdata = join(dir, 'pgdata');
    const measured: Record<string, number> = {};
    for (const key of Object.keys(WORKLOADS)) {
      measured[key] = await perCall(work, pgdata, db.name, key, source);
      console.log(`${key}: ${measured[key]} instructions per call`);
    }
    const method =
      'callgrind, single-user backend, named prepared statements; ' +
      `per call = (count at ${LARGE} − count at ${SMALL}) / ${LARGE - SMALL}`;
    /** A row comparing two workloads' counts; the ratio is baseline / measured, like a throughput ratio. */
    const row = (name: string, baseline: string, compared: string, goal: string, notes: string): BenchRow => {
      const [b, m] = [measured[baseline] as number, measured[compared] as number];
      const ratio = Number((b / m).toFixed(3));
      return { name, baseline: b, measured: m, ratio, goal, unit: 'instructions', notes: `${notes}; ${method}` };
    };
    const rows: BenchRow[] = [
      row(
        'pair: record_failure + record_success / two raw UPDATEs of one row, in instructions',
        'raw',
        'pair',
        '≥ 0.7',
        'closed breaker, every success writing; RPCs called as the SDK calls them; ratio = baseline / measured',
      ),
      row(
        'pair-floor: two minimal plpgsql RPCs, one raw UPDATE each, the row returned / the same raw UPDATEs',
        'raw',
        'floor',
        'diagnostic',
        'what any pair of RPCs costs',
      ),
      row(
        'success-read: record_success on a breaker without failures (a read) / one raw UPDATE of the row',
        'rawSuccess',
        'successRead',
        'diagnostic',
        'the common success writes nothing',
      ),
    ];
    for (const r of rows) console.log(`${r.name}\n  baseline ${r.baseline}, measured ${r.measured}, ratio ${r.ratio}`);
    const file = writeBenchResult('breaker-instructions', {
      title: `Circuit breaker, counted in instructions (${version.split(' on ')[0]})`,
      server: version,
      rows,
    });
    console.log(`written ${file}`);
  } finally {
    stopCluster(dir, { remove: true });
  }
}

await main();
