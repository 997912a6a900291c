/**
 * Cost of the event revision triggers, against the same writes without them, in
 * one run (npx tsx bench/revisions.ts):
 *
 *   (a) a re-scrape that changes only noise columns: one UPDATE of all 100k events
 *   (b) a change of two fields of every event: one UPDATE of all 100k events
 *   (c) single-row updates, one autocommit statement each (how scrapers write):
 *       with a two-field change, and as a noise-only re-scrape
 *   (d) (b) and (c) with a change context set: a real run named in scrapeguard.run_id,
 *       so every revision row carries it and its foreign key is checked
 *   (e) events_as_of(now()) over the whole calendar against a sequential read of
 *       event_revisions, in the same session
 *
 * Every write workload also runs with supa_audit (Supabase's generic audit trigger) in
 * place of ours, on the same table in the same run, read at run time from
 * ../shared/peers/supa_audit-0.3.1.sql (or BENCH_SUPA_AUDIT); without that file the
 * peer rows are left out and the results say so. Sizes: BENCH_EVENTS, BENCH_REPS,
 * BENCH_SINGLE_REPS, BENCH_SINGLE, BENCH_ASOF_REPS; BENCH_ONLY=e runs (e) alone.
 *
 * on two events tables of 100k rows: the base schema (what 000001 creates
 * on a bare database) and the real app's richer table (tests/fixtures/app-schema.sql:
 * more columns, GIN indexes, its own BEFORE triggers). The modes alternate within
 * each repetition (without, with, …) and the ratio reported is the median of the
 * per-repetition ratios. Besides wall time, the backend's CPU time (from /proc, on
 * the embedded server) is recorded, which other processes on a shared machine
 * disturb less.
 *
 * With BENCH_ALTERNATIVES=1, as an alternative that is measured but not shipped, the base schema also runs a
 * statement-level AFTER UPDATE trigger with transition tables (diff computed set-based
 * from old/new tables) in place of the row trigger. And, as a floor, (b) and (c) run
 * with the least any revision trigger must do: a row trigger with the same WHEN clause
 * whose function inserts one constant row into a table without indexes or constraints.
 *
 * With BENCH_BREAKDOWN=1, instead: the cost of each part of the triggers, found by removing
 * one at a time (see benchBreakdown; docs/database.md, "Where the time goes"), timed or, with
 * BENCH_CALLGRIND_DIR, counted in instructions; and (c)'s client-observed floor.
 *
 * A bulk workload's measurement is two UPDATEs of every row, each followed by VACUUM:
 * one whole-table UPDATE and the next differ in cost (the new row versions land on
 * the same pages or on others, and that alternates), so a single UPDATE per mode made
 * the ratio depend on which mode happened to get the cheap turn.
 *
 * Writes bench/results/revisions.json.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import pg from 'pg';
import { applyCurrent, migrate } from '../scripts/lib/database.js';
import { PROJECT_ROOT } from '../scripts/lib/paths.js';
import { BARE_TEMPLATE, buildTemplates, copyTemplate, MIGRATED_TEMPLATE, startTestServer } from '../scripts/lib/test-cluster.js';
import { type BackendTiming, timeBackend } from './lib/backend-cpu.js';
import { type BenchRow, median, writeBenchResult } from './lib/results.js';


const EVENTS = Number(process.env.BENCH_EVENTS ?? 100_000);
/** Repetitions of the whole-table workloads (each two UPDATEs per mode). */
const REPS = Number(process.env.BENCH_REPS ?? 3);
/** Repetitions of the single-row workloads: short and many, since a 2-core machine drifts. */
const SINGLE_REPS = Number(process.env.BENCH_SINGLE_REPS ?? 7);
const SINGLE = Number(process.env.BENCH_SINGLE ?? 800);
/** Rounds of (e), the whole calendar read as of a time against a sequential read of the history. */
const ASOF_REPS = Number(process.env.BENCH_ASOF_REPS ?? 5);
/**
 * BENCH_ONLY=e: only (e), on a history written the way the full run leaves it (the events
 * inserted, then BENCH_ASOF_UPDATES two-field updates of every event, (b)'s UPDATE).
 */
const ONLY_ASOF = process.env.BENCH_ONLY === 'e';
const ASOF_UPDATES = Number(process.env.BENCH_ASOF_UPDATES ?? 8);
/** The statement-level alternative and the floor take long: run them only when asked (BENCH_ALTERNATIVES=1). */
const ALTERNATIVES = process.env.BENCH_ALTERNATIVES === '1';
/**
 * The peer measured beside each write workload: Supabase's generic audit trigger, read
 * at run time from outside the project (never part of it). Absent file → rows say so.
 */
const PEER_FILE = process.env.BENCH_SUPA_AUDIT ?? join(PROJECT_ROOT, '..', 'shared', 'peers', 'supa_audit-0.3.1.sql');
const PEER_NAME = 'supa_audit 0.3.1';

type Mode = 'without' | 'with' | 'supa_audit' | 'statement-level' | 'floor';

/** Wall time and the backend's CPU time of one measurement. */
type Measure = BackendTiming;

/** pass is absent on diagnostic rows. */
interface Row extends BenchRow {
  baseline: number;
  measured: number;
  unit: string;
  notes: string;
}

const round = (x: number, d = 2): number => Math.round(x * 10 ** d) / 10 ** d;

class Session {
  private constructor(
    readonly c: pg.Client,
    private readonly pid: number,
    private readonly local: boolean,
  ) {}

  static async open(url: string, local: boolean): Promise<Session> {
    const c = new pg.Client({ connectionString: url });
    await c.connect();
    const { rows } = await c.query<{ pid: number }>('select pg_backend_pid() as pid');
    return new Session(c, rows[0]!.pid, local);
  }

  /** Wall time of fn and this connection's backend CPU time (null when the server is not local). */
  time(fn: () => Promise<void>): Promise<Measure> {
    return timeBackend(this.local ? this.pid : null, fn);
  }
}

