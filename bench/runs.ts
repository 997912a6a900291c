/**
 * Runs-and-logs benchmark: ratios against baselines measured in the same run.
 *
 *   ingest    append_logs() with 1,000-entry batches, rows/s  vs  COPY of the same rows    goal ≥ 0.6
 *   lookup    (run_id, level) lookup latency at 10M log rows  vs  the same at 1M rows       goal ≤ 1.5
 *   fleet     fleet_health() latency, 50 sources × 5,000 runs vs  × 500 runs                goal ≤ 2
 *
 * The machine is shared (2 cores, other jobs running), so every comparison interleaves its
 * two sides in rounds, alternating which goes first, and takes the median of the per-round
 * ratios: load drift hits both sides of a round alike.
 *
 * ingest: each batch is one call on both sides (append_logs with a JSON array; COPY … FROM
 * STDIN in text format through pg-copy-streams), same rows, same table, indexes and FK.
 * lookup: two databases, 1M and 10M log lines, each spread over 30 daily partitions (the
 * retention window), 100 lines per run (25 per level), so every lookup returns 25 rows at
 * both sizes. The lines are generated in SQL (two connections, FK triggers off with
 * session_replication_role = replica, log indexes rebuilt afterwards: same definitions),
 * then VACUUM ANALYZE brings both databases to the state autovacuum would (without it,
 * autovacuum working on one database while the other is measured skews the ratio).
 * A round is one pass over LOOKUPS random runs per database, parameterised queries planned
 * per call; the runs' pages are warmed first (the first, cold pass is reported in the notes:
 * at 10M it measures reads from the OS cache, i.e. memory, not the index).
 * fleet: two databases, 500 and 5,000 runs per source spread over the 180-day retention.
 *
 *   npx tsx bench/runs.ts [ingest] [lookup] [fleet]
 *   (BENCH_ROUNDS, BENCH_BIG_LOGS, BENCH_LOOKUPS, BENCH_FLEET to override)
 */
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import pg from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import { buildTemplates, copyTemplate, startTestServer, type ServerUrls } from '../scripts/lib/test-cluster.js';
import { currentMigration } from '../scripts/lib/migrations.js';
import { type BenchRow, median, writeBenchResult } from './lib/results.js';


const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 9);
const BATCHES_PER_ROUND = 20;
const BATCH = 1000;
const SMALL_LOGS = 1_000_000;
const BIG_LOGS = Number(process.env.BENCH_BIG_LOGS ?? 10_000_000);
const LOGS_PER_RUN = 100;
const LOOKUPS = Number(process.env.BENCH_LOOKUPS ?? 100);
const FLEET_CALLS = Number(process.env.BENCH_FLEET ?? 10);
const SOURCES = 50;

interface Row extends BenchRow {
  baseline: number;
  measured: number;
  unit: string;
  notes: string;
}

const round3 = (x: number) => Number(x.toFixed(3));

async function connect(url: string): Promise<pg.Client> {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  return c;
}

function report(row: Row): void {
  const [op, target] = [row.goal.slice(0, 1), Number(row.goal.replace(/[^\d.]/g, ''))];
  const ok = op === '≥' ? row.ratio >= target : row.ratio <= target;
  console.log(
    `${row.name}\n  baseline ${row.baseline} ${row.unit}, measured ${row.measured} ${row.unit}, ratio ${row.ratio} (goal ${row.goal}) ${ok ? 'ok' : 'MISSES GOAL'}`,
  );
}

// ---------------------------------------------------------------- ingest

interface Entry {
  level: string;
  message: string;
  metadata: Record<string, unknown>;
  at: string;
}

const LEVELS = ['debug', 'info', 'info', 'info', 'warn', 'error'];

function makeBatch(seed: number): Entry[] {
  const base = Date.now() - 3_600_000;
  return Array.from({ length: BATCH }, (_, i) => {
    const k = seed * BATCH + i;
    return {
      level: LEVELS[k % LEVELS.length] as string,
      message: `fetched https://example.com/events/page/${k} in ${(k * 37) % 900} ms, ${k % 40} items`,
      metadata: { url: `https://example.com/events/page/${k}`, status: 200, attempt: 1 + (k % 3), items: k % 40 },
      at: new Date(base + k).toISOString(),
    };
  });
}

