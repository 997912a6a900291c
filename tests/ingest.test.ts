/**
 * ingest_events from outside one transaction, on both shapes of public.events: the
 * minimal base tables and the app stand-in (its extra columns, triggers, policies, plus
 * an enum, a domain, a stored generated column, an identity and a foreign key to
 * event_sources added here). Concurrent batches of one run and of two runs of one source
 * from 8 connections: no duplicate event, counts that add up, every revision attributed
 * to the run that made it.
 */
import { afterAll, describe, expect, test } from 'vitest';
import pg from 'pg';
import { applyCurrent, migrate } from '../scripts/lib/database.js';
import { BARE_TEMPLATE, createTestDatabase, useTestDatabase, type TestDatabase } from './support/db.js';
import { fixture } from './support/sql-files.js';

/** What the richer app schema adds on top of tests/fixtures/app-schema.sql (each piece only where missing). */
const APP_EXTRAS = `
do $$
begin
  if to_regtype('public.event_visibility') is null then
    create type public.event_visibility as enum ('public', 'unlisted', 'private');
  end if;
  if to_regtype('public.http_url') is null then
    create domain public.http_url as text check (value ~ '^https?://');
  end if;
end
$$;
alter table public.events
  add column if not exists visibility public.event_visibility not null default 'public',
  add column if not exists duration_minutes integer
    generated always as ((extract(epoch from end_time - start_time) / 60)::integer) stored,
  add column if not exists ingest_seq bigint generated always as identity,
  add column if not exists booking_url public.http_url,
  add column if not exists extra jsonb not null default '{}'::jsonb,
  add column if not exists source_id uuid references public.event_sources (id) on delete set null;
do $$
begin
  if not exists (select from pg_constraint where conrelid = 'public.events'::regclass and conname = 'events_ends_after_start') then
    alter table public.events add constraint events_ends_after_start check (end_time is null or end_time >= start_time);
  end if;
end
$$;
`;

interface Shape {
  label: string;
  app: boolean;
  open(): Promise<TestDatabase>;
}

const SHAPES: Shape[] = [
  { label: 'base tables', app: false, open: () => useTestDatabase() },
  {
    label: 'app stand-in',
    app: true,
    async open() {
      const db = await createTestDatabase(BARE_TEMPLATE);
      afterAll(() => db.drop());
      const c = await db.client();
      await c.query('begin');
      await c.query(fixture('app-schema.sql'));
      await c.query(APP_EXTRAS);
      await c.query('commit');
      await migrate(db.appUrl, { quiet: true });
      await applyCurrent(db.appUrl);
      return db;
    },
  },
];

interface IngestResult {
  created: number;
  updated: number;
  unchanged: number;
  failed: number;
  errors: { index: number; key: string | null; sqlstate: string; message: string }[];
  event_ids: (string | null)[];
}