/** A statement-level alternative, generated from the same catalog columns (bench only). */
async function statementLevelSql(c: pg.Client): Promise<string> {
  const { rows } = await c.query<{ column_name: string; compare_as_text: boolean }>(
    `select column_name, compare_as_text from scrapeguard.event_revision_columns() where tracked and column_name <> 'id'`,
  );
  const q = (s: string) => pg.escapeIdentifier(s);
  const lit = (s: string) => pg.escapeLiteral(s);
  const cmp = (r: { column_name: string; compare_as_text: boolean }, a: string, b: string) =>
    r.compare_as_text
      ? `${a}.${q(r.column_name)}::text is distinct from ${b}.${q(r.column_name)}::text`
      : `${a}.${q(r.column_name)} is distinct from ${b}.${q(r.column_name)}`;
  const names = rows.map((r) => `case when ${cmp(r, '(c.o)', '(c.n)')} then ${lit(r.column_name)} end`).join(',\n ');
  const valueCase = (rec: string) =>
    rows.map((r) => `when ${lit(r.column_name)} then pg_catalog.to_jsonb(${rec}.${q(r.column_name)})`).join(' ');
  const anyChange = rows.map((r) => cmp(r, 'o', 'n')).join(' or ');
  return `
create or replace function scrapeguard.bench_statement_level_update() returns trigger
  language plpgsql security definer set search_path = '' as $fn$
declare
  v_at timestamptz := scrapeguard.clock();
  v_run uuid := scrapeguard.current_change_run_id();
  v_actor text := scrapeguard.current_change_actor();
  v_n bigint;
begin
  with changed as materialized (
    select o, n from old_rows o join new_rows n on n.id = o.id where ${anyChange}
  ),
  fields as (
    select (c.n).id as event_id, f.name,
           case f.name ${valueCase('(c.o)')} end as ov,
           case f.name ${valueCase('(c.n)')} end as nv
      from changed c
      cross join lateral pg_catalog.unnest(array[${names}]) as f(name)
     where f.name is not null
  ),
  revs as (
    select d.event_id,
           coalesce((select max(r.revision) from public.event_revisions r where r.event_id = d.event_id), 0) + 1 as rev
      from (select distinct f.event_id from fields f) d
  ),
  ins as (
    insert into public.event_revisions (event_id, revision, operation, field_name, old_value, new_value, changed_at, run_id, actor)
    select f.event_id, v.rev, 'update', f.name, f.ov, f.nv, v_at, v_run, v_actor
      from fields f join revs v using (event_id)
    returning event_id, revision, field_name
  )
  select count(pg_catalog.pg_notify('scrapeguard_event_changes',
           pg_catalog.format('{"event_id":"%s","revision":%s,"operation":"update","fields":%s}', x.event_id, x.revision, x.fields)))
    into v_n
    from (select i.event_id, i.revision, pg_catalog.json_agg(i.field_name) as fields from ins i group by 1, 2) x;
  return null;
end
$fn$`;
}

/** The floor (bench only): the same WHEN clause, and one constant row into a bare table. */
const FLOOR_SQL = `
create table if not exists scrapeguard.bench_floor (event_id uuid, note text);
create or replace function scrapeguard.bench_floor_update() returns trigger
  language plpgsql security definer set search_path = '' as $fn$
begin
  insert into scrapeguard.bench_floor (event_id, note) values (new.id, 'changed');
  return null;
end
$fn$`;

const OUR_TRIGGERS = ['_scrapeguard_event_revisions_update', '_scrapeguard_event_revisions_insert_delete', '_scrapeguard_event_revisions_truncate'];

/** Loads the peer into this database (its own schema, audit); false when the file is absent. */
async function loadPeer(c: pg.Client): Promise<boolean> {
  if (!existsSync(PEER_FILE)) return false;
  await c.query('create schema if not exists extensions');
  await c.query('create extension if not exists "uuid-ossp" with schema extensions');
  // Its row trigger calls uuid_generate_v5 unqualified, as on Supabase where extensions is on the path.
  await c.query('set search_path = public, extensions');
  await c.query(readFileSync(PEER_FILE, 'utf8'));
  return true;
}

let peerLoaded = false;

async function setMode(c: pg.Client, mode: Mode): Promise<void> {
  if (peerLoaded) await c.query(`select audit.disable_tracking('public.events'::regclass)`);
  await c.query('drop trigger if exists zz_bench_statement_level on public.events');
  await c.query('drop trigger if exists zz_bench_floor on public.events');
  for (const t of OUR_TRIGGERS) await c.query(`drop trigger if exists ${t} on public.events`);
  if (mode === 'with') {
    await c.query('select scrapeguard.refresh_event_revision_trigger()');
  } else if (mode === 'supa_audit') {
    await c.query(`select audit.enable_tracking('public.events'::regclass)`);
  } else if (mode === 'statement-level') {
    await c.query('select scrapeguard.refresh_event_revision_trigger()');
    await c.query('drop trigger _scrapeguard_event_revisions_update on public.events');
    await c.query(
      `create trigger zz_bench_statement_level after update on public.events
         referencing old table as old_rows new table as new_rows
         for each statement execute function scrapeguard.bench_statement_level_update()`,
    );
  } else if (mode === 'floor') {
    // The generated WHEN clause, borrowed from a freshly generated trigger.
    await c.query('select scrapeguard.refresh_event_revision_trigger()');
    const { rows } = await c.query<{ def: string }>(
      `select pg_get_triggerdef(oid) as def from pg_trigger
        where tgrelid = 'public.events'::regclass and tgname = '_scrapeguard_event_revisions_update'`,
    );
    const when = /\bWHEN (\(.*\)) EXECUTE FUNCTION\b/s.exec(rows[0]?.def ?? '')?.[1];
    if (!when) throw new Error(`no WHEN clause in the generated update trigger: ${rows[0]?.def}`);
    for (const t of OUR_TRIGGERS) await c.query(`drop trigger if exists ${t} on public.events`);
    await c.query(
      `create trigger zz_bench_floor after update on public.events
         for each row when ${when} execute function scrapeguard.bench_floor_update()`,
    );
  }
}

interface Workload {
  key: string;
  label: string;
  goal: number;
  unit: string;
  /** Modes not worth running for this workload (default: every mode asked for runs). */
  skip?: Mode[];
  /** Run with a change context set: a real run of the fleet named in scrapeguard.run_id for the session. */
  context?: boolean;
  /** Runs the workload (n: statements for the single-row ones); returns the statements executed. */
  run: (s: Session, ids: string[], k: number, n?: number) => Promise<number>;
}

const workloads: Workload[] = [
  {
    key: 'a',
    label: '(a) noise-only re-scrape, one UPDATE of every row',
    goal: 1.1,
    unit: 'ms',
    // The floor has the same WHEN clause and never fires here: nothing to learn.
    skip: ['floor'],
    run: async (s, _ids, k) => {
      await s.c.query(`update public.events set last_scraped_at = $1::timestamptz, scrape_hash = md5(id::text || $2)`, [
        new Date(Date.UTC(2026, 0, 1) + k * 60_000).toISOString(),
        String(k),
      ]);
      return 1;
    },
  },
  {
    key: 'b',
    label: '(b) two fields of every row changed, one UPDATE',
    goal: 3,
    unit: 'ms',
    run: async (s, _ids, k) => {
      await s.c.query(`update public.events set title = 'Event ' || $1 || ' ' || left(id::text, 8), price_range = array[$1::int, $1::int + 100]`, [k]);
      return 1;
    },
  },
  {
    key: 'c',
    label: '(c) single-row updates changing two fields, one autocommit statement each',
    goal: 1.2,
    unit: 'µs/statement',
    run: async (s, ids, k, n = SINGLE) => {
      for (let i = 0; i < n; i++) {
        await s.c.query({
          name: 'bench-c',
          text: `update public.events set title = $2, price_range = array[$3::int, 500] where id = $1`,
          values: [ids[(i * 7919 + k * 104_729) % ids.length], `Renamed ${k}-${i}`, (k % 10_000) * 10_000 + i],
        });
      }
      return n;
    },
  },
  {
    key: 'd-bulk',
    label: '(d) two fields of every row changed, one UPDATE, with a change context (a real run_id)',
    goal: 3,
    unit: 'ms',
    context: true,
    skip: ['statement-level', 'floor'],
    run: async (s, _ids, k) => {
      await s.c.query(`update public.events set title = 'Event ' || $1 || ' ' || left(id::text, 8), price_range = array[$1::int, $1::int + 100]`, [k]);
      return 1;
    },
  },
  {
    key: 'd-single',
    label: '(d) single-row updates changing two fields, one autocommit statement each, with a change context (a real run_id)',
    goal: 1.2,
    unit: 'µs/statement',
    context: true,
    skip: ['statement-level', 'floor'],
    run: async (s, ids, k, n = SINGLE) => {
      for (let i = 0; i < n; i++) {
        await s.c.query({
          name: 'bench-d',
          text: `update public.events set title = $2, price_range = array[$3::int, 500] where id = $1`,
          values: [ids[(i * 7919 + k * 104_729) % ids.length], `Run-renamed ${k}-${i}`, (k % 10_000) * 10_000 + i],
        });
      }
      return n;
    },
  },
  {
    key: 'c-noise',
    label: '(c) single-row noise-only re-scrapes, one autocommit statement each',
    goal: 1.5,
    unit: 'µs/statement',
    skip: ['floor', 'supa_audit'],
    run: async (s, ids, k, n = SINGLE) => {
      for (let i = 0; i < n; i++) {
        await s.c.query({
          name: 'bench-c-noise',
          text: `update public.events set last_scraped_at = $2, scrape_hash = $3 where id = $1`,
          values: [ids[(i * 7919 + k * 104_729) % ids.length], new Date(Date.UTC(2026, 1, 1) + k * 1000 + i).toISOString(), `h${k}-${i}`],
        });
      }
      return n;
    },
  },
];