/** COPY text format: backslash, tab and newline escaped. */
function copyText(runId: string, entries: Entry[]): string {
  const esc = (s: string) => s.replace(/\\/g, '\\\\').replace(/\t/g, '\\t').replace(/\n/g, '\\n').replace(/\r/g, '\\r');
  return entries
    .map((e) => `${runId}\t${e.level}\t${esc(e.message)}\t${esc(JSON.stringify(e.metadata))}\t${e.at}\n`)
    .join('');
}

async function ingest(urls: ServerUrls): Promise<Row> {
  const db = await copyTemplate(urls);
  const c = await connect(db.appUrl);
  try {
    const source = (
      await c.query<{ id: string }>(
        `insert into public.event_sources (name, base_url) values ('bench', 'https://example.com') returning id`,
      )
    ).rows[0]?.id as string;
    const run = (await c.query<{ id: string }>('select public.start_run($1, $2) as id', [source, 'playwright'])).rows[0]
      ?.id as string;
    const batches = Array.from({ length: BATCHES_PER_ROUND }, (_, i) => makeBatch(i));
    const json = batches.map((b) => JSON.stringify(b));
    const copies = batches.map((b) => copyText(run, b));
    const appendOnce = async (): Promise<number> => {
      const t = performance.now();
      for (const j of json) await c.query({ name: 'append', text: 'select public.append_logs($1, $2::jsonb)', values: [run, j] });
      return (BATCH * BATCHES_PER_ROUND) / ((performance.now() - t) / 1000);
    };
    const copyOnce = async (): Promise<number> => {
      const t = performance.now();
      for (const text of copies) {
        await pipeline(
          Readable.from([text]),
          c.query(copyFrom('copy public.scraping_logs (run_id, level, message, metadata, logged_at) from stdin')),
        );
      }
      return (BATCH * BATCHES_PER_ROUND) / ((performance.now() - t) / 1000);
    };
    await appendOnce();
    await copyOnce();
    const base: number[] = [];
    const meas: number[] = [];
    const ratios: number[] = [];
    for (let r = 0; r < ROUNDS; r += 1) {
      let b: number;
      let m: number;
      if (r % 2 === 0) {
        b = await copyOnce();
        m = await appendOnce();
      } else {
        m = await appendOnce();
        b = await copyOnce();
      }
      base.push(b);
      meas.push(m);
      ratios.push(m / b);
    }
    return {
      name: 'ingest: append_logs() 1,000-entry batches / COPY FROM STDIN of the same rows',
      baseline: Math.round(median(base)),
      measured: Math.round(median(meas)),
      ratio: round3(median(ratios)),
      goal: '≥ 0.6',
      unit: 'rows/s',
      notes: `one connection, one call or COPY per 1,000 rows, ${BATCHES_PER_ROUND} batches per side per round; median of ${ROUNDS} alternating rounds (ratios ${ratios
        .map((x) => x.toFixed(2))
        .join(', ')})`,
    };
  } finally {
    await c.end();
    await db.drop();
  }
}

// ---------------------------------------------------------------- lookup

/**
 * Adds runs (and LOGS_PER_RUN log lines each, written together as one append_logs
 * batch would) until the table holds `total` log rows. Bulk generation only: the
 * log indexes are dropped and rebuilt around it (same definitions as the migration),
 * two connections generate in parallel, and FK triggers are off (replica role).
 */
async function growLogs(admins: pg.Client[], source: string, total: number): Promise<void> {
  const [first] = admins as [pg.Client];
  const have = Number((await first.query<{ n: string }>('select count(*) as n from public.scraping_logs')).rows[0]?.n);
  const runs = Math.ceil((total - have) / LOGS_PER_RUN);
  await first.query('drop index public.scraping_logs_run_level_idx');
  await first.query('alter table public.scraping_logs drop constraint scraping_logs_pkey');
  const share = Math.ceil(runs / admins.length);
  await Promise.all(
    admins.map(async (c, i) => {
      const mine = Math.min(share, runs - i * share);
      for (let done = 0; done < mine; done += 20_000) {
        await c.query(
          `with r as (
             insert into public.scraping_runs (source_id, engine, status, started_at, finished_at)
             select $1, 'playwright', 'succeeded', t, t + interval '2 minutes'
               from (select now() - interval '1 hour' - random() * interval '29 days' as t
                       from generate_series(1, $2)) g
             returning id, started_at)
           insert into public.scraping_logs (run_id, level, message, metadata, logged_at)
           select r.id, (array['debug','info','warn','error'])[1 + g % 4],
                  'fetched page ' || g || ' of the listing', jsonb_build_object('page', g, 'status', 200),
                  r.started_at + g * interval '1 second'
             -- generate_series depends on r (0 * …), so it runs once per run, inside the
             -- loop: each run's lines are written together, as one append_logs batch would be.
             from r cross join lateral generate_series(0, ${LOGS_PER_RUN - 1} + 0 * length(r.id::text)) g`,
          [source, Math.min(20_000, mine - done)],
        );
      }
    }),
  );
  await first.query('alter table public.scraping_logs add constraint scraping_logs_pkey primary key (id, logged_at)');
  await first.query('create index scraping_logs_run_level_idx on public.scraping_logs (run_id, level)');
  await first.query('analyze public.scraping_runs');
  await first.query('analyze public.scraping_logs');
}

