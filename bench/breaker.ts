/**
 * Circuit-breaker benchmark: throughput ratios against baselines measured
 * in the same run, with the same 8 clients, on one hot source and spread over 50.
 *
 *   pair     record_failure + record_success        vs  two raw UPDATEs of the same    goal ≥ 0.7
 *                                                       circuit_breaker_state row
 *   read     the SDK's closed-breaker check: a PK   vs  a PK SELECT of the same
 *            SELECT of circuit_breaker_state            columns from a plain table     goal ≥ 0.9
 *   permit   acquire_permit() on a closed breaker   vs  a plain PK SELECT (4 columns)  goal ≥ 0.6
 *
 * Every statement is a named prepared statement on both sides (parse/plan once per
 * connection), so the ratios compare execution, not parsing. Within each round the
 * baseline and the measured side alternate in 0.1 s slices (the machine is shared, so
 * load comes and goes); each ratio is the median of ROUNDS per-round ratios.
 *
 * Three more rows are diagnostics, without goals of their own, to show where the pair's
 * time goes: the pair against a copy of the row in a table without any constraint; the
 * pair called as PostgREST calls RPCs (`select * from fn(…)`); and the floor of any pair
 * of RPCs: two minimal plpgsql functions (search_path pinned, as every scrapeguard
 * function) that each run one of the raw UPDATEs and return the row, created in the
 * bench's private database copy (see docs/database.md, "Circuit breaker").
 *
 *   npx tsx bench/breaker.ts            (BENCH_SECONDS, BENCH_ROUNDS, BENCH_CLIENTS to override)
 */
import pg from 'pg';
import { buildTemplates, copyTemplate, startTestServer } from '../scripts/lib/test-cluster.js';
import { FLOOR_FUNCTIONS, rawFailureSql, rawSuccessSql, rpcCallSql } from './lib/breaker-sql.js';
import { type BenchRow, median, writeBenchResult } from './lib/results.js';


const CLIENTS = Number(process.env.BENCH_CLIENTS ?? 8);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 1);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 7);
const SLICE = 0.1;
const SOURCES = 50;

interface Row extends BenchRow {
  baseline: number;
  measured: number;
  unit: string;
  notes: string;
}

type Op = (c: pg.Client, source: string) => Promise<unknown>;

/** Operations completed and seconds taken when every client runs `op` back to back for `seconds`. */
async function burst(
  clients: pg.Client[],
  sources: string[],
  hot: boolean,
  op: Op,
  seconds: number,
): Promise<{ ops: number; seconds: number }> {
  const start = performance.now();
  const deadline = start + seconds * 1000;
  let done = 0;
  await Promise.all(
    clients.map(async (c, i) => {
      let k = i;
      while (performance.now() < deadline) {
        const source = hot ? (sources[0] as string) : (sources[k % sources.length] as string);
        k += 7;
        await op(c, source);
        done += 1;
      }
    }),
  );
  return { ops: done, seconds: (performance.now() - start) / 1000 };
}

/**
 * One round: baseline and measured alternate in short slices (swapping which goes
 * first each time), so load from other processes and drift hit both sides alike.
 * Returns each side's throughput over the round.
 */
async function round(
  clients: pg.Client[],
  sources: string[],
  hot: boolean,
  baseline: Op,
  measured: Op,
): Promise<{ baseline: number; measured: number; baselineOps: number; measuredOps: number }> {
  const slices = Math.max(1, Math.round(SECONDS / SLICE));
  const b = { ops: 0, seconds: 0 };
  const m = { ops: 0, seconds: 0 };
  for (let i = 0; i < slices; i += 1) {
    const order: [Op, typeof b][] = i % 2 === 0 ? [[baseline, b], [measured, m]] : [[measured, m], [baseline, b]];
    for (const [op, acc] of order) {
      const r = await burst(clients, sources, hot, op, SLICE);
      acc.ops += r.ops;
      acc.seconds += r.seconds;
    }
  }
  return { baseline: b.ops / b.seconds, measured: m.ops / m.seconds, baselineOps: b.ops, measuredOps: m.ops };
}

const q = (name: string, text: string) => (c: pg.Client, values: unknown[]) => c.query({ name, text, values });

// The raw UPDATEs write what the RPCs write, to the same row of the same table; a
// diagnostic row repeats the pair against a copy of the table without any constraint.
const rawFail = q('raw_fail', rawFailureSql('public.circuit_breaker_state'));
const rawSuccess = q('raw_success', rawSuccessSql('public.circuit_breaker_state'));
const rawFailPlain = q('raw_fail_plain', rawFailureSql('bench.plain'));
const rawSuccessPlain = q('raw_success_plain', rawSuccessSql('bench.plain'));
const rpcFail = q('rpc_fail', rpcCallSql('public.record_failure', '$1, $2'));
const rpcSuccess = q('rpc_success', rpcCallSql('public.record_success', '$1'));
// The SDK's fast path reads the whole row (`select *`); bench.plain has the same columns.
const plainRead = q('plain_read', 'select * from bench.plain where source_id = $1');
const sdkRead = q('sdk_read', 'select * from public.circuit_breaker_state where source_id = $1');
// For the RPC: a PK SELECT of as many columns as acquire_permit returns, so both
// sides ship and parse the same amount.
const plainReadNarrow = q('plain_read_narrow',
  'select state, open_until, probe_id, probe_lease_until from bench.plain where source_id = $1');