async function loadEvents(s: Session): Promise<string[]> {
  await s.c.query(
    `insert into public.events (title, description, start_time, end_time, status, source_url, source_type, price_range, tags)
     select 'Event ' || g, 'Description of event ' || g || ', scraped from its source page.',
            '2026-03-01'::timestamptz + g * interval '7 minutes', '2026-03-01'::timestamptz + g * interval '7 minutes' + interval '2 hours',
            'published', 'https://example.com/events/' || g, 'scraped', array[g % 500, g % 500 + 100], array['music', 'tag' || (g % 20)]
       from generate_series(1, $1::int) g`,
    [EVENTS],
  );
  await s.c.query('vacuum analyze public.events');
  await s.c.query('vacuum analyze public.event_revisions');
  // Settle: the first whole-table updates after a bulk load move every row to new
  // pages; measure from the steady state that later updates see.
  for (let i = 0; i < 2; i++) {
    await s.c.query(`update public.events set last_scraped_at = clock_timestamp()`);
    await s.c.query('vacuum public.events');
  }
  const { rows } = await s.c.query<{ id: string }>('select id from public.events');
  return rows.map((r) => r.id);
}

async function benchSchema(
  schema: string,
  url: string,
  local: boolean,
  modes: Mode[],
): Promise<{ out: SchemaResult[]; asOf: AsOfResult }> {
  const s = await Session.open(url, local);
  try {
    await s.c.query(await statementLevelSql(s.c));
    await s.c.query(FLOOR_SQL);
    peerLoaded = await loadPeer(s.c);
    if (!peerLoaded) process.stdout.write(`  ${schema}: peer not available (${PEER_FILE} absent): supa_audit rows left out\n`);
    modes = modes.filter((m) => m !== 'supa_audit' || peerLoaded);
    await setMode(s.c, 'with');
    const t0 = performance.now();
    const ids = await loadEvents(s);
    process.stdout.write(`  ${schema}: ${ids.length} events loaded (${Math.round(performance.now() - t0)} ms)\n`);
    // A real run for the change context of the (d) workloads: its row is what run_id's foreign key checks.
    const { rows: src } = await s.c.query<{ id: string }>(
      `insert into public.event_sources (name, base_url) values ('bench', 'https://listings.example') returning id`,
    );
    const { rows: run } = await s.c.query<{ id: string }>(`select public.start_run($1, 'feed') as id`, [src[0]!.id]);
    const runId = run[0]!.id;
    const out: SchemaResult[] = [];
    let k = 1;
    for (const w of ONLY_ASOF ? [] : workloads) {
      const wModes = modes.filter((m) => !w.skip?.includes(m));
      const per: Record<Mode, Measure[]> = { without: [], with: [], supa_audit: [], 'statement-level': [], floor: [] };
      // Session-wide, as a scraper that names its run once per connection; every mode writes under it.
      await s.c.query(`select set_config('scrapeguard.run_id', $1, false)`, [w.context ? runId : '']);
      const reps = w.unit === 'ms' ? REPS : SINGLE_REPS;
      // Single-row workloads: one untimed pass per mode first (the first measurement
      // after loading ran slower whichever mode it was).
      if (w.unit !== 'ms') {
        for (const mode of wModes) {
          await setMode(s.c, mode);
          await w.run(s, ids, k + 2_000_000, SINGLE);
        }
      }
      for (let rep = 0; rep < reps; rep++) {
        // Alternate the order so that neither mode always runs first after a vacuum.
        for (const mode of rep % 2 === 0 ? wModes : [...wModes].reverse()) {
          await setMode(s.c, mode);
          // Switching modes is DDL on events: let plans and caches warm up first.
          if (w.unit !== 'ms') await w.run(s, ids, k + 1_000_000, 50);
          // Bulk workloads: two whole-table UPDATEs per measurement (see the header).
          const parts = w.unit === 'ms' ? 2 : 1;
          const sum: Measure = { wallMs: 0, cpuMs: 0 };
          let statements = 0;
          for (let part = 0; part < parts; part++) {
            k += 1;
            const m = await s.time(async () => {
              statements += await w.run(s, ids, k);
            });
            sum.wallMs += m.wallMs;
            sum.cpuMs = sum.cpuMs === null || m.cpuMs === null ? null : sum.cpuMs + m.cpuMs;
            await s.c.query('vacuum public.events');
            await s.c.query('vacuum public.event_revisions');
          }
          // Per UPDATE (bulk) or per 1,000 statements → µs per statement.
          const scale = w.unit === 'ms' ? 1 / statements : 1000 / statements;
          per[mode].push({ wallMs: sum.wallMs * scale, cpuMs: sum.cpuMs === null ? null : sum.cpuMs * scale });
        }
      }
      for (const mode of wModes.filter((x) => x !== 'without')) {
        const ratios = per[mode].map((m, i) => m.wallMs / per.without[i]!.wallMs);
        const cpuRatios = per[mode].flatMap((m, i) => {
          const b = per.without[i]!.cpuMs;
          return m.cpuMs === null || b === null || b === 0 ? [] : [m.cpuMs / b];
        });
        out.push({
          key: w.key,
          mode,
          ratios,
          cpuRatios,
          base: per.without.map((m) => m.wallMs),
          with: per[mode].map((m) => m.wallMs),
        });
        process.stdout.write(
          `  ${schema} ${w.key.padEnd(8)} ${mode.padEnd(16)} ratio ${round(median(ratios)).toFixed(2)}×` +
            (cpuRatios.length ? ` (cpu ${round(median(cpuRatios)).toFixed(2)}×)` : '') +
            `  [${per.without.map((m) => round(m.wallMs, 0)).join(' ')} → ${per[mode].map((m) => round(m.wallMs, 0)).join(' ')} ${w.unit}]\n`,
        );
      }
    }
    await s.c.query(`select set_config('scrapeguard.run_id', '', false)`);
    await setMode(s.c, 'with');
    {
      const { rows } = await s.c.query<{ n: string }>('select count(*) as n from public.event_revisions where run_id = $1', [runId]);
      process.stdout.write(`  ${schema}: ${rows[0]!.n} revision rows attributed to the run\n`);
    }
    if (ONLY_ASOF) {
      const b = workloads.find((w) => w.key === 'b')!;
      for (let i = 1; i <= ASOF_UPDATES; i++) await b.run(s, ids, i);
    }
    const asOf = await benchAsOf(s, schema);
    return { out, asOf };
  } finally {
    await s.c.end();
  }
}