const LOOKUP_SQL = `select id, level, message, metadata, logged_at from public.scraping_logs
  where run_id = $1 and level = $2 order by logged_at, id`;

/** A database of `total` log lines over 30 daily partitions, and LOOKUPS random runs of it. */
async function logsDatabase(urls: ServerUrls, total: number) {
  const db = await copyTemplate(urls);
  const admins = [await connect(db.adminUrl), await connect(db.adminUrl)];
  const c = await connect(db.appUrl);
  // Daily partitions for the whole 30-day window (plus the usual days ahead).
  await c.query(`select scrapeguard.freeze_clock(now() - interval '30 days')`);
  await c.query(`select scrapeguard.ensure_log_partitions('33 days')`);
  await c.query('select scrapeguard.reset_clock()');
  const parts = (await c.query<{ n: number }>('select count(*)::int as n from scrapeguard.log_partitions()')).rows[0]?.n ?? 0;
  const source = (
    await c.query<{ id: string }>(`insert into public.event_sources (name, base_url) values ('bench', 'https://x') returning id`)
  ).rows[0]?.id as string;
  for (const a of admins) {
    await a.query('set session_replication_role = replica');
    await a.query(`set maintenance_work_mem = '256MB'`);
  }
  const t = performance.now();
  await growLogs(admins, source, total);
  // The state autovacuum reaches on its own (hint bits, visibility map, statistics), now,
  // so that autovacuum does not work on one database while the other is measured.
  await (admins[0] as pg.Client).query('vacuum (analyze) public.scraping_logs, public.scraping_runs');
  const seconds = (performance.now() - t) / 1000;
  for (const a of admins) await a.end();
  const ids = (
    await c.query<{ id: string }>(`select id from public.scraping_runs tablesample system (5) limit $1`, [LOOKUPS])
  ).rows.map((r) => r.id);
  return {
    parts,
    seconds,
    /** Median latency of one pass over the sampled runs (a level per run, rotating). */
    async pass(): Promise<number> {
      const times: number[] = [];
      for (let i = 0; i < ids.length; i += 1) {
        const t0 = performance.now();
        const res = await c.query(LOOKUP_SQL, [ids[i], ['debug', 'info', 'warn', 'error'][i % 4]]);
        times.push(performance.now() - t0);
        if (res.rowCount !== LOGS_PER_RUN / 4) throw new Error(`lookup returned ${res.rowCount} rows`);
      }
      return median(times);
    },
    async close(): Promise<void> {
      await c.end();
      await db.drop();
    },
  };
}

/** Interleaved rounds of two measurements; medians of each side and of the per-round ratios. */
async function interleave(
  rounds: number,
  base: () => Promise<number>,
  meas: () => Promise<number>,
): Promise<{ base: number; meas: number; ratio: number; ratios: number[] }> {
  const b: number[] = [];
  const m: number[] = [];
  const ratios: number[] = [];
  for (let r = 0; r < rounds; r += 1) {
    let x: number;
    let y: number;
    if (r % 2 === 0) {
      x = await base();
      y = await meas();
    } else {
      y = await meas();
      x = await base();
    }
    b.push(x);
    m.push(y);
    ratios.push(y / x);
  }
  return { base: median(b), meas: median(m), ratio: median(ratios), ratios };
}