const rpcFailFrom = q('rpc_fail_from', 'select * from public.record_failure(source_id => $1, error => $2)');
const rpcSuccessFrom = q('rpc_success_from', 'select * from public.record_success(source_id => $1)');
const permit = q('permit', 'select allowed, state, probe_id, retry_at from public.acquire_permit($1)');
const floorFail = q('floor_fail', rpcCallSql('bench.floor_failure', '$1, $2'));
const floorSuccess = q('floor_success', rpcCallSql('bench.floor_success', '$1'));

interface Workload {
  key: string;
  title: string;
  goal: number;
  baseline: Op;
  measured: Op;
  notes: string;
  /** Diagnostic rows: no goal of their own; on the hot row only unless `spread` is set. */
  diagnostic?: boolean;
  spread?: boolean;
  /**
   * Pair workloads: circuit_breaker_state versions the baseline bumps per op (2 for the raw
   * UPDATEs of the same table, 0 for the plain copy). With it the bench counts how many of
   * the measured pairs' successes wrote: a success that finds failure_count = 0 (another
   * client's success came first, on one hot row) is a read, cheaper than the raw UPDATE.
   */
  baselineVersionsPerOp?: number;
}

type Statement = ReturnType<typeof q>;
/** A failure, then a success on the same source: two statements, each its own transaction. */
const pairOf = (failure: Statement, success: Statement): Op => async (c, s) => {
  await failure(c, [s, 'HTTP 503']);
  await success(c, [s]);
};
const rawPair = pairOf(rawFail, rawSuccess);
const rawPairPlain = pairOf(rawFailPlain, rawSuccessPlain);
const rpcPair = pairOf(rpcFail, rpcSuccess);

const WORKLOADS: Workload[] = [
  {
    key: 'pair',
    title: 'record_failure + record_success pair / two raw UPDATEs of one row',
    goal: 0.7,
    baseline: rawPair,
    measured: rpcPair,
    notes:
      'closed breaker (threshold set out of reach so it stays closed); each call its own transaction; ' +
      'RPCs called as select (r).cols from (select fn(...) r offset 0); raw UPDATEs of the same circuit_breaker_state row',
    baselineVersionsPerOp: 2,
  },
  {
    key: 'pair-plain-table',
    title: 'diagnostic: the same pair / two raw UPDATEs of a copy of the row in a table without constraints',
    goal: 0.7,
    baseline: rawPairPlain,
    measured: rpcPair,
    notes: 'baseline table: same columns, no CHECKs, domains, foreign key or RLS',
    diagnostic: true, // (goal unused)
    baselineVersionsPerOp: 0,
  },
  {
    key: 'pair-sdk-call',
    title: 'diagnostic: the same pair called as select * from fn(...) (as PostgREST calls it)',
    goal: 0.7,
    baseline: rawPair,
    measured: pairOf(rpcFailFrom, rpcSuccessFrom),
    notes: 'a composite-returning function in FROM costs a function-scan set-up per call',
    diagnostic: true, // (goal unused)
    baselineVersionsPerOp: 2,
  },
  {
    key: 'pair-floor',
    title: 'diagnostic: the floor of any pair of RPCs (two plpgsql functions, each one raw UPDATE returning the row) / two raw UPDATEs of one row',
    goal: 0.7,
    baseline: rawPair,
    measured: pairOf(floorFail, floorSuccess),
    notes:
      'what two calls cost with no breaker logic: search_path pinned, one UPDATE each, the row returned as the RPCs return it',
    diagnostic: true, // (goal unused)
    spread: true,
    baselineVersionsPerOp: 2,
  },
  {
    key: 'read',
    title: 'closed-breaker check as the SDK does it (PK SELECT of circuit_breaker_state) / plain PK SELECT',
    goal: 0.9,
    baseline: (c, s) => plainRead(c, [s]),
    measured: (c, s) => sdkRead(c, [s]),
    notes: 'select * by primary key, as the SDK fast path; baseline: same columns, no RLS/CHECKs/foreign key',
  },
  {
    key: 'permit',
    title: 'acquire_permit() RPC on a closed breaker / plain PK SELECT',
    goal: 0.6,
    baseline: (c, s) => plainReadNarrow(c, [s]),
    measured: (c, s) => permit(c, [s]),
    notes:
      'plpgsql with pinned search_path; read only (no lock, no write); baseline selects 4 columns (the RPC returns 4)',
  },
];