interface SchemaResult {
  key: string;
  mode: Mode;
  ratios: number[];
  cpuRatios: number[];
  base: number[];
  with: number[];
}

interface AsOfResult {
  ratios: number[];
  readMs: number[];
  asOfMs: number[];
  /** The floors, each in the same rounds: one hash aggregate pass, and the row conversion alone. */
  aggMs: number[];
  populateMs: number[];
  events: number;
  revisions: number;
}

/**
 * (e) The whole calendar as of a time against a sequential read of all of event_revisions,
 * alternating, both counted on the server (no rows sent), in the same session.
 */
async function benchAsOf(s: Session, schema: string): Promise<AsOfResult> {
  await s.c.query('vacuum analyze public.event_revisions');
  const { rows: n } = await s.c.query<{ events: string; revisions: string }>(
    `select (select count(*) from public.events) as events, (select count(*) from public.event_revisions) as revisions`,
  );
  const read = async () => {
    await s.c.query('select count(*) from (select * from public.event_revisions offset 0) r');
  };
  const asOf = async () => {
    await s.c.query('select count(*) from (select * from public.events_as_of(now()) offset 0) e');
  };
  // Floors: the least any set-based events_as_of does — group the history by event once
  // (the target revision per event), and turn one whole-row image per event into a row.
  const agg = async () => {
    await s.c.query(
      `select count(x.target) from (select r.event_id, max(r.revision) filter (where r.changed_at <= now()) as target
                                      from public.event_revisions r group by r.event_id offset 0) x`,
    );
  };
  const populate = async () => {
    await s.c.query(
      `select count(e.*) from public.event_revisions r
        cross join lateral jsonb_populate_record(null::public.events, r.new_value) e
        where r.field_name is null and r.operation <> 'delete'`,
    );
  };
  const all = [read, asOf, agg, populate];
  for (const f of all) await f();
  const ms = new Map<() => Promise<void>, number[]>(all.map((f) => [f, []]));
  for (let rep = 0; rep < ASOF_REPS; rep++) {
    for (const f of rep % 2 === 0 ? all : [...all].reverse()) ms.get(f)!.push((await s.time(f)).wallMs);
  }
  const [readMs, asOfMs, aggMs, populateMs] = all.map((f) => ms.get(f)!) as [number[], number[], number[], number[]];
  const ratios = asOfMs.map((x, i) => x / readMs[i]!);
  const of = (xs: number[]) => round(median(xs.map((x, i) => x / readMs[i]!))).toFixed(2);
  process.stdout.write(
    `  ${schema} e        events_as_of     ratio ${round(median(ratios)).toFixed(2)}×  [${readMs.map((x) => round(x, 0)).join(' ')} → ${asOfMs.map((x) => round(x, 0)).join(' ')} ms]` +
      `; floors: one aggregate pass ${of(aggMs)}×, row conversion ${of(populateMs)}×\n`,
  );
  return { ratios, readMs, asOfMs, aggMs, populateMs, events: Number(n[0]!.events), revisions: Number(n[0]!.revisions) };
}

async function appSchemaDatabase(urls: { app: string; admin: string }) {
  const db = await copyTemplate(urls, BARE_TEMPLATE);
  const c = new pg.Client({ connectionString: db.appUrl });
  await c.connect();
  try {
    await c.query('begin');
    await c.query(readFileSync(join(PROJECT_ROOT, 'tests', 'fixtures', 'app-schema.sql'), 'utf8'));
    await c.query('commit');
    await migrate(db.appUrl, { quiet: true });
    await applyCurrent(db.appUrl);
  } finally {
    await c.end();
  }
  return db;
}

/**
 * BENCH_BREAKDOWN=1: where a changed event's time goes, found by removing one part at a
 * time from the shipped triggers (an ablation) on the base schema, for (b)'s bulk
 * two-field change. Every configuration is measured from the same state (event_revisions
 * reset to one baseline row per event before each measurement), the configurations
 * alternate within each repetition, and a part's cost is the median over repetitions of
 * (time with it − time without it) per changed event. The attribution parts (the run_id
 * foreign key and index) are measured with a change context (a real run_id). Then, for
 * (c), client-observed single-row statements: bare, a trigger with the same WHEN clause
 * whose function only returns (the floor of any WHEN-clause row trigger), and ours.
 * Prints a table; writes nothing.
 */
const BREAKDOWN = process.env.BENCH_BREAKDOWN === '1';
const BREAKDOWN_REPS = Number(process.env.BENCH_BREAKDOWN_REPS ?? 9);
/**
 * Optional, for a breakdown that other work on the machine cannot blur: the server runs
 * under valgrind's callgrind, collecting only inside statements and commits
 * (valgrind --tool=callgrind --collect-atstart=no --toggle-collect=PortalRun
 *  --toggle-collect=CommitTransactionCommand --callgrind-out-file=<dir>/pg.%p postgres …),
 * and a configuration's count is that of a connection running the warm-up and the two
 * UPDATEs less that of one running the warm-up alone (each backend writes its total
 * when it exits). Used with BENCH_BREAKDOWN_URL / BENCH_BREAKDOWN_ADMIN_URL: a migrated
 * database on that server (as the app's role, and as a superuser for the publication),
 * whose events are replaced. Counts vary far less than times (a configuration measured twice
 * differs by up to ~25k instructions per changed event, as the state of the tables moves on),
 * so one repetition, each part as an adjacent pair.
 */
const CALLGRIND_DIR = process.env.BENCH_CALLGRIND_DIR;

/** The instructions callgrind collected in a backend that has exited (its file <dir>/pg.<pid>). */
async function backendInstructions(pid: number): Promise<number> {
  const file = join(CALLGRIND_DIR!, `pg.${pid}`);
  for (let i = 0; i < 600; i++) {
    const total = existsSync(file) ? /^totals: (\d+)/m.exec(readFileSync(file, 'utf8')) : null;
    if (total) return Number(total[1]);
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`no callgrind totals in ${file}`);
}
const BREAKDOWN_URL = process.env.BENCH_BREAKDOWN_URL;
const BREAKDOWN_ADMIN_URL = process.env.BENCH_BREAKDOWN_ADMIN_URL ?? BREAKDOWN_URL;
/** Optional: a file with an earlier generated event_revisions_on_update(), measured against today's (base schema only). */
const PREVIOUS_UPDATE_FN = process.env.BENCH_PREVIOUS_UPDATE_FN;

/** The generated update function's source, edited (bench only: the refresh restores it). */
async function editUpdateFunction(c: pg.Client, edit: (src: string) => string): Promise<void> {
  const { rows } = await c.query<{ src: string }>(
    `select prosrc as src from pg_proc where oid = 'scrapeguard.event_revisions_on_update()'::regprocedure`,
  );
  const src = rows[0]!.src;
  const edited = edit(src);
  if (edited === src) throw new Error('breakdown: the edit changed nothing in event_revisions_on_update()');
  await c.query(
    `create or replace function scrapeguard.event_revisions_on_update() returns trigger
       language plpgsql volatile security definer set search_path = '' as ${pg.escapeLiteral(edited)}`,
  );
}