async function lookup(urls: ServerUrls): Promise<Row> {
  const small = await logsDatabase(urls, SMALL_LOGS);
  const big = await logsDatabase(urls, BIG_LOGS);
  try {
    const coldSmall = await small.pass();
    const coldBig = await big.pass();
    const r = await interleave(ROUNDS, () => small.pass(), () => big.pass());
    const bigLabel = BIG_LOGS >= 1_000_000 ? `${BIG_LOGS / 1_000_000}M` : String(BIG_LOGS);
    return {
      name: `lookup: (run_id, level) at ${bigLabel} log rows / at 1M`,
      baseline: round3(r.base),
      measured: round3(r.meas),
      ratio: round3(r.ratio),
      goal: '≤ 1.5',
      unit: 'ms',
      notes: `${small.parts} partitions (30 days + ahead + default), 25 rows per lookup, parameterised queries planned per call; median of ${ROUNDS} interleaved rounds, each the median of ${LOOKUPS} lookups of random runs (ratios ${r.ratios
        .map((x) => x.toFixed(2))
        .join(', ')}); first (cold) pass ${round3(coldSmall)} → ${round3(coldBig)} ms; generated in ${small.seconds.toFixed(0)} s and ${big.seconds.toFixed(0)} s`,
    };
  } finally {
    await small.close();
    await big.close();
  }
}

// ---------------------------------------------------------------- fleet_health

/** A database with SOURCES sources × perSource finished runs spread over 180 days. */
async function runsDatabase(urls: ServerUrls, perSource: number) {
  const db = await copyTemplate(urls);
  const c = await connect(db.appUrl);
  await c.query(
    `insert into public.event_sources (name, base_url)
     select 'bench ' || g, 'https://example.com/' || g from generate_series(1, ${SOURCES}) g`,
  );
  await c.query(
    `insert into public.scraping_runs (source_id, engine, status, started_at, finished_at, field_coverage, events_found)
     select s.id, 'firecrawl', st, t, t + (10 + random() * 120) * interval '1 second', round((50 + random() * 50)::numeric, 2), 10
       from public.event_sources s
      cross join lateral (
        select now() - random() * interval '180 days' as t,
               (array['succeeded','succeeded','succeeded','partial','failed'])[1 + floor(random() * 5)::int] as st
          from generate_series(1, $1)
      ) g`,
    [perSource],
  );
  await c.query('vacuum analyze public.scraping_runs');
  const one = async (): Promise<number> => {
    const t = performance.now();
    const res = await c.query('select * from public.fleet_health()');
    if (res.rowCount !== SOURCES) throw new Error(`fleet_health returned ${res.rowCount} rows`);
    return performance.now() - t;
  };
  for (let i = 0; i < 3; i += 1) await one();
  return {
    async pass(): Promise<number> {
      const times: number[] = [];
      for (let i = 0; i < FLEET_CALLS; i += 1) times.push(await one());
      return median(times);
    },
    async close(): Promise<void> {
      await c.end();
      await db.drop();
    },
  };
}

async function fleet(urls: ServerUrls): Promise<Row> {
  const small = await runsDatabase(urls, 500);
  const big = await runsDatabase(urls, 5000);
  try {
    const r = await interleave(ROUNDS, () => small.pass(), () => big.pass());
    return {
      name: `fleet_health(): ${SOURCES} sources × 5,000 runs / × 500 runs`,
      baseline: round3(r.base),
      measured: round3(r.meas),
      ratio: round3(r.ratio),
      goal: '≤ 2',
      unit: 'ms',
      notes: `runs spread over 180 days; defaults last_n = 20, recent = 24 h; median of ${ROUNDS} interleaved rounds of ${FLEET_CALLS} calls (ratios ${r.ratios
        .map((x) => x.toFixed(2))
        .join(', ')})`,
    };
  } finally {
    await small.close();
    await big.close();
  }
}

async function main(): Promise<void> {
  const server = await startTestServer();
  try {
    const version = (await buildTemplates(server.urls)).split(' on ')[0] ?? '';
    console.log(`${version}${currentMigration() ? '; with the migration in current' : ''}`);
    const only = process.argv.slice(2);
    const parts: [string, (u: ServerUrls) => Promise<Row>][] = [
      ['ingest', ingest],
      ['lookup', lookup],
      ['fleet', fleet],
    ];
    const rows: Row[] = [];
    for (const [key, fn] of parts) {
      if (only.length > 0 && !only.includes(key)) continue;
      const t = performance.now();
      const row = await fn(server.urls);
      rows.push(row);
      report(row);
      console.log(`  (${((performance.now() - t) / 1000).toFixed(0)} s)`);
    }
    const file = writeBenchResult('runs', { title: `Runs and logs (${version})`, rows });
    console.log(`written ${file}`);
  } finally {
    server.dispose();
  }
}

await main();
