/**
 * Event revisions seen from outside one transaction: notifications on
 * scrapeguard_event_changes and transaction-local attribution (on the minimal base
 * tables and on the app stand-in), and the triggers on the real app's richer events
 * table (extra columns of many kinds, its own triggers, policies and view).
 */
import { afterAll, describe, expect, test } from 'vitest';
import pg from 'pg';
import { APP_MIGRATED_TEMPLATE, createTestDatabase, EVENTS_SHAPES, useTestDatabase } from './support/db.js';

const CHANNEL = 'scrapeguard_event_changes';

interface Change {
  event_id: string | null;
  revision: number | null;
  operation: string;
  fields: string[] | null;
}

describe.each(EVENTS_SHAPES)('notifications and attribution ($label)', async ({ template }) => {
  const db = await useTestDatabase(template);
  const writer = await db.client();
  const listener = await db.client();
  const received: Change[] = [];
  const waiters: (() => void)[] = [];
  listener.on('notification', (n: pg.Notification) => {
    if (n.channel !== CHANNEL || !n.payload) return;
    received.push(JSON.parse(n.payload) as Change);
    waiters.splice(0).forEach((w) => w());
  });
  await listener.query(`listen ${CHANNEL}`);

  /** Everything notified up to a sentinel sent after the writes under test. */
  async function drain(): Promise<Change[]> {
    const sentinel = crypto.randomUUID();
    await writer.query(`select pg_notify($1, json_build_object('event_id', $2::text, 'operation', 'sentinel')::text)`, [CHANNEL, sentinel]);
    const deadline = Date.now() + 5000;
    while (!received.some((r) => r.event_id === sentinel && r.operation === 'sentinel')) {
      if (Date.now() > deadline) throw new Error('no sentinel notification');
      await new Promise<void>((resolve) => {
        waiters.push(resolve);
        setTimeout(resolve, 100);
      });
    }
    const i = received.findIndex((r) => r.event_id === sentinel);
    return received.splice(0, i + 1).slice(0, i);
  }

  test('insert, update and delete are notified with event, revision, operation and fields; noise is not', async () => {
    const { rows } = await writer.query<{ id: string }>(
      `insert into public.events (title, start_time, price_range) values ('Notified', '2026-11-01', '{1}') returning id`,
    );
    const id = rows[0]!.id;
    expect(await drain()).toEqual([{ event_id: id, revision: 1, operation: 'insert', fields: null }]);

    await writer.query(`update public.events set last_scraped_at = now(), scrape_hash = 'x' where id = $1`, [id]);
    await writer.query(`update public.events set title = title where id = $1`, [id]);
    expect(await drain()).toEqual([]);

    await writer.query(`update public.events set price_range = '{2,3}', title = 'Notified again', scrape_hash = 'y' where id = $1`, [id]);
    expect(await drain()).toEqual([{ event_id: id, revision: 2, operation: 'update', fields: ['title', 'price_range'] }]);

    await writer.query('begin');
    await writer.query(`update public.events set status = 'published' where id = $1`, [id]);
    await writer.query('rollback');
    expect(await drain()).toEqual([]);

    await writer.query(`delete from public.events where id = $1`, [id]);
    expect(await drain()).toEqual([{ event_id: id, revision: 3, operation: 'delete', fields: null }]);
  });

  test('scrapeguard.event_notifications: off sends none, statement one per statement and operation, anything else one per change', async () => {
    const ins = `insert into public.events (title, start_time) select 'Setting ' || g, '2026-11-05' from generate_series(1, 3) g returning id`;
    try {
      await writer.query(`set scrapeguard.event_notifications = 'off'`);
      const { rows: off } = await writer.query<{ id: string }>(ins);
      await writer.query(`update public.events set title = title || ' (off)' where id = any($1::uuid[])`, [off.map((r) => r.id)]);
      await writer.query(`delete from public.events where id = $1`, [off[0]!.id]);
      expect(await drain()).toEqual([]);
      // The revisions are written all the same.
      const n = await writer.query<{ n: number }>(`select count(*)::int as n from public.event_revisions where event_id = any($1::uuid[])`, [
        off.map((r) => r.id),
      ]);
      expect(n.rows[0]!.n).toBe(3 + 3 + 1);

      await writer.query(`set scrapeguard.event_notifications = 'statement'`);
      const { rows: st } = await writer.query<{ id: string }>(ins);
      await writer.query(`update public.events set title = title || ' (statement)' where id = any($1::uuid[])`, [st.map((r) => r.id)]);
      // Two statements of one transaction: one notification each.
      await writer.query('begin');
      await writer.query(`update public.events set status = 'published' where id = any($1::uuid[])`, [st.map((r) => r.id)]);
      await writer.query(`delete from public.events where id = any($1::uuid[])`, [st.slice(1).map((r) => r.id)]);
      await writer.query('commit');
      const got = await drain();
      expect(got.map((c) => ({ ...c, statement_at: undefined }))).toEqual(
        ['insert', 'update', 'update', 'delete'].map((operation) => ({
          event_id: null,
          revision: null,
          operation,
          fields: null,
          statement_at: undefined,
        })),
      );
      const at = got.map((c) => Date.parse((c as Change & { statement_at: string }).statement_at));
      expect(at.every((t) => Number.isFinite(t))).toBe(true);
      expect(at[2]).toBeLessThanOrEqual(at[3]!);

      // Unknown values notify per change: a typo never silences the channel.
      await writer.query(`set scrapeguard.event_notifications = 'per-event'`);
      await writer.query(`update public.events set title = 'typo' where id = $1`, [st[0]!.id]);
      expect(await drain()).toEqual([{ event_id: st[0]!.id, revision: 4, operation: 'update', fields: ['title'] }]);
    } finally {
      await writer.query('reset scrapeguard.event_notifications');
    }
  });

  test('set_change_context lasts for its transaction only (safe with pooled connections)', async () => {
    const source = await writer.query<{ id: string }>(
      `insert into public.event_sources (name, base_url) values ('attribution', 'https://example.com') returning id`,
    );
    const run = await writer.query<{ id: string }>(`select public.start_run($1, 'api') as id`, [source.rows[0]!.id]);
    const runId = run.rows[0]!.id;
    const { rows } = await writer.query<{ id: string }>(
      `insert into public.events (title, start_time) values ('Attributed', '2026-11-02') returning id`,
    );
    const id = rows[0]!.id;
    await writer.query('begin');
    await writer.query('select public.set_change_context($1, $2)', [runId, 'scraper:test']);
    await writer.query(`update public.events set title = 'in the run' where id = $1`, [id]);
    await writer.query('commit');
    await writer.query(`update public.events set title = 'after the run' where id = $1`, [id]);
    await writer.query('begin');
    await writer.query('select public.set_change_context($1, $2)', [runId, 'scraper:rolled-back']);
    await writer.query('rollback');
    await writer.query(`update public.events set title = 'later still' where id = $1`, [id]);

    const h = await writer.query<{ revision: number; run_id: string | null; actor: string }>(
      `select revision, run_id, actor from public.event_revisions where event_id = $1 order by revision`,
      [id],
    );
    expect(h.rows).toEqual([
      { revision: 1, run_id: null, actor: 'postgres' },
      { revision: 2, run_id: runId, actor: 'scraper:test' },
      { revision: 3, run_id: null, actor: 'postgres' },
      { revision: 4, run_id: null, actor: 'postgres' },
    ]);
    await drain();
  });

  test('a field list too long for a notification is sent as null, and the update still succeeds', async () => {
    // pg_notify refuses payloads of 8,000 bytes: 130 changed columns of 60-character names.
    const names = Array.from({ length: 130 }, (_, i) => `wide_${String(i).padStart(3, '0')}_${'x'.repeat(51)}`);
    await writer.query(`alter table public.events ${names.map((n) => `add column ${n} integer`).join(', ')}`);
    await writer.query('select scrapeguard.refresh_event_revision_trigger()');
    const { rows } = await writer.query<{ id: string }>(
      `insert into public.events (title, start_time) values ('Wide', '2026-11-03') returning id`,
    );
    const id = rows[0]!.id;
    await drain();
    await writer.query(`update public.events set ${names.map((n) => `${n} = 1`).join(', ')} where id = $1`, [id]);
    expect(await drain()).toEqual([{ event_id: id, revision: 2, operation: 'update', fields: null }]);
    const h = await writer.query<{ n: number }>(
      `select count(*)::int as n from public.event_revisions where event_id = $1 and revision = 2`,
      [id],
    );
    expect(h.rows[0]!.n).toBe(130);
    // A short list on the same table is still sent in full.
    await writer.query(`update public.events set ${names[0]} = 2, title = 'Wide 2' where id = $1`, [id]);
    expect(await drain()).toEqual([{ event_id: id, revision: 3, operation: 'update', fields: ['title', names[0]] }]);
  });
});