interface Config {
  key: string;
  /** Measured with a change context (scrapeguard.run_id names a real run). */
  context?: boolean;
  /** Trigger mode to start from. */
  mode: Mode;
  setup?: (c: pg.Client, admin: pg.Client) => Promise<void>;
  teardown?: (c: pg.Client, admin: pg.Client) => Promise<void>;
}

/** Statements that put a dropped part of event_revisions back; read from the catalog before the first drop. */
async function constraintDef(c: pg.Client, name: string): Promise<string> {
  const { rows } = await c.query<{ def: string }>(
    `select pg_get_constraintdef(oid) as def from pg_constraint
      where conrelid = 'public.event_revisions'::regclass and conname = $1`,
    [name],
  );
  if (!rows[0]) throw new Error(`breakdown: no constraint ${name} on event_revisions`);
  return `alter table public.event_revisions add constraint ${name} ${rows[0].def}`;
}

async function indexDef(c: pg.Client, name: string): Promise<string> {
  const { rows } = await c.query<{ def: string }>(`select pg_get_indexdef($1::regclass) as def`, [`public.${name}`]);
  return rows[0]!.def;
}

interface BreakdownPart {
  label: string;
  /** Configuration with the part, and the one without it. */
  withPart: string;
  withoutPart: string;
}