async function main(): Promise<void> {
  const server = await startTestServer();
  let drop: (() => Promise<void>) | undefined;
  const clients: pg.Client[] = [];
  try {
    const version = await buildTemplates(server.urls);
    const db = await copyTemplate(server.urls);
    drop = db.drop;
    const setup = new pg.Client({ connectionString: db.appUrl });
    await setup.connect();
    const sources = (
      await setup.query<{ id: string }>(
        `insert into public.event_sources (name, base_url)
         select 'bench ' || g, 'https://example.com/' || g from generate_series(1, $1) g returning id`,
        [SOURCES],
      )
    ).rows.map((r) => r.id);
    for (const id of sources) {
      // Keep every breaker closed: the pair measures the closed path.
      await setup.query('select public.configure_breaker($1, failure_threshold => 1000000000)', [id]);
    }
    await setup.query('create schema bench');
    await setup.query(`create table bench.plain as table public.circuit_breaker_state`);
    await setup.query('alter table bench.plain add primary key (source_id)');
    await setup.query('alter table bench.plain set (fillfactor = 50)');
    await setup.query(FLOOR_FUNCTIONS);
    await setup.query('vacuum analyze bench.plain');
    await setup.query('vacuum analyze public.circuit_breaker_state');

    for (let i = 0; i < CLIENTS; i += 1) {
      const c = new pg.Client({ connectionString: db.appUrl });
      await c.connect();
      clients.push(c);
    }
    console.log(
      `${version.split(' on ')[0]}; ${CLIENTS} clients, ${ROUNDS} rounds × ${SECONDS}s per side in ${SLICE}s slices`,
    );

    const rows: Row[] = [];
    const run = async (w: Workload, hot: boolean): Promise<void> => {
        const where = hot ? 'one hot source' : `spread over ${SOURCES} sources`;
        // Warm-up: prepare statements, fill caches.
        await burst(clients, sources, hot, w.baseline, 0.3);
        await burst(clients, sources, hot, w.measured, 0.3);
        const base: number[] = [];
        const meas: number[] = [];
        const ratios: number[] = [];
        const versions = async () =>
          Number((await setup.query<{ v: string }>('select sum(version)::text as v from public.circuit_breaker_state')).rows[0]?.v);
        let successWrites = 0;
        let pairs = 0;
        for (let r = 0; r < ROUNDS; r += 1) {
          await setup.query('vacuum bench.plain, public.circuit_breaker_state');
          const before = await versions();
          const res = await round(clients, sources, hot, w.baseline, w.measured);
          const written = (await versions()) - before;
          // Each measured pair's failure writes once; what is left over is successes that wrote.
          successWrites += written - (w.baselineVersionsPerOp ?? 0) * res.baselineOps - res.measuredOps;
          pairs += res.measuredOps;
          base.push(res.baseline);
          meas.push(res.measured);
          ratios.push(res.measured / res.baseline);
        }
        const readSuccesses =
          w.baselineVersionsPerOp === undefined
            ? ''
            : `; ${Math.round((100 * (pairs - successWrites)) / Math.max(1, pairs))} % of the measured successes found ` +
              'failure_count = 0 (another client\'s success came first) and only read';
        const row: Row = {
          name: `${w.key} (${where}): ${w.title}`,
          baseline: Math.round(median(base)),
          measured: Math.round(median(meas)),
          ratio: Number(median(ratios).toFixed(3)),
          goal: w.diagnostic ? 'diagnostic' : `≥ ${w.goal}`,
          unit: w.key.startsWith('pair') ? 'pairs/s' : 'calls/s',
          notes: `${w.notes}${readSuccesses}; ${CLIENTS} clients; median of ${ROUNDS} rounds of ${SECONDS}s per side in alternating ${SLICE}s slices (ratios ${ratios
            .map((x) => x.toFixed(2))
            .join(', ')})`,
        };
        rows.push(row);
        const verdict = w.diagnostic ? '(diagnostic)' : `(goal ≥ ${w.goal}) ${row.ratio >= w.goal ? 'ok' : 'BELOW GOAL'}`;
        console.log(
          `${row.name}\n  baseline ${row.baseline} ${row.unit}, measured ${row.measured} ${row.unit}, ratio ${row.ratio} ${verdict}`,
        );
    };
    for (const w of WORKLOADS) {
      for (const hot of w.diagnostic && !w.spread ? [true] : [true, false]) await run(w, hot);
    }

    await setup.end();
    const file = writeBenchResult('breaker', { title: `Circuit breaker (${version.split(' on ')[0]})`, server: version, rows });
    console.log(`written ${file}`);
  } finally {
    await Promise.all(clients.map((c) => c.end().catch(() => undefined)));
    if (drop) await drop().catch(() => undefined);
    server.dispose();
  }
}

await main();