describe('on the real app schema', async () => {
  const app = await createTestDatabase(APP_MIGRATED_TEMPLATE);
  afterAll(() => app.drop());
  const c = await app.client();
  const author = '4b1d2c3e-5f60-4a7b-8c9d-0e1f2a3b4c5d';
  /** The noise columns (not history: the reads give their value of the last whole-row revision). */
  const NOISE_NOW = ['updated_at', 'last_scraped_at', 'scrape_hash', 'search_vector', 'view_count'];
  await c.query(`insert into auth.users (id, email) values ($1, 'author@example.com')`, [author]);

  /** The documented way to rename columns: the renames and the refresh in one transaction. */
  async function renameColumns(...renames: [from: string, to: string][]): Promise<boolean> {
    await c.query('begin');
    for (const [from, to] of renames) await c.query(`alter table public.events rename column ${from} to ${to}`);
    const r = await c.query<{ r: boolean }>('select scrapeguard.refresh_event_revision_trigger() as r');
    await c.query('commit');
    return r.rows[0]!.r;
  }

  /** The documented way to drop a tracked column: noise first, drop, then forget the entry. */
  async function dropColumn(name: string): Promise<void> {
    await c.query(`insert into scrapeguard.revision_noise_columns values ($1, 'being dropped')`, [name]);
    await c.query(`alter table public.events drop column ${name}`);
    await c.query('delete from scrapeguard.revision_noise_columns where column_name = $1', [name]);
  }

  async function revisions(id: string): Promise<{ revision: number; field_name: string | null; actor: string }[]> {
    const r = await c.query(
      `select revision, field_name, actor from public.event_revisions where event_id = $1 and revision > 1 order by revision, id`,
      [id],
    );
    return r.rows;
  }

  test("the app's extra columns are tracked, its derived and counter columns are noise", async () => {
    const { rows } = await c.query<{ id: string }>(
      `insert into public.events (title, title_zh, slug, start_time, status, created_by)
       values ('Macau Food Festival', '澳門美食節', 'food-festival', '2026-11-10', 'published', $1) returning id`,
      [author],
    );
    const id = rows[0]!.id;
    await c.query(`update public.events set view_count = view_count + 1 where id = $1`, [id]);
    await c.query(`update public.events set title_zh = '第二十六屆澳門美食節', is_featured = true where id = $1`, [id]);
    // The app's own trigger rewrites search_vector when the title changes: only the
    // title is history, search_vector (derived) and updated_at are noise.
    await c.query(`update public.events set title = 'Macau Food Festival 2026' where id = $1`, [id]);
    expect(await revisions(id)).toEqual([
      { revision: 2, field_name: 'title_zh', actor: 'postgres' },
      { revision: 2, field_name: 'is_featured', actor: 'postgres' },
      { revision: 3, field_name: 'title', actor: 'postgres' },
    ]);
    const sv = await c.query(`select search_vector::text as v from public.events where id = $1`, [id]);
    expect(sv.rows[0].v).toContain('2026');

    // An author edits through the app's own policy, with a JWT as PostgREST sends it.
    await c.query('begin');
    await c.query('set local role authenticated');
    await c.query(`select set_config('request.jwt.claims', $1, true)`, [JSON.stringify({ sub: author, role: 'authenticated' })]);
    const upd = await c.query(`update public.events set ticket_url = 'https://tickets.example.com/ff' where id = $1`, [id]);
    await c.query('commit');
    expect(upd.rowCount).toBe(1);
    expect((await revisions(id)).at(-1)).toEqual({ revision: 4, field_name: 'ticket_url', actor: author });

    const exact = await c.query(
      `select to_jsonb(public.event_as_of($1, scrapeguard.clock())) - $2::text[] as a,
              (select to_jsonb(e) - $2::text[] from public.events e where e.id = $1) as b`,
      [id, ['updated_at', 'last_scraped_at', 'scrape_hash', 'search_vector', 'view_count']],
    );
    expect(exact.rows[0].a).toEqual(exact.rows[0].b);
  });

  test('an enum, a domain, a stored generated column, an identity and jsonb: recorded and read back exactly', async () => {
    const { rows } = await c.query<{ id: string; ref_no: string; duration_minutes: number }>(
      `insert into public.events (title, start_time, end_time, ticket_url, visibility, extra)
       values ('Light show', '2026-11-12 20:00+08', '2026-11-12 21:30+08', 'https://tickets.example.com/ls', 'unlisted',
               '{"k": [1, {"n": null}], "big": 12345678901234567890}')
       returning id, ref_no, duration_minutes`,
    );
    const { id, ref_no: refNo } = rows[0]!;
    expect(rows[0]!.duration_minutes).toBe(90);
    const live = async () =>
      (await c.query(`select to_jsonb(e) - $2::text[] as j from public.events e where e.id = $1`, [id, NOISE_NOW])).rows[0].j;
    const states = [await live()];
    await c.query(`update public.events set visibility = 'private' where id = $1`, [id]);
    states.push(await live());
    // end_time moves the generated duration with it: both are recorded, in column order.
    await c.query(`update public.events set end_time = '2026-11-12 22:00+08', extra = extra || '{"k": null}' where id = $1`, [id]);
    states.push(await live());
    const h = await c.query<{ revision: number; field_name: string | null; old_value: unknown; new_value: unknown }>(
      `select revision, field_name, old_value, new_value from public.event_revisions
        where event_id = $1 and revision > 1 order by revision, id`,
      [id],
    );
    expect(h.rows).toEqual([
      { revision: 2, field_name: 'visibility', old_value: 'unlisted', new_value: 'private' },
      { revision: 3, field_name: 'end_time', old_value: '2026-11-12T13:30:00+00:00', new_value: '2026-11-12T14:00:00+00:00' },
      { revision: 3, field_name: 'duration_minutes', old_value: 90, new_value: 120 },
      { revision: 3, field_name: 'extra', old_value: { k: [1, { n: null }], big: 12345678901234567890 }, new_value: { k: null, big: 12345678901234567890 } },
    ]);
    // Every state read back, one event and all events at once, with the values' own types.
    for (const [i, state] of states.entries()) {
      const r = await c.query(
        `with t as (select max(changed_at) as at from public.event_revisions where event_id = $1 and revision = $2)
         select to_jsonb(public.event_as_of($1, t.at)) - $3::text[] as one,
                (select to_jsonb(e) - $3::text[] from public.events_as_of(t.at) e where e.id = $1) as every,
                pg_typeof((public.event_as_of($1, t.at)).visibility)::text as enum_type,
                (public.event_as_of($1, t.at)).ref_no as ref_no
           from t`,
        [id, i + 1, NOISE_NOW],
      );
      expect(r.rows[0].one, `revision ${i + 1}`).toEqual(state);
      expect(r.rows[0].every, `revision ${i + 1}, events_as_of`).toEqual(state);
      expect(r.rows[0].enum_type).toBe('event_visibility');
      expect(r.rows[0].ref_no).toBe(refNo);
    }
    // The app's view on events still reads (it names the columns scrapeguard's triggers follow).
    const view = await c.query(`select visibility, duration_minutes from public.upcoming_events where id = $1`, [id]);
    expect(view.rowCount).toBe(0); // (not published)
  });

  test("the app's foreign keys and AFTER trigger: a change made by a referential action is recorded; cascades leave history", async () => {
    const src = await c.query<{ id: string }>(
      `insert into public.event_sources (name, base_url) values ('Macau Tourism', 'https://tourism.example') returning id`,
    );
    const sourceId = src.rows[0]!.id;
    const { rows } = await c.query<{ id: string }>(
      `insert into public.events (title, start_time, source_id) values ('Fireworks', '2026-09-12 21:00+08', $1) returning id`,
      [sourceId],
    );
    const id = rows[0]!.id;
    await c.query(`update public.events set status = 'published' where id = $1`, [id]);
    await c.query(`insert into public.event_favorites (user_id, event_id) values ($1, $2)`, [author, id]);
    // The app's own AFTER trigger logged the status change next to scrapeguard's revision.
    const log = await c.query(`select old_status, new_status from public.event_status_log where event_id = $1`, [id]);
    expect(log.rows).toEqual([{ old_status: 'draft', new_status: 'published' }]);
    // ON DELETE SET NULL from event_sources: an update of events no statement named.
    await c.query('delete from public.event_sources where id = $1', [sourceId]);
    await c.query('delete from public.events where id = $1', [id]);
    const h = await c.query(
      `select revision, operation, field_name, old_value, new_value from public.event_revisions
        where event_id = $1 and revision > 1 order by revision, id`,
      [id],
    );
    expect(h.rows).toEqual([
      { revision: 2, operation: 'update', field_name: 'status', old_value: 'draft', new_value: 'published' },
      { revision: 3, operation: 'update', field_name: 'source_id', old_value: sourceId, new_value: null },
      expect.objectContaining({ revision: 4, operation: 'delete', field_name: null }),
    ]);
    const gone = await c.query(
      `select (select count(*)::int from public.event_favorites where event_id = $1) as favorites,
              (select count(*)::int from public.event_status_log where event_id = $1) as log`,
      [id],
    );
    expect(gone.rows[0]).toEqual({ favorites: 0, log: 0 });
    const atRevision2 = await c.query<{ source_id: string | null }>(
      `select (public.event_as_of($1, (select changed_at from public.event_revisions where event_id = $1 and revision = 2))).source_id`,
      [id],
    );
    expect(atRevision2.rows[0]!.source_id).toBe(sourceId);
  });

  test('renaming or dropping a column of events: the documented procedure', async () => {
    // Dropping a tracked column is refused while the trigger's WHEN clause uses it…
    await expect(c.query('alter table public.events drop column title_pt')).rejects.toThrow(/depend/);
    // …so first declare it noise (the trigger is regenerated without it), then drop it.
    await c.query('begin');
    await c.query(`insert into scrapeguard.revision_noise_columns values ('title_pt', 'being dropped')`);
    await c.query('alter table public.events drop column title_pt');
    await c.query(`delete from scrapeguard.revision_noise_columns where column_name = 'title_pt'`);
    await c.query('commit');

    // A rename keeps the WHEN clause but not the generated body: refresh in the same migration.
    expect(await renameColumns(['title_zh', 'title_hant'])).toBe(true);

    const { rows } = await c.query<{ id: string }>(
      `insert into public.events (title, start_time) values ('Grand Prix', '2026-11-19') returning id`,
    );
    await c.query(`update public.events set title_hant = '澳門格蘭披治大賽車' where id = $1`, [rows[0]!.id]);
    expect(await revisions(rows[0]!.id)).toEqual([{ revision: 2, field_name: 'title_hant', actor: 'postgres' }]);

    // The history recorded under the old name moved with the column: reads rebuild it
    // under the new one, from the insert's whole row and from the update rows.
    const festival = await c.query<{ id: string }>(`select id from public.events where title = 'Macau Food Festival 2026'`);
    const fid = festival.rows[0]!.id;
    const past = await c.query<{ first: string | null; later: string | null; now: string | null }>(
      `select (public.event_as_of($1, (select changed_at from public.event_revisions where event_id = $1 and revision = 1))).title_hant as first,
              (public.event_as_of($1, scrapeguard.clock())).title_hant as now,
              (select e.title_hant from public.events_as_of(scrapeguard.clock()) e where e.id = $1) as later`,
      [fid],
    );
    expect(past.rows[0]).toEqual({ first: '澳門美食節', now: '第二十六屆澳門美食節', later: '第二十六屆澳門美食節' });
    const fields = await c.query<{ f: string }>(
      `select distinct field_name as f from public.event_revisions where event_id = $1 and field_name like 'title_%'`,
      [fid],
    );
    expect(fields.rows).toEqual([{ f: 'title_hant' }]);
  });

  test("changing a tracked column's type: the documented procedure (drop the update trigger, alter, refresh)", async () => {
    await expect(c.query('alter table public.events alter column ticket_url type varchar(500)')).rejects.toThrow(
      /trigger definition/,
    );
    await c.query('begin');
    await c.query('drop trigger _scrapeguard_event_revisions_update on public.events');
    await c.query('alter table public.events alter column ticket_url type varchar(500)');
    const changed = await c.query<{ r: boolean }>('select scrapeguard.refresh_event_revision_trigger() as r');
    await c.query('commit');
    expect(changed.rows[0]!.r).toBe(true);
    const { rows } = await c.query<{ id: string }>(
      `insert into public.events (title, start_time) values ('Retyped', '2026-11-22') returning id`,
    );
    await c.query(`update public.events set ticket_url = 'https://tickets.example.com/r' where id = $1`, [rows[0]!.id]);
    expect(await revisions(rows[0]!.id)).toEqual([{ revision: 2, field_name: 'ticket_url', actor: 'postgres' }]);
  });

  test('a column dropped with CASCADE takes the update trigger along; the refresh brings it back', async () => {
    await c.query('alter table public.events add column doomed text');
    await c.query('select scrapeguard.refresh_event_revision_trigger()');
    await c.query('alter table public.events drop column doomed cascade');
    const gone = await c.query(`select 1 from pg_trigger where tgname = '_scrapeguard_event_revisions_update'`);
    expect(gone.rowCount).toBe(0);
    const changed = await c.query<{ r: boolean }>('select scrapeguard.refresh_event_revision_trigger() as r');
    expect(changed.rows[0]!.r).toBe(true);
    const back = await c.query(`select 1 from pg_trigger where tgname = '_scrapeguard_event_revisions_update'`);
    expect(back.rowCount).toBe(1);
  });

  test('renaming a noise column keeps it noise; swapping two names swaps their histories', async () => {
    await renameColumns(['view_count', 'views']);
    const noise = await c.query<{ n: string }>(`select column_name as n from scrapeguard.revision_noise_columns order by 1`);
    expect(noise.rows.map((r) => r.n)).toContain('views');
    expect(noise.rows.map((r) => r.n)).not.toContain('view_count');

    const { rows } = await c.query<{ id: string }>(
      `insert into public.events (title, description, start_time) values ('Swap', 'About the swap', '2026-11-20') returning id`,
    );
    const id = rows[0]!.id;
    await c.query(`update public.events set views = views + 1 where id = $1`, [id]);
    await c.query(`update public.events set description = 'About the swap, revised' where id = $1`, [id]);
    expect(await revisions(id)).toEqual([{ revision: 2, field_name: 'description', actor: 'postgres' }]);
    // One revision changing both columns: the swap must not meet itself in the unique index.
    const both = await c.query<{ id: string }>(
      `insert into public.events (title, description, start_time) values ('T1', 'D1', '2026-11-20') returning id`,
    );
    const bothId = both.rows[0]!.id;
    await c.query(`update public.events set title = 'T2', description = 'D2' where id = $1`, [bothId]);

    await renameColumns(['description', 'swap_tmp'], ['title', 'description'], ['swap_tmp', 'title']);
    const after = await c.query<{ first_title: string; first_description: string; now_title: string }>(
      `select (public.event_as_of($1, (select changed_at from public.event_revisions where event_id = $1 and revision = 1))).title as first_title,
              (public.event_as_of($1, (select changed_at from public.event_revisions where event_id = $1 and revision = 1))).description as first_description,
              (public.event_as_of($1, scrapeguard.clock())).title as now_title`,
      [id],
    );
    expect(after.rows[0]).toEqual({ first_title: 'About the swap', first_description: 'Swap', now_title: 'About the swap, revised' });
    expect(await revisions(id)).toEqual([{ revision: 2, field_name: 'title', actor: 'postgres' }]);
    const swapped = await c.query(
      `select field_name, old_value, new_value from public.event_revisions where event_id = $1 and revision = 2 order by field_name`,
      [bothId],
    );
    expect(swapped.rows).toEqual([
      { field_name: 'description', old_value: 'T1', new_value: 'T2' },
      { field_name: 'title', old_value: 'D1', new_value: 'D2' },
    ]);
  });

  test("a rename onto a dropped column's name: the dropped column's history is set aside, the renamed one stays tracked", async () => {
    await c.query('alter table public.events add column subtitle text, add column kicker text');
    await c.query('select scrapeguard.refresh_event_revision_trigger()');
    const { rows } = await c.query<{ id: string }>(
      `insert into public.events (title, description, start_time, subtitle, kicker) values ('Reuse', 'R', '2026-11-24', 'S1', 'K1') returning id`,
    );
    const id = rows[0]!.id;
    await c.query(`update public.events set subtitle = 'S2', kicker = 'K2' where id = $1`, [id]);
    // The documented drop (noise first, then drop), its noise entry left behind; then the reuse.
    await c.query(`insert into scrapeguard.revision_noise_columns values ('subtitle', 'being dropped')`);
    await c.query('alter table public.events drop column subtitle');
    await renameColumns(['kicker', 'subtitle']);

    const now = await c.query<{ subtitle: string }>(`select (public.event_as_of($1, scrapeguard.clock())).subtitle`, [id]);
    expect(now.rows[0]!.subtitle).toBe('K2');
    const fields = await c.query<{ f: string; v: string }>(
      `select regexp_replace(field_name, ' \\(dropped \\d+\\)$', ' (dropped …)') as f, new_value #>> '{}' as v
         from public.event_revisions where event_id = $1 and revision = 2 order by 1`,
      [id],
    );
    expect(fields.rows).toEqual([
      { f: 'subtitle', v: 'K2' },
      { f: 'subtitle (dropped …)', v: 'S2' },
    ]);
    await c.query(`update public.events set subtitle = 'K3' where id = $1`, [id]);
    expect((await revisions(id)).at(-1)).toEqual({ revision: 3, field_name: 'subtitle', actor: 'postgres' });

    // The name reused a second time (the rows set aside the first time stay apart).
    await c.query('alter table public.events add column lede text');
    await c.query('select scrapeguard.refresh_event_revision_trigger()');
    await c.query(`update public.events set subtitle = 'K4', lede = 'L1' where id = $1`, [id]);
    await dropColumn('subtitle');
    await renameColumns(['lede', 'subtitle']);
    const again = await c.query<{ subtitle: string }>(`select (public.event_as_of($1, scrapeguard.clock())).subtitle`, [id]);
    expect(again.rows[0]!.subtitle).toBe('L1');
    await dropColumn('subtitle');
  });

  test("a column added under a dropped column's name starts without that column's history", async () => {
    await c.query('alter table public.events add column badge text');
    await c.query('select scrapeguard.refresh_event_revision_trigger()');
    const { rows } = await c.query<{ id: string }>(
      `insert into public.events (title, description, start_time, badge) values ('Badge', 'B', '2026-11-27', 'old') returning id`,
    );
    const id = rows[0]!.id;
    await c.query(`update public.events set badge = 'older' where id = $1`, [id]);
    await dropColumn('badge');
    await c.query('alter table public.events add column badge text');
    await c.query('select scrapeguard.refresh_event_revision_trigger()');
    const now = await c.query<{ badge: string | null }>(`select (public.event_as_of($1, scrapeguard.clock())).badge`, [id]);
    expect(now.rows[0]!.badge).toBeNull();
    await dropColumn('badge');
  });

  test("a refresh with nothing to carry takes no lock a rename's refresh would wait for (no deadlock through events)", async () => {
    const other = await app.client();
    try {
      await other.query('begin');
      await other.query('select scrapeguard.refresh_event_revision_trigger()');
      // `other` stays open; a rename and its refresh must go through without waiting for it.
      await c.query("set lock_timeout = '3s'");
      await renameColumns(['ticket_url', 'tickets_url']);
      await other.query('commit');
      await renameColumns(['tickets_url', 'ticket_url']);
    } finally {
      await c.query('rollback'); // (a no-op after the commits above)
      await c.query('reset lock_timeout');
      await other.end();
    }
  });

  test("an operator's own noise entry for a renamed column's new name stays; history is carried only at READ COMMITTED", async () => {
    await c.query('alter table public.events rename column scrape_hash to page_hash');
    await c.query(`update scrapeguard.revision_noise_columns set column_name = 'page_hash' where column_name = 'scrape_hash'`);
    const noise = await c.query(`select 1 from scrapeguard.revision_noise_columns where column_name = 'page_hash'`);
    expect(noise.rowCount).toBe(1);
    await c.query('begin isolation level repeatable read');
    await c.query('alter table public.events rename column page_hash to scrape_hash');
    await expect(c.query('select scrapeguard.refresh_event_revision_trigger()')).rejects.toThrow(/READ COMMITTED/);
    await c.query('rollback');
    await c.query('alter table public.events rename column page_hash to scrape_hash');
    await c.query('select scrapeguard.refresh_event_revision_trigger()');
    const back = await c.query(`select 1 from scrapeguard.revision_noise_columns where column_name = 'scrape_hash'`);
    expect(back.rowCount).toBe(1);
  });

  test('names recorded for another events table (recreated, restored from a dump) are not taken for renames', async () => {
    const { rows } = await c.query<{ id: string }>(
      `insert into public.events (title, description, start_time) values ('Restored', 'Kept', '2026-11-25') returning id`,
    );
    const before = await c.query(`select * from public.event_revisions where event_id = $1 order by id`, [rows[0]!.id]);
    // As a restore leaves them: recorded for a table with another oid, numbered differently.
    await c.query(`update scrapeguard.event_column_names set events_oid = 1, column_name = column_name || '_then'`);
    await c.query('select scrapeguard.refresh_event_revision_trigger()');
    const after = await c.query(`select * from public.event_revisions where event_id = $1 order by id`, [rows[0]!.id]);
    expect(after.rows).toEqual(before.rows);
    const names = await c.query<{ n: number }>(
      `select count(*)::int as n from scrapeguard.event_column_names where events_oid = 'public.events'::regclass and column_name not like '%\\_then'`,
    );
    expect(names.rows[0]!.n).toBeGreaterThan(20);
  });

  test('two refreshes at once wait for each other; a pruning waits for a rename to carry its history over', async () => {
    const other = await app.client();
    try {
      await c.query('begin');
      await c.query('select scrapeguard.refresh_event_revision_trigger()');
      const second = other.query('select scrapeguard.refresh_event_revision_trigger() as r');
      await new Promise((r) => setTimeout(r, 200));
      await c.query('commit');
      expect((await second).rows[0].r).toBe(false);

      const { rows } = await c.query<{ id: string }>(
        `insert into public.events (title, description, start_time) values ('Pruned', 'd1', '2026-11-26') returning id`,
      );
      const id = rows[0]!.id;
      await c.query(`update public.events set description = 'd2' where id = $1`, [id]);
      await c.query(`update public.events set description = 'd3' where id = $1`, [id]);
      await c.query('begin');
      await c.query('alter table public.events rename column description to summary');
      await c.query('select scrapeguard.refresh_event_revision_trigger()');
      const prune = other.query('select * from public.prune_event_revisions(keep_last => 1)');
      await new Promise((r) => setTimeout(r, 200));
      await c.query('commit');
      await prune;
      const at2 = await c.query<{ s: string }>(
        `select (public.event_as_of($1, (select max(changed_at) from public.event_revisions where event_id = $1 and revision = 2))).summary as s`,
        [id],
      );
      expect(at2.rows[0]!.s).toBe('d2');
      await renameColumns(['summary', 'description']);
    } finally {
      await other.end();
    }
  });

  test("a change is recorded before an app AFTER trigger's own write of the same event", async () => {
    // An app trigger that fills a slug after insert and stamps the description after a
    // title change: both write the event again from inside the statement.
    await c.query(`
      create function public.test_events_follow_up() returns trigger language plpgsql as $f$
      begin
        if tg_op = 'INSERT' then
          update public.events set slug = 'slug-' || new.id where id = new.id;
        elsif new.description is not distinct from old.description and new.title is distinct from old.title then
          update public.events set description = 'was: ' || old.title where id = new.id;
        end if;
        return null;
      end $f$;
      create trigger events_follow_up after insert or update on public.events
        for each row when (pg_trigger_depth() < 1) execute function public.test_events_follow_up();`);
    try {
      const { rows } = await c.query<{ id: string }>(
        // (description is the NOT NULL column since the swap above)
        `insert into public.events (title, description, start_time) values ('Follow-up', 'An event', '2026-11-21') returning id`,
      );
      const id = rows[0]!.id;
      await c.query(`update public.events set title = 'Follow-up, renamed' where id = $1`, [id]);
      const h = await c.query<{ revision: number; operation: string; field_name: string | null }>(
        `select revision, operation, field_name from public.event_revisions where event_id = $1 order by revision, id`,
        [id],
      );
      expect(h.rows).toEqual([
        { revision: 1, operation: 'insert', field_name: null },
        { revision: 2, operation: 'update', field_name: 'slug' },
        { revision: 3, operation: 'update', field_name: 'title' },
        { revision: 4, operation: 'update', field_name: 'description' },
      ]);
      const exact = await c.query(
        `select to_jsonb(public.event_as_of($1, scrapeguard.clock())) - $2::text[] as a,
                (select to_jsonb(e) - $2::text[] from public.events e where e.id = $1) as b`,
        [id, ['updated_at', 'last_scraped_at', 'scrape_hash', 'search_vector', 'views']],
      );
      expect(exact.rows[0].a).toEqual(exact.rows[0].b);
    } finally {
      await c.query('drop trigger events_follow_up on public.events; drop function public.test_events_follow_up()');
    }
  });
});