async function benchBreakdown(urls: { appUrl: string; adminUrl: string }, local: boolean): Promise<void> {
  const s = await Session.open(urls.appUrl, local);
  const admin = new pg.Client({ connectionString: urls.adminUrl });
  await admin.connect();
  try {
    await s.c.query(FLOOR_SQL);
    await setMode(s.c, 'with');
    const ids = await loadEvents(s);
    const { rows: src } = await s.c.query<{ id: string }>(
      `insert into public.event_sources (name, base_url) values ('bench', 'https://listings.example') returning id`,
    );
    const { rows: run } = await s.c.query<{ id: string }>(`select public.start_run($1, 'feed') as id`, [src[0]!.id]);
    const runId = run[0]!.id;
    const pkey = await constraintDef(s.c, 'event_revisions_pkey');
    const unique = await constraintDef(s.c, 'event_revisions_one_row_per_field');
    const check = await constraintDef(s.c, 'event_revisions_well_formed');
    const fkey = await constraintDef(s.c, 'event_revisions_run_id_fkey');
    const brin = await indexDef(s.c, 'event_revisions_changed_at_brin');
    const runIdx = await indexDef(s.c, 'event_revisions_run_id_idx');
    const inPublication = async () =>
      (await admin.query(`select from pg_publication_tables where pubname = 'supabase_realtime' and tablename = 'event_revisions'`))
        .rowCount === 1;
    const published = await inPublication();
    // The revision number read from a setting raised before every UPDATE: no lookup, still unique per event.
    const noLookup = (src: string) =>
      src.replace(
        /select r\.revision \+ 1 into v_rev\n\s*from public\.event_revisions r where r\.event_id = new\.id\n\s*order by r\.revision desc limit 1;\n(?=\s*if v_rev is null then)/,
        `v_rev := pg_catalog.current_setting('bench.rev')::pg_catalog.int4;\n`,
      );
    const noNotify = (src: string) => src.replace(/\n\s*if pg_catalog\.pg_notify\([\s\S]*?end if;/g, '');
    const configs: Config[] = [
      { key: 'bare', mode: 'without' },
      { key: 'call', mode: 'with', setup: (c) => editUpdateFunction(c, () => '\nbegin\n  return null;\nend\n') },
      {
        key: 'compare',
        mode: 'with',
        setup: (c) => editUpdateFunction(c, (x) => x.replace('if v_fields is null then', 'if true then')),
      },
      { key: 'full', mode: 'with' },
      { key: 'no lookup', mode: 'with', setup: (c) => editUpdateFunction(c, noLookup) },
      {
        key: 'no lookup, no unique',
        mode: 'with',
        setup: async (c) => {
          await editUpdateFunction(c, noLookup);
          await c.query('alter table public.event_revisions drop constraint event_revisions_one_row_per_field');
        },
        teardown: (c) => c.query(unique).then(() => undefined),
      },
      { key: 'no notify', mode: 'with', setup: (c) => editUpdateFunction(c, noNotify) },
      {
        key: 'no pkey',
        mode: 'with',
        setup: (c) => c.query('alter table public.event_revisions drop constraint event_revisions_pkey').then(() => undefined),
        teardown: (c) => c.query(pkey).then(() => undefined),
      },
      {
        key: 'no brin',
        mode: 'with',
        setup: (c) => c.query('drop index public.event_revisions_changed_at_brin').then(() => undefined),
        teardown: (c) => c.query(brin).then(() => undefined),
      },
      {
        key: 'no check',
        mode: 'with',
        setup: (c) => c.query('alter table public.event_revisions drop constraint event_revisions_well_formed').then(() => undefined),
        teardown: (c) => c.query(check).then(() => undefined),
      },
      ...(published
        ? [
            {
              key: 'no publication',
              mode: 'with' as const,
              setup: (_c: pg.Client, a: pg.Client) =>
                a.query('alter publication supabase_realtime drop table public.event_revisions').then(() => undefined),
              teardown: (_c: pg.Client, a: pg.Client) =>
                a.query('alter publication supabase_realtime add table public.event_revisions').then(() => undefined),
            },
          ]
        : []),
      {
        // Candidate: the same rules as an inline expression (no function call per row).
        key: 'inline check',
        mode: 'with',
        setup: async (c) => {
          await c.query('alter table public.event_revisions drop constraint event_revisions_well_formed');
          await c.query(`alter table public.event_revisions add constraint event_revisions_well_formed check (
            revision >= 1 and case operation
              when 'update' then field_name is not null
              when 'delete' then field_name is null and old_value is not null and new_value is null
              when 'insert' then field_name is null and old_value is null and new_value is not null
              when 'baseline' then field_name is null and old_value is null and new_value is not null
              else false end)`);
        },
        teardown: async (c) => {
          await c.query('alter table public.event_revisions drop constraint event_revisions_well_formed');
          await c.query(check);
        },
      },
      // Notification settings (scrapeguard.event_notifications; unknown values notify per change).
      {
        key: 'notifications off',
        mode: 'with',
        setup: (c) => c.query(`select set_config('scrapeguard.event_notifications', 'off', false)`).then(() => undefined),
        teardown: (c) => c.query(`select set_config('scrapeguard.event_notifications', '', false)`).then(() => undefined),
      },
      {
        key: 'notifications per statement',
        mode: 'with',
        setup: (c) => c.query(`select set_config('scrapeguard.event_notifications', 'statement', false)`).then(() => undefined),
        teardown: (c) => c.query(`select set_config('scrapeguard.event_notifications', '', false)`).then(() => undefined),
      },
      ...(PREVIOUS_UPDATE_FN
        ? [
            {
              // An earlier generated update function (a file of its CREATE FUNCTION), on today's table.
              key: 'previous update function',
              mode: 'with' as const,
              setup: (c: pg.Client) => c.query(readFileSync(PREVIOUS_UPDATE_FN, 'utf8')).then(() => undefined),
            },
          ]
        : []),
      {
        // Candidate: the rules in a PL/pgSQL function of the columns it reads (no whole-row value).
        key: 'scalar check',
        mode: 'with',
        setup: async (c) => {
          await c.query(`create or replace function scrapeguard.bench_revision_is_well_formed(
              revision integer, operation text, field_name text, no_old boolean, no_new boolean)
            returns boolean language plpgsql immutable set search_path = '' as $fn$
            begin
              return revision >= 1 and case operation
                when 'update' then field_name is not null
                when 'delete' then field_name is null and not no_old and no_new
                when 'insert' then field_name is null and no_old and not no_new
                when 'baseline' then field_name is null and no_old and not no_new
                else false end;
            end $fn$`);
          await c.query('alter table public.event_revisions drop constraint event_revisions_well_formed');
          await c.query(`alter table public.event_revisions add constraint event_revisions_well_formed check (
            scrapeguard.bench_revision_is_well_formed(revision, operation, field_name, old_value is null, new_value is null))`);
        },
        teardown: async (c) => {
          await c.query('alter table public.event_revisions drop constraint event_revisions_well_formed');
          await c.query(check);
        },
      },
      { key: 'run: full', mode: 'with', context: true },
      {
        key: 'run: no fkey',
        mode: 'with',
        context: true,
        setup: (c) => c.query('alter table public.event_revisions drop constraint event_revisions_run_id_fkey').then(() => undefined),
        teardown: (c) => c.query(fkey).then(() => undefined),
      },
      {
        key: 'run: no run_id index',
        mode: 'with',
        context: true,
        setup: (c) => c.query('drop index public.event_revisions_run_id_idx').then(() => undefined),
        teardown: (c) => c.query(runIdx).then(() => undefined),
      },
    ];
    const parts: BreakdownPart[] = [
      { label: 'everything (the trigger against a bare UPDATE)', withPart: 'full', withoutPart: 'bare' },
      { label: 'trigger call (WHEN clause true, function returns at once)', withPart: 'call', withoutPart: 'bare' },
      { label: 'field comparisons, changed values to jsonb (PL/pgSQL set-up included)', withPart: 'compare', withoutPart: 'call' },
      { label: 'revision number lookup (the last revision through the unique index)', withPart: 'full', withoutPart: 'no lookup' },
      { label: 'unique index (event_id, revision, field_name)', withPart: 'no lookup', withoutPart: 'no lookup, no unique' },
      { label: 'identity primary key index', withPart: 'full', withoutPart: 'no pkey' },
      { label: 'BRIN index on changed_at', withPart: 'full', withoutPart: 'no brin' },
      { label: 'CHECK event_revisions_well_formed', withPart: 'full', withoutPart: 'no check' },
      { label: 'pg_notify per changed event (sent at commit)', withPart: 'full', withoutPart: 'no notify' },
      { label: 'candidate: the CHECK as it is rather than inline', withPart: 'full', withoutPart: 'inline check' },
      { label: 'candidate: the CHECK as it is rather than a function of five scalars', withPart: 'full', withoutPart: 'scalar check' },
      { label: 'setting: notifications per change rather than off', withPart: 'full', withoutPart: 'notifications off' },
      { label: 'setting: notifications per change rather than per statement', withPart: 'full', withoutPart: 'notifications per statement' },
      ...(PREVIOUS_UPDATE_FN
        ? [{ label: `the update function of ${PREVIOUS_UPDATE_FN} rather than today's`, withPart: 'previous update function', withoutPart: 'full' }]
        : []),
      ...(published ? [{ label: 'supabase_realtime publication membership (wal_level logical)', withPart: 'full', withoutPart: 'no publication' }] : []),
      { label: 'with a change context: everything run_id adds', withPart: 'run: full', withoutPart: 'full' },
      { label: 'with a change context: run_id foreign key', withPart: 'run: full', withoutPart: 'run: no fkey' },
      { label: 'with a change context: partial run_id index', withPart: 'run: full', withoutPart: 'run: no run_id index' },
    ];
    const reset = async () => {
      await s.c.query('truncate public.event_revisions');
      await s.c.query(
        `insert into public.event_revisions (event_id, revision, operation, new_value, changed_at)
         select e.id, 1, 'baseline', to_jsonb(e), now() from public.events e`,
      );
      await s.c.query('vacuum analyze public.event_revisions');
      await s.c.query('vacuum public.events');
    };
    const byKey = new Map(configs.map((x) => [x.key, x]));
    let k = 1;
    /** One measurement of a configuration from the reset state: µs per changed event, wall and backend CPU. */
    const measured = new Map<string, { wall: number; cpu: number | null; ir: number | null }>();
    const measure = async (cfg: Config): Promise<{ wall: number; cpu: number | null; ir: number | null }> => {
      await setMode(s.c, cfg.mode);
      await s.c.query(`select set_config('scrapeguard.run_id', $1, false)`, [cfg.context ? runId : '']);
      await cfg.setup?.(s.c, admin);
      await reset();
      if (CALLGRIND_DIR) {
        const ir = await instructionsPerEvent(cfg);
        await cfg.teardown?.(s.c, admin);
        measured.set(cfg.key, { wall: 0, cpu: null, ir });
        return measured.get(cfg.key)!;
      }
      // Warm up after the DDL: the function's compilation, its plans and the CHECK's.
      k += 1;
      await s.c.query(`select set_config('bench.rev', $1, false)`, [String(1_000 + k)]);
      await s.c.query(
        `update public.events set title = 'Warm ' || $1, price_range = array[$1::int, 0] where id = any($2::uuid[])`,
        [k, ids.slice(0, 200)],
      );
      let wall = 0;
      let cpu: number | null = 0;
      for (let part = 0; part < 2; part++) {
        k += 1;
        await s.c.query(`select set_config('bench.rev', $1, false)`, [String(1_000 + k)]);
        const m = await s.time(async () => {
          await workloads.find((w) => w.key === 'b')!.run(s, ids, k);
        });
        wall += (m.wallMs * 1000) / ids.length / 2;
        cpu = cpu === null || m.cpuMs === null ? null : cpu + (m.cpuMs * 1000) / ids.length / 2;
        await s.c.query('vacuum public.events');
      }
      await cfg.teardown?.(s.c, admin);
      measured.set(cfg.key, { wall, cpu, ir: null });
      return { wall, cpu, ir: null };
    };
    /** Callgrind: (warm-up and two UPDATEs) − (warm-up alone), each in a connection of its own. */
    const instructionsPerEvent = async (cfg: Config): Promise<number> => {
      const notifications = (await s.c.query<{ v: string | null }>(`select current_setting('scrapeguard.event_notifications', true) as v`))
        .rows[0]!.v;
      const connection = async (updates: number): Promise<number> => {
        const c = new pg.Client({ connectionString: urls.appUrl });
        await c.connect();
        const pid = (await c.query<{ pid: number }>('select pg_backend_pid() as pid')).rows[0]!.pid;
        await c.query(`select set_config('scrapeguard.run_id', $1, false)`, [cfg.context ? runId : '']);
        await c.query(`select set_config('scrapeguard.event_notifications', $1, false)`, [notifications ?? '']);
        k += 1;
        await c.query(`select set_config('bench.rev', $1, false)`, [String(1_000 + k)]);
        await c.query(
          `update public.events set title = 'Warm ' || $1, price_range = array[$1::int, 0] where id = any($2::uuid[])`,
          [k, ids.slice(0, 200)],
        );
        for (let part = 0; part < 2; part++) {
          k += 1;
          await c.query(`select set_config('bench.rev', $1, false)`, [String(1_000 + k)]);
          if (part < updates) await workloads.find((w) => w.key === 'b')!.run({ c } as Session, ids, k);
        }
        await c.end();
        return backendInstructions(pid);
      };
      const warm = await connection(0);
      const both = await connection(2);
      return (both - warm) / ids.length / 2;
    };
    // Each part as an adjacent pair (with it, without it), the order alternating, so that
    // the load of a shared machine drifting over minutes cancels out of the difference.
    const diffs = new Map<BreakdownPart, { wall: number[]; cpu: number[]; withWall: number[]; a: number[]; b: number[]; ir: number[] }>();
    // BENCH_BREAKDOWN_SINGLE_ONLY=1: only the client-observed single-row rows (the bulk ablation takes long).
    const bulkReps = CALLGRIND_DIR ? 1 : process.env.BENCH_BREAKDOWN_SINGLE_ONLY === '1' ? 0 : BREAKDOWN_REPS;
    for (let rep = 0; rep < bulkReps; rep++) {
      for (const p of parts) {
        const pair = [byKey.get(p.withPart)!, byKey.get(p.withoutPart)!];
        const got: Record<string, { wall: number; cpu: number | null; ir: number | null }> = {};
        for (const cfg of (rep + parts.indexOf(p)) % 2 === 0 ? pair : [...pair].reverse()) got[cfg.key] = await measure(cfg);
        const a = got[p.withPart]!;
        const b = got[p.withoutPart]!;
        const d = diffs.get(p) ?? { wall: [], cpu: [], withWall: [], a: [], b: [], ir: [] };
        if (a.ir !== null && b.ir !== null) {
          d.ir.push(a.ir - b.ir);
          diffs.set(p, d);
          process.stdout.write(`  breakdown ${p.label}: ${Math.round(a.ir)} − ${Math.round(b.ir)} instructions per changed event\n`);
          continue;
        }
        d.wall.push(a.wall - b.wall);
        if (a.cpu !== null && b.cpu !== null) {
          d.a.push(a.cpu);
          d.b.push(b.cpu);
        }
        d.withWall.push(a.wall);
        if (a.cpu !== null && b.cpu !== null) d.cpu.push(a.cpu - b.cpu);
        diffs.set(p, d);
        process.stdout.write(
          `  breakdown rep ${rep + 1} ${p.label}: ${round(a.wall, 1)} − ${round(b.wall, 1)} µs wall` +
            (a.cpu !== null && b.cpu !== null ? `, ${round(a.cpu, 1)} − ${round(b.cpu, 1)} µs cpu` : '') +
            '\n',
        );
      }
    }
    await s.c.query(`select set_config('scrapeguard.run_id', '', false)`);
    await setMode(s.c, 'with');
    if (published && !(await inPublication())) throw new Error('breakdown: event_revisions left out of the publication');

    // (c): client-observed single-row statements, bare / the WHEN-clause floor / ours.
    const single = workloads.find((w) => w.key === 'c')!;
    const singleModes: { key: string; set: () => Promise<void> }[] = [
      { key: 'bare', set: () => setMode(s.c, 'without') },
      {
        key: 'call',
        set: async () => {
          await setMode(s.c, 'with');
          await editUpdateFunction(s.c, () => '\nbegin\n  return null;\nend\n');
        },
      },
      { key: 'full', set: () => setMode(s.c, 'with') },
    ];
    const perStmt: Record<string, number[]> = { bare: [], call: [], full: [] };
    for (let rep = 0; rep < (CALLGRIND_DIR ? 0 : SINGLE_REPS); rep++) {
      for (const m of rep % 2 === 0 ? singleModes : [...singleModes].reverse()) {
        await m.set();
        await single.run(s, ids, k + 3_000_000, 50);
        k += 1;
        const statements = async () => {
          await single.run(s, ids, k, SINGLE);
        };
        const t = await s.time(statements);
        perStmt[m.key]!.push((t.wallMs * 1000) / SINGLE);
      }
    }
    await setMode(s.c, 'with');

    if (CALLGRIND_DIR) {
      process.stdout.write(
        `\nCost breakdown in instructions (callgrind), (b) bulk two-field change on the base schema, ${ids.length} events:\n\n` +
          '| part | instructions per changed event |\n|---|---|\n',
      );
      for (const p of parts) process.stdout.write(`| ${p.label} | ${Math.round(diffs.get(p)!.ir[0]!)} |\n`);
      return;
    }
    const span = (xs: number[]) => (xs.length ? `${round(Math.min(...xs), 1)}…${round(Math.max(...xs), 1)}` : '—');
    const med = (xs: number[]) => (xs.length ? String(round(median(xs), 1)) : '—');
    const everything = diffs.get(parts[0]!) ?? { withWall: [] };
    if (bulkReps > 0) process.stdout.write(
      `\nCost breakdown, (b) bulk two-field change on the base schema, ${ids.length} events, ${BREAKDOWN_REPS} repetitions ` +
        `(ours ${med(everything.withWall)} µs per changed event, wall):\n\n` +
        '| part | µs per changed event: fastest with − fastest without (backend CPU) | median of paired differences, CPU (spread) | wall (spread) |\n|---|---|---|---|\n',
    );
    for (const p of bulkReps > 0 ? parts : []) {
      const d = diffs.get(p)!;
      // The fastest of each side: what is left when other work on the machine did not get in the way.
      const fastest = d.a.length ? String(round(Math.min(...d.a) - Math.min(...d.b), 1)) : '—';
      process.stdout.write(`| ${p.label} | ${fastest} | ${med(d.cpu)} (${span(d.cpu)}) | ${med(d.wall)} (${span(d.wall)}) |\n`);
    }
    const ratios = (a: string) => perStmt[a]!.map((x, i) => x / perStmt.bare![i]!);
    const ratio = (a: string) =>
      `${round(median(ratios(a))).toFixed(2)}×, ${round(Math.min(...ratios(a))).toFixed(2)}…${round(Math.max(...ratios(a))).toFixed(2)}`;
    process.stdout.write(
      `\n(c) single-row two-field change, client-observed, ${SINGLE_REPS} × ${SINGLE} statements: bare ${round(median(perStmt.bare!), 0)} µs; ` +
        `WHEN-clause trigger that only returns ${round(median(perStmt.call!), 0)} µs (${ratio('call')}: the floor); ` +
        `ours ${round(median(perStmt.full!), 0)} µs (${ratio('full')})\n`,
    );
  } finally {
    await admin.end();
    await s.c.end();
  }
}

async function main(): Promise<void> {
  const started = performance.now();
  if (BREAKDOWN && BREAKDOWN_URL) {
    // A database of a server started elsewhere (e.g. under callgrind): its events are replaced.
    const c = new pg.Client({ connectionString: BREAKDOWN_URL });
    await c.connect();
    await c.query('truncate public.events');
    await c.end();
    await benchBreakdown({ appUrl: BREAKDOWN_URL, adminUrl: BREAKDOWN_ADMIN_URL! }, false);
    return;
  }
  const server = await startTestServer();
  const dbs: { drop: () => Promise<void> }[] = [];
  try {
    const version = await buildTemplates(server.urls);
    process.stdout.write(
      `event revisions bench on ${version.split(' on ')[0]}, ${EVENTS} events, ` +
        `${REPS} repetitions (bulk), ${SINGLE_REPS} × ${SINGLE} statements (single-row)\n`,
    );
    const base = await copyTemplate(server.urls, MIGRATED_TEMPLATE);
    dbs.push(base);
    if (BREAKDOWN) {
      await benchBreakdown(base, !server.external);
      return;
    }
    const app = await appSchemaDatabase(server.urls);
    dbs.push(app);
    const local = !server.external;

    const extra: Mode[] = ALTERNATIVES ? ['statement-level', 'floor'] : [];
    const baseRun = await benchSchema('base schema', base.appUrl, local, ['without', 'with', 'supa_audit', ...extra]);
    const appRun = await benchSchema('app schema', app.appUrl, local, ['without', 'with', 'supa_audit']);
    const results = [
      ...baseRun.out.map((r) => ({ ...r, schema: 'base schema' })),
      ...appRun.out.map((r) => ({ ...r, schema: 'app schema' })),
    ];

    const rows: Row[] = [];
    for (const r of results) {
      const w = workloads.find((x) => x.key === r.key)!;
      const ratio = round(median(r.ratios));
      const cpuRatio = r.cpuRatios.length ? median(r.cpuRatios) : null;
      const cpu = cpuRatio !== null ? `cpu-time ratio ${round(cpuRatio).toFixed(2)}×; ` : '';
      const variant = {
        without: '',
        with: '',
        supa_audit: `, ${PEER_NAME}`,
        'statement-level': ', statement-level alternative',
        floor: ', floor: a trigger that only inserts one constant row',
      }[r.mode];
      const lead = {
        without: '',
        with: '',
        supa_audit: `PEER, measured in the same run on the same table: ${PEER_NAME}'s row trigger (whole old and new rows as jsonb); `,
        'statement-level': 'ALTERNATIVE, not shipped: statement-level trigger with transition tables; ',
        floor:
          'DIAGNOSTIC: the same WHEN clause, and a function that inserts one constant row into a table without indexes or constraints — the least a trigger that records anything costs; ',
      }[r.mode];
      const judged = r.mode === 'with' || r.mode === 'statement-level';
      const verdict = judged ? `; ${ratio <= w.goal ? 'meets' : 'misses'} the goal` : '';
      rows.push({
        name: `${w.label} [${r.schema}${variant}]`,
        baseline: round(median(r.base), 1),
        measured: round(median(r.with), 1),
        ratio,
        goal: judged ? `≤ ${w.goal}×` : r.mode === 'supa_audit' ? 'peer' : 'diagnostic',
        unit: w.unit,
        pass: judged ? ratio <= w.goal : undefined,
        notes: `${lead}${cpu}median of ${r.ratios.length} per-repetition ratios (${r.ratios.map((x) => round(x).toFixed(2)).join(', ')})${verdict}`,
      });
      // Ours against the peer: overhead (ratio − 1) over the peer's, wall time for the bulk
      // workloads, server CPU time for the single-row ones (the client's round trip is the same for both).
      const peer = results.find((p) => p.schema === r.schema && p.key === r.key && p.mode === 'supa_audit');
      if (r.mode === 'with' && peer && w.key !== 'a') {
        const single = w.unit !== 'ms';
        const ours = single && cpuRatio !== null && peer.cpuRatios.length ? cpuRatio : median(r.ratios);
        const theirs = single && cpuRatio !== null && peer.cpuRatios.length ? median(peer.cpuRatios) : median(peer.ratios);
        const share = theirs > 1 ? (ours - 1) / (theirs - 1) : Number.POSITIVE_INFINITY;
        const goal = single ? 0.5 : 1 / 3;
        rows.push({
          name: `${w.label} [${r.schema}]: overhead against ${PEER_NAME}'s`,
          baseline: round(theirs - 1, 2),
          measured: round(ours - 1, 2),
          ratio: round(share),
          goal: `≤ ${round(goal)}`,
          unit: single ? 'server cpu overhead (ratio − 1)' : 'overhead (ratio − 1)',
          pass: share <= goal,
          notes: `(ours − 1) / (${PEER_NAME} − 1), ${single ? 'median cpu-time ratios of the backend' : 'median wall-time ratios'} of the same run`,
        });
      }
    }
    for (const [schema, a] of [['base schema', baseRun.asOf], ['app schema', appRun.asOf]] as const) {
      const ratio = round(median(a.ratios));
      rows.push({
        name: `(e) events_as_of(now()) over the whole calendar / a sequential read of event_revisions [${schema}]`,
        baseline: round(median(a.readMs), 1),
        measured: round(median(a.asOfMs), 1),
        ratio,
        goal: '≤ 15×',
        unit: 'ms',
        pass: ratio <= 15,
        notes: `${a.events} events, ${a.revisions} revision rows (${ONLY_ASOF ? `the events inserted, then ${ASOF_UPDATES} two-field updates of every event` : 'the history the write workloads left'}); both counted on the server; median of ${a.ratios.length} alternating rounds (ratios ${a.ratios.map((x) => round(x).toFixed(2)).join(', ')})`,
      });
      for (const [what, xs] of [
        ['one hash aggregate pass over event_revisions (the target revision of every event)', a.aggMs],
        ['jsonb_populate_record of one whole-row image per event, alone', a.populateMs],
      ] as const) {
        const fr = xs.map((x, i) => x / a.readMs[i]!);
        rows.push({
          name: `(e) floor: ${what} / a sequential read of event_revisions [${schema}]`,
          baseline: round(median(a.readMs), 1),
          measured: round(median(xs), 1),
          ratio: round(median(fr)),
          goal: 'diagnostic',
          unit: 'ms',
          notes: `DIAGNOSTIC: part of what any set-based events_as_of does, measured in the same rounds (ratios ${fr.map((x) => round(x).toFixed(2)).join(', ')})`,
        });
      }
    }
    if (!peerLoaded) {
      rows.push({
        name: `${PEER_NAME}: peer not available`,
        baseline: 0,
        measured: 0,
        ratio: 0,
        unit: '',
        goal: 'diagnostic',
        notes: `${PEER_FILE} is absent, so no peer rows were measured`,
      });
    }

    const out = writeBenchResult('revisions', {
      title: `Event revision triggers: with / without / ${PEER_NAME}, ${EVENTS} events (${version.split(' on ')[0]})`,
      server: version,
      rows,
    });
    process.stdout.write('\n');
    for (const r of rows) {
      process.stdout.write(
        `${r.ratio.toFixed(2)}× (goal ${r.goal}) ${r.pass === undefined ? '    ' : r.pass ? 'ok  ' : 'MISS'} ${r.name}: ${r.baseline} → ${r.measured} ${r.unit}\n`,
      );
    }
    process.stdout.write(`\nwrote ${out} in ${Math.round((performance.now() - started) / 1000)} s\n`);
  } finally {
    for (const d of dbs) await d.drop().catch(() => undefined);
    server.dispose();
  }
}

await main();
