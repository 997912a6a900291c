/**
 * Ingest benchmark: ingest_events against what a scraper writes by hand, ratios of
 * measurements taken in the same run on the same server.
 *
 *   mostly-unchanged  20 batches of 1,000 items, 90 % unchanged and 10 % with 2 changed fields:
 *                     ingest_events / a plain multi-row INSERT … ON CONFLICT (key) DO UPDATE of the
 *                     same rows into a copy of events with a unique key and no triggers     goal ≤ 1.0×
 *   all-new           20 batches of 1,000 new items, the same two sides                      goal ≤ 2×
 *   header            single-row updates of one tracked field, one autocommit statement each, as
 *                     service_role with the request header x-scrapeguard-run-id set: revision
 *                     triggers reading the run from the header / the triggers as they were
 *                     before (run from the change context only)                             goal ≤ 1.05×
 *                     (diagnostic: the floor, one lookup of the run per statement and nothing else)
 *
 * Both sides run from one client connection, one statement per round trip (the ingest side
 * one ingest_events call per batch, a new run per round of 20 batches, as a scraper starts
 * one per scrape; the baseline one INSERT … VALUES (…), (…) … ON CONFLICT per batch). The
 * two sides alternate within each round, which goes first alternating between rounds, and
 * each ratio is the median of the per-round ratios: load drift on the shared machine hits
 * both sides of a round alike. Diagnostic rows measure floors: what the revision trigger
 * alone costs for the rows that do change, and what ingest_events costs when no row changes.
 *
 *   npx tsx bench/ingest.ts [mostly-unchanged] [all-new] [header]   (BENCH_ROUNDS to override)
 */
import pg from 'pg';
import { currentMigration } from '../scripts/lib/migrations.js';
import { buildTemplates, copyTemplate, startTestServer, type ServerUrls } from '../scripts/lib/test-cluster.js';
import { timeBackend } from './lib/backend-cpu.js';
import { type BenchRow, median, writeBenchResult } from './lib/results.js';

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 7);
const BATCHES = 20;
const BATCH = 1000;
const HEADER_UPDATES = Number(process.env.BENCH_HEADER_UPDATES ?? 2000);

interface Row extends BenchRow {
  baseline: number;
  measured: number;
  unit: string;
  notes: string;
}

interface Item {
  key: string;
  title: string;
  description: string;
  start_time: string;
  status: string;
  source_url: string;
  tags: string[];
  price_range: number[];
}

const round3 = (x: number) => Number(x.toFixed(3));
const ratiosText = (xs: number[]) => xs.map((x) => x.toFixed(2)).join(', ');

async function connect(url: string, options?: string): Promise<pg.Client> {
  const c = new pg.Client({ connectionString: url, ...(options ? { options } : {}) });
  await c.connect();
  return c;
}

function item(prefix: string, i: number): Item {
  return {
    key: `https://listings.example/${prefix}/event/${i}`,
    title: `Event ${i} at Venue ${i % 97}`,
    description: `Scraped description of event ${i}: ${'lorem ipsum '.repeat(8 + (i % 10))}`,
    start_time: new Date(Date.UTC(2027, 0, 1 + (i % 300), 10 + (i % 10))).toISOString(),
    status: 'published',
    source_url: `https://listings.example/${prefix}/event/${i}`,
    tags: ['music', `t${i % 13}`],
    price_range: [i % 200, (i % 200) + 100],
  };
}

/** A page with 10 % of its items changed in two fields (title, price_range), different each round. */
function changed(items: Item[], round: number): Item[] {
  return items.map((it, i) =>
    i % 10 === round % 10 ? { ...it, title: `${it.title} (rev ${round})`, price_range: [round, round + 50] } : it,
  );
}

const COLUMNS = ['key', 'title', 'description', 'start_time', 'status', 'source_url', 'tags', 'price_range'] as const;

