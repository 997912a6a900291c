/**
 * run.ingest() over both transports (pg, and supabase-js against the PostgREST stand-in),
 * with real scraped data (NUL bytes, cut emoji, BigInt, Dates, 20,000-character lines);
 * and attribution of direct supabase-js writes to events by the x-scrapeguard-run-id
 * header (per request with setHeader, or a client created with it as a global header).
 */
import { createClient } from '@supabase/supabase-js';
import { describe, expect, test } from 'vitest';
import {
  createScrapeguard,
  RUN_ID_HEADER,
  RunAlreadyFinishedError,
  ValidationError,
  type Database,
  type IngestItem,
  type Scrapeguard,
} from '../../sdk/index.js';
import { makeJwt, PostgrestStandIn } from './postgrest-standin.js';
import { sdkFixture } from './support.js';

const f = await sdkFixture();
const standIn = new PostgrestStandIn(f.pool);
const serviceKey = makeJwt({ role: 'service_role', iss: 'supabase' });

class NoRealtime {
  constructor() {
    throw new Error('realtime is not used in these tests');
  }
}

function supabaseWith(key: string, headers: Record<string, string> = {}) {
  return createClient<Database>('http://project.supabase.test', key, {
    global: { fetch: standIn.fetch, headers },
    auth: { persistSession: false, autoRefreshToken: false },
    realtime: { transport: NoRealtime as never },
  });
}

const transports: [string, Scrapeguard][] = [
  ['pg', f.sg],
  ['supabase-js', createScrapeguard({ supabase: supabaseWith(serviceKey) })],
];

function page(prefix: string): IngestItem[] {
  return [
    { key: `${prefix}/1`, title: 'Fado\u0000 Night', start_time: new Date('2026-09-01T12:00:00Z'), tags: ['music'] },
    { key: `${prefix}/2`, title: 'Cut emoji \ud83c', start_time: '2026-09-02T12:00:00Z', description: 'y'.repeat(20_000) },
    { key: `${prefix}/3`, title: 'Big price', start_time: '2026-09-03T12:00:00Z', price_range: [10n, 20n] },
    { key: `${prefix}/4`, title: 'No start' },
    { key: `${prefix}/5`, title: 'Bad status', start_time: '2026-09-05T12:00:00Z', status: 'someday' },
  ];
}

for (const [name, sg] of transports) {
  describe(`run.ingest over ${name}`, () => {
    test('batches are summed, errors counted from the start of the list, the run counts them, finish keeps them', async () => {
      const source = await f.createSource(`Ingest ${name}`);
      const run = await sg.runs.start({ sourceId: source, engine: 'feed', worker: 'w' });
      standIn.requests.length = 0;
      const r = await run.ingest(page(name), { batchSize: 2 });
      expect(r).toMatchObject({ created: 3, updated: 0, unchanged: 0, failed: 2 });
      expect(r.errors.map((e) => [e.index, e.key, e.sqlstate])).toEqual([
        [3, `${name}/4`, '23502'],
        [4, `${name}/5`, '23514'],
      ]);
      expect(r.event_ids).toHaveLength(5);
      expect(r.event_ids.slice(3)).toEqual([null, null]);
      if (name === 'supabase-js') {
        // Three calls of at most 2 items, each carrying the run's header.
        const calls = standIn.requests.filter((q) => q.path === '/rpc/ingest_events');
        expect(calls.map((q) => (q.body as { events: unknown[] }).events.length)).toEqual([2, 2, 1]);
        expect(calls.every((q) => q.headers[RUN_ID_HEADER] === run.id)).toBe(true);
      }
      const rows = await f.admin.query(`select title, price_range, length(description) as d from public.events where id = any($1::uuid[]) order by title`, [
        r.event_ids.slice(0, 3),
      ]);
      expect(rows.rows).toEqual([
        { title: 'Big price', price_range: [10, 20], d: null },
        { title: 'Cut emoji \ufffd', price_range: null, d: 20_000 },
        { title: 'Fado Night', price_range: null, d: null },
      ]);

      // Again, with one change: the rest is unchanged; the revisions name the run.
      const again = page(name);
      again[2] = { ...again[2]!, price_range: [15, 25] };
      const r2 = await run.ingest(again, { batchSize: 3, actor: `scraper:${name}` });
      expect(r2).toMatchObject({ created: 0, updated: 1, unchanged: 2, failed: 2, event_ids: r.event_ids });
      const rev = await f.admin.query(`select field_name, run_id, actor from public.event_revisions where event_id = $1 and operation = 'update'`, [
        r.event_ids[2],
      ]);
      expect(rev.rows).toEqual([{ field_name: 'price_range', run_id: run.id, actor: `scraper:${name}` }]);
      expect(run.ingested).toMatchObject({ created: 3, updated: 1, unchanged: 2, failed: 4 });

      const done = await run.finish({ status: 'partial' });
      expect(done).toMatchObject({ events_found: 10, events_created: 3, events_updated: 1, events_skipped: 2, events_failed: 4 });
      await expect(run.ingest(page(name))).rejects.toBeInstanceOf(RunAlreadyFinishedError);
    });

    test('complete: the keys of the source this run did not see', async () => {
      const source = await f.createSource(`Complete ${name}`);
      const first = await sg.runs.start({ sourceId: source, engine: 'feed' });
      await first.ingest(page(`c-${name}`).slice(0, 3));
      await first.finish({ status: 'succeeded' });
      const second = await sg.runs.start({ sourceId: source, engine: 'feed' });
      const r = await second.ingest(page(`c-${name}`).slice(0, 2), { batchSize: 1, complete: true });
      expect(r.missing_keys).toEqual([`c-${name}/3`]);
      await second.finish({ status: 'succeeded' });
    });

    test('a batch size out of range is refused before any call', async () => {
      const source = await f.createSource(`Batch ${name}`);
      const run = await sg.runs.start({ sourceId: source, engine: 'feed' });
      await expect(run.ingest([], { batchSize: 0 })).rejects.toBeInstanceOf(ValidationError);
      await expect(run.ingest([], { batchSize: 10_001 })).rejects.toMatchObject({ argument: 'batchSize' });
      await run.finish({ status: 'cancelled' });
    });
  });
}