for (const shape of SHAPES) {
  describe(`ingest_events on the ${shape.label}`, async () => {
    const db = await shape.open();
    const admin = await db.client();
    const pool = new pg.Pool({ connectionString: db.appUrl, max: 8, options: '-c role=service_role' });
    afterAll(() => pool.end());

    async function source(name: string): Promise<string> {
      const r = await admin.query<{ id: string }>(
        `insert into public.event_sources (name, base_url) values ($1, 'https://example.com') returning id`,
        [name],
      );
      return r.rows[0]!.id;
    }
    async function startRun(sourceId: string): Promise<string> {
      const r = await admin.query<{ id: string }>(`select public.start_run($1, 'feed') as id`, [sourceId]);
      return r.rows[0]!.id;
    }
    async function ingest(runId: string, items: unknown[], c: pg.Pool | pg.PoolClient = pool): Promise<IngestResult> {
      const r = await c.query<{ r: IngestResult }>('select public.ingest_events($1, $2::jsonb) as r', [runId, JSON.stringify(items)]);
      return r.rows[0]!.r;
    }

    test('ugly scraped text is stored as given (20,000-character lines, emoji, quotes); an unchanged batch writes nothing', async () => {
      const src = await source(`ugly ${shape.label}`);
      const run = await startRun(src);
      const long = 'x'.repeat(20_000);
      const items = [
        { key: 'u/1', title: '澳門格蘭披治大賽車 🏎️ "GP"', description: long, start_time: '2026-11-19T10:00:00+08:00' },
        { key: 'u/2'.repeat(600), title: "It's \\ a \t tab", start_time: '2026-11-20T10:00:00+08:00', tags: ['a', 'b'] },
      ];
      const r1 = await ingest(run, items);
      expect(r1).toMatchObject({ created: 2, updated: 0, unchanged: 0, failed: 0, errors: [] });
      const rows = await admin.query(`select title, description from public.events where id = any($1::uuid[]) order by title`, [
        r1.event_ids,
      ]);
      expect(rows.rows.map((r) => r.title).sort()).toEqual([items[0]!.title, items[1]!.title].sort());
      expect(rows.rows.find((r) => r.description)?.description).toHaveLength(20_000);

      const versions = await admin.query(`select id, xmin::text as x from public.events where id = any($1::uuid[]) order by id`, [r1.event_ids]);
      const revisions = await admin.query(`select count(*)::int as n from public.event_revisions`);
      const r2 = await ingest(run, items);
      expect(r2).toMatchObject({ created: 0, updated: 0, unchanged: 2, failed: 0, event_ids: r1.event_ids });
      expect((await admin.query(`select id, xmin::text as x from public.events where id = any($1::uuid[]) order by id`, [r1.event_ids])).rows).toEqual(
        versions.rows,
      );
      expect((await admin.query(`select count(*)::int as n from public.event_revisions`)).rows).toEqual(revisions.rows);
    });

    test("the app's columns: defaults apply, generated columns and identities are refused, type, domain and key violations isolated", async () => {
      if (!shape.app) return;
      const src = await source('app columns');
      const run = await startRun(src);
      const base = { start_time: '2026-12-01T10:00:00Z', end_time: '2026-12-01T12:00:00Z' };
      const r = await ingest(run, [
        { key: 'a/1', title: 'Defaults', ...base, source_id: src },
        { key: 'a/2', title: 'Private', ...base, visibility: 'private', booking_url: 'https://book.example', extra: { seats: 40 } },
        { key: 'a/3', title: 'Bad enum', ...base, visibility: 'secret' },
        { key: 'a/4', title: 'Generated', ...base, duration_minutes: 5 },
        { key: 'a/5', title: 'Identity', ...base, ingest_seq: 7 },
        { key: 'a/6', title: 'Bad domain', ...base, booking_url: 'ftp://nope' },
        { key: 'a/7', title: 'Bad venue', ...base, venue_id: '00000000-0000-4000-8000-000000000000' },
        { key: 'a/8', title: 'Ends first', start_time: '2026-12-01T10:00:00Z', end_time: '2026-12-01T09:00:00Z' },
      ]);
      expect(r.errors.map((e) => [e.index, e.sqlstate])).toEqual([
        [2, '22P02'],
        [3, '428C9'],
        [4, '428C9'],
        [5, '23514'],
        [6, '23503'],
        [7, '23514'],
      ]);
      expect(r).toMatchObject({ created: 2, failed: 6 });
      const rows = await admin.query(
        `select title, visibility::text, duration_minutes, ingest_seq is not null as has_ref, is_featured, extra, source_id,
                search_vector is not null as indexed
           from public.events where id = any($1::uuid[]) order by title`,
        [r.event_ids.filter(Boolean)],
      );
      expect(rows.rows).toEqual([
        { title: 'Defaults', visibility: 'public', duration_minutes: 120, has_ref: true, is_featured: false, extra: {}, source_id: src, indexed: true },
        { title: 'Private', visibility: 'private', duration_minutes: 120, has_ref: true, is_featured: false, extra: { seats: 40 }, source_id: null, indexed: true },
      ]);
      // An update through the app's own BEFORE UPDATE trigger (updated_at) and policies.
      const u = await ingest(run, [{ key: 'a/1', title: 'Defaults', ...base, visibility: 'unlisted', source_id: src }]);
      expect(u).toMatchObject({ updated: 1, unchanged: 0 });
      const h = await admin.query(`select field_name, run_id from public.event_revisions where event_id = $1 and operation = 'update'`, [
        r.event_ids[0],
      ]);
      expect(h.rows).toEqual([{ field_name: 'visibility', run_id: run }]);
    });

    test('an author editing through the app policy with the header names no run', async () => {
      if (!shape.app) return;
      const author = crypto.randomUUID();
      await admin.query(`insert into auth.users (id, email) values ($1, 'a@example.com')`, [author]);
      const src = await source('author header');
      const run = await startRun(src);
      const { rows } = await admin.query<{ id: string }>(
        `insert into public.events (title, start_time, status, created_by) values ('Authored', '2026-12-01', 'published', $1) returning id`,
        [author],
      );
      const c = await db.client();
      {
        await c.query('begin');
        await c.query('set local role authenticated');
        await c.query(`select set_config('request.jwt.claims', $1, true), set_config('request.headers', $2, true)`, [
          JSON.stringify({ sub: author, role: 'authenticated' }),
          JSON.stringify({ 'x-scrapeguard-run-id': run }),
        ]);
        const u = await c.query(`update public.events set title = 'Authored, edited' where id = $1`, [rows[0]!.id]);
        await c.query('commit');
        expect(u.rowCount).toBe(1);
      }
      const h = await admin.query(`select run_id, actor from public.event_revisions where event_id = $1 and operation = 'update'`, [
        rows[0]!.id,
      ]);
      expect(h.rows).toEqual([{ run_id: null, actor: author }]);
    });

    test('a clean batch is written set-based; a batch that fails on an item goes item by item, leaving nothing of the failed attempt', async () => {
      const src = await source(`paths ${shape.label}`);
      const run = await startRun(src);
      const c = await pool.connect();
      const notices: string[] = [];
      const onNotice = (n: { message?: string }) => notices.push(n.message ?? '');
      c.on('notice', onNotice);
      try {
        await c.query('set client_min_messages = debug1');
        const clean = await ingest(run, [
          { key: 'p/1', title: `Clean ${shape.label}`, start_time: '2026-12-01T10:00:00Z' },
          { key: 'p/2', title: `Clean too ${shape.label}`, start_time: '2026-12-01T11:00:00Z' },
        ], c);
        expect(clean).toMatchObject({ created: 2, failed: 0 });
        expect(notices.filter((m) => m.includes('item by item'))).toEqual([]);
        const again = await ingest(run, [
          { key: 'p/1', title: `Clean ${shape.label}`, start_time: '2026-12-01T10:00:00Z' },
          { key: 'p/2', title: `Clean too, edited ${shape.label}`, start_time: '2026-12-01T11:00:00Z' },
        ], c);
        expect(again).toMatchObject({ created: 0, updated: 1, unchanged: 1, failed: 0 });
        expect(notices.filter((m) => m.includes('item by item'))).toEqual([]);

        // Well formed, so the set-based pass starts: one INSERT claims both keys and
        // writes p/3's event, p/4's row breaks the CHECK, and the whole pass is rolled back
        // before the batch is done item by item.
        const mixed = await ingest(run, [
          { key: 'p/3', title: `Written once ${shape.label}`, start_time: '2026-12-02T10:00:00Z', end_time: '2026-12-02T12:00:00Z' },
          { key: 'p/4', title: 'Ends first', start_time: '2026-12-02T10:00:00Z', end_time: '2026-12-02T09:00:00Z' },
        ], c);
        expect(notices.some((m) => m.includes('item by item (23514)'))).toBe(true);
        expect(mixed).toMatchObject({ created: 1, updated: 0, unchanged: 0, failed: 1 });
        expect(mixed.errors.map((e) => [e.index, e.key, e.sqlstate])).toEqual([[1, 'p/4', '23514']]);
        // A known key with a value its type refuses: the conversion of the batch fails.
        notices.length = 0;
        const bad = await ingest(run, [
          { key: 'p/2', title: `Clean too, edited ${shape.label}`, start_time: '2026-12-01T11:00:00Z' },
          { key: 'p/1', title: `Clean ${shape.label}`, start_time: 'next tuesday-ish' },
        ], c);
        expect(notices.some((m) => m.includes('item by item (22007)'))).toBe(true);
        expect(bad).toMatchObject({ created: 0, updated: 0, unchanged: 1, failed: 1 });
        expect(bad.errors.map((e) => [e.index, e.sqlstate])).toEqual([[1, '22007']]);
      } finally {
        c.off('notice', onNotice);
        await c.query('reset client_min_messages');
        c.release();
      }
      const written = await admin.query<{ n: number; revisions: number }>(
        `select count(*)::int as n,
                (select count(*)::int from public.event_revisions r where r.event_id in
                   (select e.id from public.events e where e.title = $1)) as revisions
           from public.events where title = $1`,
        [`Written once ${shape.label}`],
      );
      expect(written.rows[0]).toEqual({ n: 1, revisions: 1 });
      const keys = await admin.query(`select key from public.event_source_keys where source_id = $1 order by key`, [src]);
      expect(keys.rows.map((r) => r.key)).toEqual(['p/1', 'p/2', 'p/3']);
      const p1 = await admin.query(`select start_time from public.events where title = $1`, [`Clean ${shape.label}`]);
      expect(p1.rows).toEqual([{ start_time: new Date('2026-12-01T10:00:00Z') }]);
      const counts = await admin.query(
        `select events_found, events_created, events_updated, events_skipped, events_failed from public.scraping_runs where id = $1`,
        [run],
      );
      expect(counts.rows[0]).toEqual({ events_found: 8, events_created: 3, events_updated: 1, events_skipped: 2, events_failed: 2 });
    });

    test('the header: every row of a statement attributed; a run finished, another header or another role seen by the next statement', async () => {
      const src = await source(`header cache ${shape.label}`);
      const runA = await startRun(src);
      const runB = await startRun(src);
      const ids = (
        await admin.query<{ id: string }>(
          `insert into public.events (title, start_time, status)
           select 'Cache ' || g, '2026-12-01', 'published' from generate_series(1, 3) g returning id`,
        )
      ).rows.map((r) => r.id);
      const header = (run: string) => JSON.stringify({ accept: '*/*', 'x-scrapeguard-run-id': run });
      const c = await db.client();
      try {
        await c.query('begin');
        await c.query('set local role service_role');
        await c.query(`select set_config('request.headers', $1, true)`, [header(runA)]);
        const u = await c.query(`update public.events set title = title || ' a' where id = any ($1::uuid[])`, [ids]);
        expect(u.rowCount).toBe(3);
        // Finished by this very transaction: the next statement looks the run up again.
        await c.query(`select public.finish_run($1, 'succeeded')`, [runA]);
        await c.query(`update public.events set title = title || ' b' where id = $1`, [ids[0]]);
        // Another header in the same transaction names another run.
        await c.query(`select set_config('request.headers', $1, true)`, [header(runB)]);
        await c.query(`update public.events set title = title || ' c' where id = $1`, [ids[1]]);
        await c.query('reset role');
        const revs = await c.query<{ title: string; run_id: string | null }>(
          `select new_value #>> '{}' as title, run_id from public.event_revisions
            where event_id = any ($1::uuid[]) and field_name = 'title' order by id`,
          [ids],
        );
        expect(revs.rows.map((r) => [r.title.replace(/^Cache \d /, ''), r.run_id])).toEqual([
          ['a', runA],
          ['a', runA],
          ['a', runA],
          ['a b', null],
          ['a c', runB],
        ]);
        // Another role in the same transaction: the header names no run for it
        // (header_run_id() tests the role itself, called directly too).
        await c.query('grant execute on function scrapeguard.current_change_run_id(), scrapeguard.header_run_id() to authenticated');
        await c.query('set local role authenticated');
        expect((await c.query(`select scrapeguard.current_change_run_id() as r`)).rows[0].r).toBeNull();
        expect((await c.query(`select scrapeguard.header_run_id() as r`)).rows[0].r).toBeNull();
        await c.query('set local role service_role');
        expect((await c.query(`select scrapeguard.current_change_run_id() as r`)).rows[0].r).toBe(runB);
      } finally {
        await c.query('rollback');
        await c.end();
      }
    });

    test('statements sent in one simple-query string: a run finished or a header changed between them is seen by the next one', async () => {
      // They share statement_timestamp(); the answer of the first statement was kept per
      // statement start and handed to the next ones until the run was looked up at each call.
      const src = await source(`header one string ${shape.label}`);
      const runA = await startRun(src);
      const runB = await startRun(src);
      const ids = (
        await admin.query<{ id: string }>(
          `insert into public.events (title, start_time, status)
           select 'String ' || g, '2026-12-01', 'published' from generate_series(1, 3) g returning id`,
        )
      ).rows.map((r) => r.id);
      const header = (run: string) => JSON.stringify({ 'x-scrapeguard-run-id': run });
      const c = await db.client();
      try {
        await c.query('begin');
        await c.query('set local role service_role');
        // No parameters: one simple-query message holding all of it.
        await c.query(
          `select set_config('request.headers', '${header(runA)}', true);
           update public.events set title = title || ' a' where id = '${ids[0]}';
           select public.finish_run('${runA}', 'succeeded');
           update public.events set title = title || ' b' where id = '${ids[1]}';
           select set_config('request.headers', '${header(runB)}', true);
           update public.events set title = title || ' c' where id = '${ids[2]}';`,
        );
        await c.query('reset role');
        const revs = await c.query<{ title: string; run_id: string | null }>(
          `select new_value #>> '{}' as title, run_id from public.event_revisions
            where event_id = any ($1::uuid[]) and field_name = 'title' order by id`,
          [ids],
        );
        expect(revs.rows.map((r) => [r.title.replace(/^String \d /, ''), r.run_id])).toEqual([
          ['a', runA],
          ['b', null],
          ['c', runB],
        ]);
      } finally {
        await c.query('rollback');
        await c.end();
      }
    });

    test('the header id: only a quoted 8-4-4-4-12 hex id right after the name names the run; anything else leaves the write unattributed, never failed', async () => {
      const src = await source(`header shapes ${shape.label}`);
      const run = await startRun(src);
      const finished = await startRun(src);
      await admin.query(`select public.finish_run($1, 'succeeded')`, [finished]);
      const id = (
        await admin.query<{ id: string }>(
          `insert into public.events (title, start_time, status) values ('Shapes', '2026-12-01', 'published') returning id`,
        )
      ).rows[0]!.id;
      const name = '"x-scrapeguard-run-id"';
      const cases: [string, string | null][] = [
        [JSON.stringify({ accept: '*/*', 'x-scrapeguard-run-id': run }), run],
        [`{${name} : "${run.toUpperCase()}"}`, run],
        [`{${name}:"${run}", "content-type": "application/x-www-form-urlencoded", "x-a-b-c-d-e": "f"}`, run],
        [`{${name}:"${run}x"}`, null],
        [`{${name}:"${run.slice(0, -1)}"}`, null],
        [`{${name}:"${run.slice(0, 2)}g${run.slice(3)}"}`, null],
        [`{${name}:"${run.slice(0, 2)}-${run.slice(3)}"}`, null],
        [`{${name}:"${run.slice(0, 2)}"${run.slice(3)}"}`, null],
        [`{${name}:"${run.slice(0, 2)}é${run.slice(3)}"}`, null],
        [`{${name}:"{${run}}"}`, null],
        [`{${name}:"${run.replaceAll('-', '')}"}`, null],
        [`{${name}:null}`, null],
        [`{${name}:`, null],
        [`{"via": ${name}, "${run}": "1"}`, null],
        [`{"x-scrapeguard-run-id-2":"${run}"}`, null],
        [`{${name}:"${finished}"}`, null],
        [`{${name}:"00000000-0000-4000-8000-000000000000"}`, null],
        ['{not json', null],
        ['', null],
      ];
      const c = await db.client();
      try {
        await c.query('begin');
        await c.query('set local role service_role');
        const got: (string | null)[] = [];
        for (const [i, [headers]] of cases.entries()) {
          await c.query(`select set_config('request.headers', $1, true)`, [headers]);
          const u = await c.query(`update public.events set title = $2 where id = $1`, [id, `Shapes ${i}`]);
          expect(u.rowCount).toBe(1);
          got.push((await c.query<{ r: string | null }>(`select scrapeguard.current_change_run_id() as r`)).rows[0]!.r);
        }
        await c.query('reset role');
        const revs = await c.query<{ run_id: string | null }>(
          `select run_id from public.event_revisions where event_id = $1 and field_name = 'title' order by id`,
          [id],
        );
        const expected = cases.map(([, r]) => r);
        expect(got).toEqual(expected);
        expect(revs.rows.map((r) => r.run_id)).toEqual(expected);
      } finally {
        await c.query('rollback');
        await c.end();
      }
    });

    test('8 connections, one run: every key once, counts add up exactly', async () => {
      const src = await source(`one run ${shape.label}`);
      const run = await startRun(src);
      // 8 batches of 60 keys out of 200, overlapping, each sent twice with a changed title the second time.
      const batches = Array.from({ length: 8 }, (_, b) =>
        Array.from({ length: 60 }, (_, i) => {
          const k = (b * 23 + i * 7) % 200;
          return { key: `k/${k}`, title: `Event ${k}`, start_time: '2026-10-01T10:00:00Z' };
        }),
      );
      const firstResults = await Promise.all(batches.map((items) => ingest(run, items)));
      const second = await Promise.all(
        batches.map((items, b) => ingest(run, items.map((it) => ({ ...it, title: `${it.title} (batch ${b})` })))),
      );
      const all = [...firstResults, ...second];
      const sum = (f: (r: IngestResult) => number) => all.reduce((a, r) => a + f(r), 0);
      const distinct = new Set(batches.flat().map((i) => i.key)).size;
      expect(sum((r) => r.failed)).toBe(0);
      expect(sum((r) => r.created)).toBe(distinct);
      const counts = await admin.query(
        `select events_found, events_created, events_updated, events_skipped, events_failed from public.scraping_runs where id = $1`,
        [run],
      );
      expect(counts.rows[0]).toEqual({
        events_found: 8 * 60 * 2,
        events_created: distinct,
        events_updated: sum((r) => r.updated),
        events_skipped: sum((r) => r.unchanged),
        events_failed: 0,
      });
      expect(sum((r) => r.created + r.updated + r.unchanged)).toBe(8 * 60 * 2);
      const keys = await admin.query(`select count(*)::int as n, count(distinct event_id)::int as e from public.event_source_keys where source_id = $1`, [src]);
      expect(keys.rows[0]).toEqual({ n: distinct, e: distinct });
      const events = await admin.query(
        `select count(*)::int as n from public.events e where e.id in (select event_id from public.event_source_keys where source_id = $1)`,
        [src],
      );
      expect(events.rows[0].n).toBe(distinct);
      const orphans = await admin.query(
        `select count(*)::int as n from public.events e where e.title like 'Event %' and not exists
           (select from public.event_source_keys k where k.event_id = e.id)`,
      );
      expect(orphans.rows[0].n).toBe(0);
    });

    test('8 connections, two runs of one source, the same keys: no duplicate event, each revision names the run that made it', async () => {
      const src = await source(`two runs ${shape.label}`);
      const runs = [await startRun(src), await startRun(src)];
      const keys = Array.from({ length: 120 }, (_, i) => `shared/${i}`);
      const results: { run: number; r: IngestResult }[] = [];
      await Promise.all(
        Array.from({ length: 8 }, async (_, w) => {
          const run = w % 2;
          for (let round = 0; round < 3; round += 1) {
            // Each worker its own order of the keys, so the batches cross.
            const order = [...keys].sort((a, b) => ((a.length * 31 + w * 17 + a.charCodeAt(7)) % 13) - ((b.length * 31 + w * 17 + b.charCodeAt(7)) % 13) || (w % 3 === 0 ? b.localeCompare(a) : a.localeCompare(b)));
            const items = order.map((k) => ({ key: k, title: `${k} by run ${run} worker ${w} round ${round}`, start_time: '2026-10-02T10:00:00Z' }));
            results.push({ run, r: await ingest(runs[run]!, items) });
          }
        }),
      );
      expect(results.reduce((a, x) => a + x.r.failed, 0)).toBe(0);
      expect(results.reduce((a, x) => a + x.r.created, 0)).toBe(keys.length);
      const mapped = await admin.query(`select count(*)::int as n, count(distinct event_id)::int as e from public.event_source_keys where source_id = $1`, [src]);
      expect(mapped.rows[0]).toEqual({ n: keys.length, e: keys.length });
      const dup = await admin.query(`select count(*)::int as n from public.events where title like 'shared/%'`);
      expect(dup.rows[0].n).toBe(keys.length);
      // Each revision's title says which run wrote it; the revision must name that run.
      const revs = await admin.query<{ run_id: string; title: string }>(
        `select r.run_id, coalesce(r.new_value ->> 'title', r.new_value #>> '{}') as title
           from public.event_revisions r
          where r.event_id in (select event_id from public.event_source_keys where source_id = $1)
            and (r.operation = 'insert' or r.field_name = 'title')`,
        [src],
      );
      expect(revs.rows.length).toBeGreaterThanOrEqual(keys.length);
      for (const r of revs.rows) {
        const run = Number(/by run (\d)/.exec(r.title)![1]);
        expect(r.run_id).toBe(runs[run]);
      }
      for (const [i, run] of runs.entries()) {
        const own = results.filter((x) => x.run === i);
        const c = await admin.query(
          `select events_found, events_created, events_updated, events_skipped from public.scraping_runs where id = $1`,
          [run],
        );
        expect(c.rows[0]).toEqual({
          events_found: own.length * keys.length,
          events_created: own.reduce((a, x) => a + x.r.created, 0),
          events_updated: own.reduce((a, x) => a + x.r.updated, 0),
          events_skipped: own.reduce((a, x) => a + x.r.unchanged, 0),
        });
      }
    });
  });
}