/** The baseline statement for one batch: a plain multi-row INSERT … ON CONFLICT (key) DO UPDATE. */
function upsert(batch: Item[]): { text: string; values: unknown[] } {
  const values: unknown[] = [];
  const rows = batch.map((it) => {
    const ph = COLUMNS.map((c) => {
      const v = it[c];
      values.push(Array.isArray(v) ? `{${v.join(',')}}` : v);
      return `$${values.length}`;
    });
    return `(${ph[0]}, ${ph[1]}, ${ph[2]}, ${ph[3]}::timestamptz, ${ph[4]}, ${ph[5]}, ${ph[6]}::text[], ${ph[7]}::int[])`;
  });
  return {
    text: `insert into bench.events_copy (${COLUMNS.join(', ')}) values ${rows.join(', ')}
           on conflict (key) do update set ${COLUMNS.slice(1).map((c) => `${c} = excluded.${c}`).join(', ')}`,
    values,
  };
}

/** Parameters $1… in order of appearance (after some were taken out of a statement). */
function renumber(text: string): string {
  let k = 0;
  return text.replace(/\$\d+/g, () => `$${(k += 1)}`);
}

interface Fixture {
  c: pg.Client;
  /** The backend process of c (its CPU time is read from /proc when the server is local). */
  pid: number;
  /** The database as its owner (no role switch). */
  url: string;
  source: string;
  close(): Promise<void>;
}

async function fixture(urls: ServerUrls): Promise<Fixture> {
  const db = await copyTemplate(urls);
  const c = await connect(db.appUrl, '-c role=service_role');
  const owner = await connect(db.appUrl);
  // The baseline: a copy of events (same columns, defaults, checks, primary key) with a
  // unique key and no triggers.
  await owner.query('create schema bench');
  await owner.query('create table bench.events_copy (like public.events including defaults including constraints including indexes)');
  await owner.query('alter table bench.events_copy add column key text not null, add constraint events_copy_key unique (key)');
  await owner.query('grant usage on schema bench to service_role; grant all on bench.events_copy to service_role');
  const source = (
    await owner.query<{ id: string }>(`insert into public.event_sources (name, base_url) values ('bench', 'https://listings.example') returning id`)
  ).rows[0]!.id;
  await owner.end();
  const pid = (await c.query<{ pid: number }>('select pg_backend_pid() as pid')).rows[0]!.pid;
  return {
    c,
    pid,
    url: db.appUrl,
    source,
    async close() {
      await c.end();
      await db.drop();
    },
  };
}

/** Wall and backend CPU time of fn, ms. */
async function timed(f: Fixture, fn: () => Promise<void>): Promise<Timing> {
  const t = await timeBackend(f.pid, fn);
  return { ms: t.wallMs, cpu: t.cpuMs };
}

interface Timing {
  ms: number;
  cpu: number | null;
}

async function startRun(f: Fixture): Promise<string> {
  return (await f.c.query<{ id: string }>(`select public.start_run($1, 'feed') as id`, [f.source])).rows[0]!.id;
}

/** One round of the ingest side: a new run, BATCHES calls. */
async function ingestRound(f: Fixture, batches: Item[][]): Promise<Timing> {
  const run = await startRun(f);
  const bodies = batches.map((b) => JSON.stringify(b));
  const t = await timed(f, async () => {
    for (const b of bodies) {
      const r = await f.c.query<{ r: { failed: number } }>('select public.ingest_events($1, $2::jsonb) as r', [run, b]);
      if (r.rows[0]!.r.failed !== 0) throw new Error(`ingest_events refused items: ${JSON.stringify(r.rows[0]!.r)}`);
    }
  });
  await f.c.query(`select public.finish_run($1, 'succeeded')`, [run]);
  return t;
}

/** One round of the baseline: BATCHES multi-row upserts. */
async function upsertRound(f: Fixture, batches: Item[][]): Promise<Timing> {
  const stmts = batches.map(upsert);
  return timed(f, async () => {
    for (const s of stmts) await f.c.query(s.text, s.values);
  });
}