describe('direct supabase-js writes to events, attributed by the header', () => {
  test('setHeader on one request, or a client created with the run header', async () => {
    const source = await f.createSource('Header writes');
    const run = await f.sg.runs.start({ sourceId: source, engine: 'api' });
    const supabase = supabaseWith(serviceKey);
    const inserted = await supabase
      .from('events')
      .insert({ title: 'Direct insert', start_time: '2026-09-10T10:00:00Z' })
      .select('id')
      .setHeader(RUN_ID_HEADER, run.id);
    expect(inserted.error).toBeNull();
    const id = inserted.data![0]!.id;

    const perRun = supabaseWith(serviceKey, run.headers);
    const updated = await perRun.from('events').update({ title: 'Direct update' }).eq('id', id).select('id');
    expect(updated.error).toBeNull();
    expect(standIn.requests.at(-1)?.headers[RUN_ID_HEADER]).toBe(run.id);

    // Without the header: unattributed. After the run finished: unattributed, never an error.
    await supabase.from('events').update({ title: 'No header' }).eq('id', id);
    await run.finish({ status: 'succeeded' });
    const late = await perRun.from('events').update({ title: 'After the run' }).eq('id', id).select('id');
    expect(late.error).toBeNull();

    const h = await f.admin.query(
      `select operation, coalesce(new_value ->> 'title', new_value #>> '{}') as title, run_id, actor
         from public.event_revisions where event_id = $1 order by revision`,
      [id],
    );
    expect(h.rows).toEqual([
      { operation: 'insert', title: 'Direct insert', run_id: run.id, actor: 'service_role' },
      { operation: 'update', title: 'Direct update', run_id: run.id, actor: 'service_role' },
      { operation: 'update', title: 'No header', run_id: null, actor: 'service_role' },
      { operation: 'update', title: 'After the run', run_id: null, actor: 'service_role' },
    ]);
  });

  test('the anon key with the header writes nothing and claims nothing', async () => {
    const source = await f.createSource('Header anon');
    const run = await f.sg.runs.start({ sourceId: source, engine: 'api' });
    const anon = supabaseWith(makeJwt({ role: 'anon' }), run.headers);
    const r = await anon.from('events').insert({ title: 'Anon', start_time: '2026-09-11T10:00:00Z' });
    expect(r.error?.code).toBe('42501');
    await run.finish({ status: 'cancelled' });
  });
});