async function interleave(rounds: number, base: (r: number) => Promise<Timing>, meas: (r: number) => Promise<Timing>) {
  const b: number[] = [];
  const m: number[] = [];
  const ratios: number[] = [];
  const cpuRatios: number[] = [];
  for (let r = 0; r < rounds; r += 1) {
    let x: Timing;
    let y: Timing;
    if (r % 2 === 0) {
      x = await base(r);
      y = await meas(r);
    } else {
      y = await meas(r);
      x = await base(r);
    }
    b.push(x.ms);
    m.push(y.ms);
    ratios.push(y.ms / x.ms);
    if (x.cpu !== null && y.cpu !== null && x.cpu > 0) cpuRatios.push(y.cpu / x.cpu);
  }
  return { base: median(b), meas: median(m), ratio: median(ratios), ratios, cpuRatios };
}

/** ", cpu-time ratio 0.80× (0.78, 0.81, …)" when the backend's CPU time could be read. */
const cpuText = (xs: number[]) => (xs.length ? `; backend cpu-time ratio ${median(xs).toFixed(2)}× (${ratiosText(xs)})` : '');

const pages = (prefix: string) =>
  Array.from({ length: BATCHES }, (_, b) => Array.from({ length: BATCH }, (_, i) => item(prefix, b * BATCH + i)));

async function mostlyUnchanged(urls: ServerUrls): Promise<Row[]> {
  const f = await fixture(urls);
  try {
    const start = pages('steady');
    // Both sides hold the same 20,000 events before the rounds.
    await ingestRound(f, start);
    await upsertRound(f, start);
    await f.c.query('vacuum analyze public.events, public.event_source_keys, bench.events_copy');
    // Each round changes 10 % of the items (a different tenth each round) on top of what
    // the previous round left: the other 90 % are exactly what both sides hold.
    let state = start;
    let k = 0;
    const memo = new Map<string, Item[][]>();
    const roundPages = (tag: string) => {
      let p = memo.get(tag);
      if (!p) {
        k += 1;
        const change = k;
        state = state.map((b) => changed(b, change));
        p = state;
        memo.set(tag, p);
      }
      return p;
    };
    const ids = (await f.c.query<{ key: string; event_id: string }>(`select key, event_id from public.event_source_keys`)).rows;
    const idOf = new Map(ids.map((r) => [r.key, r.event_id]));
    const main = await interleave(
      ROUNDS,
      (r) => upsertRound(f, roundPages(`main ${r}`)),
      (r) => ingestRound(f, roundPages(`main ${r}`)),
    );
    const floorRounds: number[] = [];
    const floorRatios: number[] = [];
    const floorCpu: number[] = [];
    // The revisions the changed rows must write, measured alone: one UPDATE per batch of
    // just the changed rows by id (no JSON, no comparison, no keys): the floor of any
    // writer that records history through the triggers.
    for (let r = 0; r < ROUNDS; r += 1) {
      const rp = roundPages(`floor ${r}`);
      const change = k;
      const base = await upsertRound(f, rp);
      const floor = await timed(f, async () => {
        for (const b of rp) {
          const ch = b.filter((_, i) => i % 10 === change % 10);
          await f.c.query(
            `update public.events e set title = u.title, price_range = array[u.lo, u.lo + 50]
               from unnest($1::uuid[], $2::text[], $3::int[]) as u (id, title, lo)
              where e.id = u.id`,
            [ch.map((it) => idOf.get(it.key)), ch.map((it) => it.title), ch.map((it) => it.price_range[0])],
          );
        }
      });
      floorRounds.push(floor.ms);
      floorRatios.push(floor.ms / base.ms);
      if (floor.cpu !== null && base.cpu !== null && base.cpu > 0) floorCpu.push(floor.cpu / base.cpu);
    }
    // ingest_events when nothing changes at all: the reading and comparing part alone.
    const still = await interleave(
      ROUNDS,
      () => upsertRound(f, state),
      () => ingestRound(f, state),
    );
    return [
      {
        name: 'mostly-unchanged: ingest_events, 90 % unchanged + 10 % with 2 changed fields / plain multi-row INSERT … ON CONFLICT DO UPDATE into a trigger-less copy',
        baseline: round3(main.base),
        measured: round3(main.meas),
        ratio: round3(main.ratio),
        goal: '≤ 1.0×',
        unit: 'ms per 20 × 1,000 items',
        notes: `20,000 events held by both sides; a new run per round (every key's last_seen_at moves once per run); the 2,000 changed events write 2 revision rows each and a notification; median of ${ROUNDS} alternating rounds (ratios ${ratiosText(main.ratios)})${cpuText(main.cpuRatios)}`,
      },
      {
        name: 'mostly-unchanged floor: only the 2,000 changed rows, one UPDATE by id per batch through the revision triggers / the same baseline',
        baseline: round3(main.base),
        measured: round3(median(floorRounds)),
        ratio: round3(median(floorRatios)),
        goal: 'diagnostic',
        unit: 'ms per 20 × 1,000 items',
        notes: `DIAGNOSTIC: the history that must be written for the rows that change, and nothing else (ids known, no JSON, no comparison); measured after the main rounds against the baseline of the same round (ratios ${ratiosText(floorRatios)})${cpuText(floorCpu)}`,
      },
      {
        name: 'nothing-changed: ingest_events of 20,000 unchanged items / the same baseline (which rewrites every row)',
        baseline: round3(still.base),
        measured: round3(still.meas),
        ratio: round3(still.ratio),
        goal: 'diagnostic',
        unit: 'ms per 20 × 1,000 items',
        notes: `DIAGNOSTIC: JSON to rows, key lookup, comparison and the once-per-run last_seen_at update, no event written (ratios ${ratiosText(still.ratios)})${cpuText(still.cpuRatios)}`,
      },
    ];
  } finally {
    await f.close();
  }
}

async function allNew(urls: ServerUrls): Promise<Row[]> {
  const f = await fixture(urls);
  try {
    await ingestRound(f, pages('warm-ingest').slice(0, 2));
    await upsertRound(f, pages('warm-upsert').slice(0, 2));
    let n = 0;
    const r = await interleave(
      ROUNDS,
      () => upsertRound(f, pages(`new-${(n += 1)}`)),
      () => ingestRound(f, pages(`new-${(n += 1)}`)),
    );
    // The floor: the same new rows inserted into events itself, one multi-row INSERT per
    // batch, through its triggers (an insert revision with the whole row and a notification
    // each): what any writer that records history pays, before keys or comparisons.
    const floorRatios: number[] = [];
    const floorTimes: number[] = [];
    const floorCpu: number[] = [];
    for (let i = 0; i < ROUNDS; i += 1) {
      const base = await upsertRound(f, pages(`new-${(n += 1)}`));
      const stmts = pages(`new-${(n += 1)}`).map((b) => {
        const u = upsert(b);
        return {
          text: u.text
            .replace('insert into bench.events_copy (key, ', 'insert into public.events (')
            .replace(/\(\$(\d+), /g, '(')
            .replace(/\s+on conflict[\s\S]*$/, ''),
          values: u.values.filter((_, k) => k % COLUMNS.length !== 0),
        };
      });
      const floor = await timed(f, async () => {
        for (const st of stmts) await f.c.query(renumber(st.text), st.values);
      });
      floorTimes.push(floor.ms);
      floorRatios.push(floor.ms / base.ms);
      if (floor.cpu !== null && base.cpu !== null && base.cpu > 0) floorCpu.push(floor.cpu / base.cpu);
    }
    return [
      {
        name: 'all-new: ingest_events of 20 × 1,000 new items / plain multi-row INSERT … ON CONFLICT into a trigger-less copy',
        baseline: round3(r.base),
        measured: round3(r.meas),
        ratio: round3(r.ratio),
        goal: '≤ 2×',
        unit: 'ms per 20 × 1,000 items',
        notes: `each new event: its key row, the event, an insert revision with the whole row and a notification; tables grow alike on both sides; median of ${ROUNDS} alternating rounds (ratios ${ratiosText(r.ratios)})${cpuText(r.cpuRatios)}`,
      },
      {
        name: 'all-new floor: the same new rows, one multi-row INSERT per batch into events through its revision triggers / the same baseline',
        baseline: round3(r.base),
        measured: round3(median(floorTimes)),
        ratio: round3(median(floorRatios)),
        goal: 'diagnostic',
        unit: 'ms per 20 × 1,000 items',
        notes: `DIAGNOSTIC: the history any writer of new events pays (no key, no JSON); each round against the baseline of that round (ratios ${ratiosText(floorRatios)})${cpuText(floorCpu)}`,
      },
    ];
  } finally {
    await f.close();
  }
}

/** The run of a change before the header fallback: the change context only. */
const CONTEXT_ONLY = `create or replace function scrapeguard.current_change_run_id() returns uuid
  language sql stable set search_path = ''
as $$
  select nullif(pg_catalog.current_setting('scrapeguard.run_id', true), '')::pg_catalog.uuid
$$`;

/**
 * The floor of any header rule: the change context's run looked up once per statement by a
 * PL/pgSQL function (one primary-key probe of scraping_runs through SPI, the part a header
 * cannot do without: the run must exist and be running), no header read at all.
 */
const LOOKUP_FN = `create or replace function bench.context_run_looked_up() returns uuid
  language plpgsql stable set search_path = ''
as $$
declare
  v_id pg_catalog.uuid := nullif(pg_catalog.current_setting('scrapeguard.run_id', true), '')::pg_catalog.uuid;
begin
  select r.id into v_id from public.scraping_runs r where r.id = v_id and r.status = 'running';
  return v_id;
end
$$`;
const LOOKUP_ONLY = `create or replace function scrapeguard.current_change_run_id() returns uuid
  language sql stable set search_path = ''
as $$
  select bench.context_run_looked_up()
$$`;

async function header(urls: ServerUrls): Promise<Row[]> {
  const f = await fixture(urls);
  const owner = await connect(f.url);
  try {
    const shipped = (await owner.query<{ def: string }>(`select pg_get_functiondef('scrapeguard.current_change_run_id()'::regprocedure) as def`)).rows[0]!.def;
    await f.c.query(
      `insert into public.events (title, start_time, status) select 'Header ' || g, now() + g * interval '1 hour', 'published'
         from generate_series(1, 2000) g`,
    );
    await f.c.query('vacuum analyze public.events');
    const ids = (await f.c.query<{ id: string }>(`select id from public.events where title like 'Header %' order by id`)).rows.map((r) => r.id);
    const run = await startRun(f);
    const headers = JSON.stringify({ 'x-scrapeguard-run-id': run, accept: 'application/json' });
    /** Session settings as each side needs them: the run from the header, the context, or neither. */
    const attribute = async (by: 'header' | 'context' | 'none') => {
      await f.c.query(`select set_config('request.headers', $1, false), set_config('scrapeguard.run_id', $2, false)`, [
        by === 'header' ? headers : '',
        by === 'context' ? run : '',
      ]);
    };
    let v = 0;
    /** HEADER_UPDATES single-row updates; µs per statement (wall and backend CPU). */
    const updates = async (): Promise<Timing> => {
      const t = await timed(f, async () => {
        for (let i = 0; i < HEADER_UPDATES; i += 1) {
          v += 1;
          await f.c.query({ name: 'upd', text: 'update public.events set title = $2 where id = $1', values: [ids[(v * 7919) % ids.length], `Header v${v}`] });
        }
      });
      return { ms: (t.ms * 1000) / HEADER_UPDATES, cpu: t.cpu === null ? null : (t.cpu * 1000) / HEADER_UPDATES };
    };
    const use = async (def: string) => {
      await owner.query(def);
      await owner.query('select scrapeguard.refresh_event_revision_trigger()');
    };
    const side = (def: string, by: 'header' | 'context' | 'none') => async () => {
      await use(def);
      await attribute(by);
      return updates();
    };
    await updates();
    // The fallback's own cost: the same attributed writes, the run read from the header /
    // from the change context (set for the session) by the triggers as they were before.
    const r = await interleave(ROUNDS, side(CONTEXT_ONLY, 'context'), side(shipped, 'header'));
    const before = (await f.c.query<{ n: number }>(`select count(*)::int as n from public.event_revisions where run_id = $1`, [run])).rows[0]!.n;
    const none = await interleave(ROUNDS, side(CONTEXT_ONLY, 'none'), side(shipped, 'none'));
    const attributedVsNot = await interleave(ROUNDS, side(CONTEXT_ONLY, 'none'), side(shipped, 'header'));
    await owner.query(LOOKUP_FN);
    const floor = await interleave(ROUNDS, side(CONTEXT_ONLY, 'context'), side(LOOKUP_ONLY, 'context'));
    await use(shipped);
    await attribute('none');
    return [
      {
        name: 'header: single-row updates of a tracked field as service_role, the run read from x-scrapeguard-run-id / the same run from the change context by the triggers without the fallback',
        baseline: round3(r.base),
        measured: round3(r.meas),
        ratio: round3(r.ratio),
        goal: '≤ 1.05×',
        unit: 'µs/statement',
        notes: `one autocommit UPDATE per round trip (prepared), ${HEADER_UPDATES} per side per round over 2,000 events; request.headers (as PostgREST sets it per request) or scrapeguard.run_id set for the session; both sides attribute every revision to the run (${before} so far); median of ${ROUNDS} alternating rounds (ratios ${ratiosText(r.ratios)})${cpuText(r.cpuRatios)}`,
      },
      {
        name: 'header absent: the same updates without the header, triggers with the fallback / without',
        baseline: round3(none.base),
        measured: round3(none.meas),
        ratio: round3(none.ratio),
        goal: 'diagnostic',
        unit: 'µs/statement',
        notes: `DIAGNOSTIC: what every other write pays for the fallback (one current_setting read and one strpos); median of ${ROUNDS} alternating rounds (ratios ${ratiosText(none.ratios)})${cpuText(none.cpuRatios)}`,
      },
      {
        name: 'attributed by the header / not attributed at all (triggers without the fallback, nothing set)',
        baseline: round3(attributedVsNot.base),
        measured: round3(attributedVsNot.meas),
        ratio: round3(attributedVsNot.ratio),
        goal: 'diagnostic',
        unit: 'µs/statement',
        notes: `DIAGNOSTIC: attribution itself, whatever names the run: the header lookup plus the foreign-key check of event_revisions.run_id (a key-share lock of the run's row per revision); median of ${ROUNDS} alternating rounds (ratios ${ratiosText(attributedVsNot.ratios)})${cpuText(attributedVsNot.cpuRatios)}`,
      },
      {
        name: 'header floor: the same updates, the context\'s run looked up once per statement by a PL/pgSQL function / the context only',
        baseline: round3(floor.base),
        measured: round3(floor.meas),
        ratio: round3(floor.ratio),
        goal: 'diagnostic',
        unit: 'µs/statement',
        notes: `DIAGNOSTIC: what any header rule must pay at least (the run must exist and be running: one primary-key probe of scraping_runs through SPI, and the call), without reading the header; median of ${ROUNDS} alternating rounds (ratios ${ratiosText(floor.ratios)})${cpuText(floor.cpuRatios)}`,
      },
    ];
  } finally {
    await owner.end();
    await f.close();
  }
}

function report(row: Row): void {
  const cpu = /backend cpu-time ratio ([0-9.]+)/.exec(row.notes)?.[1];
  console.log(
    `${row.name}\n  baseline ${row.baseline} ${row.unit}, measured ${row.measured} ${row.unit}, ratio ${row.ratio}${cpu ? ` (cpu ${cpu})` : ''} (goal ${row.goal})`,
  );
}

async function main(): Promise<void> {
  const server = await startTestServer();
  try {
    const version = (await buildTemplates(server.urls)).split(' on ')[0] ?? '';
    console.log(`${version}${currentMigration() ? '; with the migration in current' : ''}`);
    const only = process.argv.slice(2);
    const parts: [string, (u: ServerUrls) => Promise<Row[]>][] = [
      ['mostly-unchanged', mostlyUnchanged],
      ['all-new', allNew],
      ['header', header],
    ];
    const rows: Row[] = [];
    for (const [key, fn] of parts) {
      if (only.length > 0 && !only.includes(key)) continue;
      const t = performance.now();
      for (const row of await fn(server.urls)) {
        rows.push(row);
        report(row);
      }
      console.log(`  (${((performance.now() - t) / 1000).toFixed(0)} s)`);
    }
    const file = writeBenchResult('ingest', { title: `Ingesting events (${version})`, rows });
    console.log(`written ${file}`);
  } finally {
    server.dispose();
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
