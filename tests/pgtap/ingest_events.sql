-- ingest_events: created / updated / unchanged counts, idempotence, bad items isolated
-- with their SQLSTATE and nothing written for them, attribution, the run's counts,
-- finish_run adding to them, keys per source, the completeness report, and the
-- x-scrapeguard-run-id header fallback of the revision triggers.
begin;
set local search_path = public, extensions;
select plan(50);

set local scrapeguard.now = '2026-05-01 10:00:00+00';
insert into public.event_sources (id, name, base_url) values
  ('1e000000-0000-4000-8000-000000000001', 'ingest source', 'https://a.example'),
  ('1e000000-0000-4000-8000-000000000002', 'other source', 'https://b.example');
create temp table t_run as
  select public.start_run('1e000000-0000-4000-8000-000000000001', 'feed', worker => 'w1') as id;

create temp table t_batch (n int primary key, items jsonb);
insert into t_batch values (1, $$[
  {"key": "https://a.example/e/1", "title": "Jazz Night", "start_time": "2026-06-01T20:00:00+08:00", "tags": ["music"]},
  {"key": "https://a.example/e/2", "title": "Food Fair", "start_time": "2026-06-02T11:00:00+08:00", "price_range": [0, 50]},
  {"key": "https://a.example/e/3", "title": "Film Week", "start_time": "2026-06-03T19:00:00+08:00", "status": "published"}
]$$);

-- ---------------------------------------------------------------- create, then idempotence
create temp table t_r1 as
  select public.ingest_events((select id from t_run), (select items from t_batch where n = 1), actor => 'scraper:w1') as r;
select results_eq($$select (r->>'created')::int, (r->>'updated')::int, (r->>'unchanged')::int, (r->>'failed')::int,
                           r->'errors', jsonb_array_length(r->'event_ids') from t_r1$$,
  $$values (3, 0, 0, 0, '[]'::jsonb, 3)$$, 'a new batch: 3 created, nothing else');
select results_eq($$select e.title, e.start_time, e.tags, e.price_range, e.status
                      from t_r1, jsonb_array_elements_text(r->'event_ids') with ordinality as i (id, n)
                      join public.events e on e.id = i.id::uuid order by i.n$$,
  $$values ('Jazz Night', '2026-06-01 12:00+00'::timestamptz, '{music}'::text[], null::int[], 'draft'),
           ('Food Fair', '2026-06-02 03:00+00'::timestamptz, '{}'::text[], '{0,50}'::int[], 'draft'),
           ('Film Week', '2026-06-03 11:00+00'::timestamptz, '{}'::text[], null::int[], 'published')$$,
  'the events hold the items'' columns, in order of event_ids, and the table''s defaults for the rest');
select results_eq($$select k.key, k.event_id from public.event_source_keys k
                     where k.source_id = '1e000000-0000-4000-8000-000000000001' order by k.key$$,
  $$select b->>'key', (r->'event_ids'->>(i.n::int - 1))::uuid
      from t_r1, jsonb_array_elements((select items from t_batch where n = 1)) with ordinality as i (b, n) order by 1$$,
  'each key maps to its event');
select results_eq($$select r.operation, r.run_id, r.actor from public.event_revisions r
                     where r.event_id in (select i::uuid from t_r1, jsonb_array_elements_text(r->'event_ids') i)$$,
  $$select 'insert', (select id from t_run), 'scraper:w1' from generate_series(1, 3)$$,
  'each insert is attributed to the run and the actor');
select results_eq($$select events_found, events_created, events_updated, events_skipped, events_failed
                     from public.scraping_runs where id = (select id from t_run)$$,
  $$values (3, 3, 0, 0, 0)$$, 'the run counted the batch while running');

create temp table t_revs as select count(*) as n, max(id) as last_id from public.event_revisions;
create temp table t_xmin as select id, xmin::text as x from public.events;
create temp table t_r2 as
  select public.ingest_events((select id from t_run), (select items from t_batch where n = 1)) as r;
select results_eq($$select (r->>'created')::int, (r->>'updated')::int, (r->>'unchanged')::int, r->'event_ids' from t_r2$$,
  $$select 0, 0, 3, r->'event_ids' from t_r1$$, 'the same batch again: all unchanged, the same events');
select is((select count(*) from public.event_revisions), (select n from t_revs), 'an unchanged item writes no revision');
select is_empty($$select from public.events e join t_xmin x on x.id = e.id where e.xmin::text <> x.x$$,
  'an unchanged item writes no row version of its event');

-- Noise alone is no change; a real change writes the changed fields only, with noise along.
create temp table t_r3 as
  select public.ingest_events((select id from t_run), $$[
    {"key": "https://a.example/e/1", "title": "Jazz Night", "start_time": "2026-06-01T20:00:00+08:00", "tags": ["music"],
     "scrape_hash": "h2", "last_scraped_at": "2026-05-01T10:00:00Z"},
    {"key": "https://a.example/e/2", "title": "Food Fair 2026", "start_time": "2026-06-02T11:00:00+08:00",
     "price_range": [10, 60], "scrape_hash": "h2"}
  ]$$) as r;
select results_eq($$select (r->>'created')::int, (r->>'updated')::int, (r->>'unchanged')::int from t_r3$$,
  $$values (0, 1, 1)$$, 'noise columns alone: unchanged; a changed title and price: updated');
select is((select scrape_hash from public.events where id = (select (r->'event_ids'->>0)::uuid from t_r1)), null,
  'an item changed only in noise columns writes nothing (scrape_hash not refreshed)');
select is((select scrape_hash from public.events where id = (select (r->'event_ids'->>1)::uuid from t_r1)), 'h2',
  'noise columns are written along with a real change');
select results_eq($$select field_name, old_value, new_value, run_id, actor from public.event_revisions
                     where id > (select last_id from t_revs) order by id$$,
  $$values ('title', '"Food Fair"'::jsonb, '"Food Fair 2026"'::jsonb, (select id from t_run), 'postgres'),
           ('price_range', '[0, 50]'::jsonb, '[10, 60]'::jsonb, (select id from t_run), 'postgres')$$,
  'one revision row per changed field, attributed to the run; the actor defaults to the caller');

-- ---------------------------------------------------------------- bad items
create temp table t_before as select count(*) as events, (select count(*) from public.event_source_keys) as keys
  from public.events;
create temp table t_r4 as
  select public.ingest_events((select id from t_run), $$[
    {"key": "https://a.example/e/10", "title": "Fine", "start_time": "2026-07-01T10:00:00Z"},
    {"key": "https://a.example/e/11", "title": "No start"},
    {"key": "https://a.example/e/12", "title": "Bad status", "start_time": "2026-07-01T10:00:00Z", "status": "maybe"},
    {"key": "https://a.example/e/13", "title": "Bad time", "start_time": "next tuesday-ish"},
    {"key": "https://a.example/e/14", "title": "Unknown column", "start_time": "2026-07-01T10:00:00Z", "colour": "red"},
    {"key": "https://a.example/e/15", "id": "1e000000-0000-4000-8000-0000000000ff", "title": "Own id", "start_time": "2026-07-01"},
    {"title": "No key", "start_time": "2026-07-01"},
    "not an object",
    {"key": "https://a.example/e/10", "title": "Same key again", "start_time": "2026-07-01T10:00:00Z"},
    {"key": "https://a.example/e/3", "title": "Film Week", "start_time": "2026-06-03T19:00:00+08:00", "status": "unknown"},
    {"key": "https://a.example/e/16", "title": "Bad array", "start_time": "2026-07-01T10:00:00Z", "price_range": "cheap"},
    {"key": "https://a.example/e/17", "title": "Fine too", "start_time": "2026-07-02T10:00:00Z"}
  ]$$) as r;
select results_eq($$select (r->>'created')::int, (r->>'updated')::int, (r->>'unchanged')::int, (r->>'failed')::int from t_r4$$,
  $$values (2, 0, 0, 10)$$, 'bad items do not fail the batch: 2 created, 10 failed');
select results_eq($$select (e->>'index')::int, e->>'key', e->>'sqlstate' from t_r4, jsonb_array_elements(r->'errors') e$$,
  $$values (1, 'https://a.example/e/11', '23502'), (2, 'https://a.example/e/12', '23514'),
           (3, 'https://a.example/e/13', '22007'), (4, 'https://a.example/e/14', '42703'),
           (5, 'https://a.example/e/15', '428C9'), (6, null, '22023'), (7, null, '22023'),
           (8, 'https://a.example/e/10', '21000'), (9, 'https://a.example/e/3', '23514'),
           (10, 'https://a.example/e/16', '22P02')$$,
  'each bad item is listed with its index, key and SQLSTATE, in order');
select ok((select bool_and(length(e->>'message') > 0) from t_r4, jsonb_array_elements(r->'errors') e),
  'each error has a message');
select matches((select e->>'message' from t_r4, jsonb_array_elements(r->'errors') e where e->>'index' = '4'),
  'colour', 'an unknown column is named');
select results_eq($$select (select count(*) from public.events) - events, (select count(*) from public.event_source_keys) - keys
                     from t_before$$,
  $$values (2::bigint, 2::bigint)$$, 'nothing of a bad item is written: only the two good items'' events and keys');
select results_eq($$select r->'event_ids'->>1 is null, r->'event_ids'->>0 is not null, r->'event_ids'->>11 is not null from t_r4$$,
  $$values (true, true, true)$$, 'a bad item has no event id');
select is((select status from public.events where id = (select (r->'event_ids'->>2)::uuid from t_r1)), 'published',
  'a bad update leaves the event as it was');
select results_eq($$select events_found, events_created, events_updated, events_skipped, events_failed
                     from public.scraping_runs where id = (select id from t_run)$$,
  $$values (3 + 3 + 2 + 12, 3 + 2, 1, 3 + 1, 10)$$, 'every batch was added to the run''s counts');

-- ---------------------------------------------------------------- keys per source
create temp table t_run_b as select public.start_run('1e000000-0000-4000-8000-000000000002', 'feed') as id;
create temp table t_r5 as
  select public.ingest_events((select id from t_run_b),
    '[{"key": "https://a.example/e/1", "title": "Another source''s Jazz Night", "start_time": "2026-06-01T12:00:00Z"}]') as r;
select is((select (r->>'created')::int from t_r5), 1, 'a key reused by another source is another event');
select isnt((select r->'event_ids'->>0 from t_r5), (select r->'event_ids'->>0 from t_r1), 'two sources, two events');
select is((select title from public.events where id = (select (r->'event_ids'->>0)::uuid from t_r1)), 'Jazz Night',
  'the first source''s event is untouched');

-- ---------------------------------------------------------------- an event deleted by the app
delete from public.events where id = (select (r->'event_ids'->>2)::uuid from t_r1);
create temp table t_r6 as
  select public.ingest_events((select id from t_run),
    '[{"key": "https://a.example/e/3", "title": "Film Week", "start_time": "2026-06-03T11:00:00Z"}]') as r;
select is((select (r->>'created')::int from t_r6), 1, 'a key whose event the app deleted creates a new event');
select is((select event_id from public.event_source_keys where key = 'https://a.example/e/3'
             and source_id = '1e000000-0000-4000-8000-000000000001'),
          (select (r->'event_ids'->>0)::uuid from t_r6), 'the key now names the new event');

-- ---------------------------------------------------------------- completeness
set local scrapeguard.now = '2026-05-02 10:00:00+00';
select public.finish_run((select id from t_run), 'succeeded');
create temp table t_run2 as select public.start_run('1e000000-0000-4000-8000-000000000001', 'feed') as id;
create temp table t_r7 as
  select public.ingest_events((select id from t_run2), $$[
    {"key": "https://a.example/e/1", "title": "Jazz Night", "start_time": "2026-06-01T20:00:00+08:00", "tags": ["music"]},
    {"key": "https://a.example/e/2", "title": "Food Fair 2026", "start_time": "2026-06-02T11:00:00+08:00"}
  ]$$) as r;
create temp table t_r8 as
  select public.ingest_events((select id from t_run2),
    '[{"key": "https://a.example/e/10", "title": "Fine", "start_time": "2026-07-01T10:00:00Z"}]', complete => true) as r;
select is((select r->'missing_keys' from t_r8), '["https://a.example/e/17", "https://a.example/e/3"]'::jsonb,
  'complete => true: the source''s keys no batch of this run saw');
select is((select r ? 'missing_keys' from t_r7), false, 'without complete, no report');
select is((select count(*)::int from public.event_source_keys where source_id = '1e000000-0000-4000-8000-000000000001'), 5,
  'the report deletes nothing');

-- ---------------------------------------------------------------- finish_run adds to the counts
select results_eq($$select events_found, events_created, events_updated, events_skipped, events_failed
                     from public.finish_run((select id from t_run2), 'succeeded', events_found => 4, events_failed => 1)$$,
  $$values (3 + 4, 0, 0, 3, 1)$$, 'finish_run adds its counts to those ingest_events recorded');
select results_eq($$select events_found, events_created, events_updated, events_skipped, events_failed
                     from public.scraping_runs where id = (select id from t_run)$$,
  $$values (21, 6, 1, 4, 10)$$, 'finish_run without counts keeps what ingest_events counted');

-- ---------------------------------------------------------------- refusals
select throws_ok($$select public.ingest_events((select id from t_run), '[]')$$, 'SG003', null,
  'a finished run takes no more events: SG003');
select throws_ok($$select public.ingest_events('1e000000-0000-4000-8000-0000000000aa', '[]')$$, 'SG002', null,
  'an unknown run: SG002');
select throws_ok($$select public.ingest_events((select id from t_run_b), '{"key": "x"}')$$, '22023', null,
  'events must be an array: 22023');
select throws_ok($$select public.ingest_events((select id from t_run_b), null)$$, '22004', null, 'null events: 22004');
select throws_ok($$select public.ingest_events((select id from t_run_b), '[]', actor => '')$$, '22023', null,
  'a blank actor: 22023');
select is((select public.ingest_events((select id from t_run_b), '[]') ->> 'created'), '0', 'an empty batch is fine');
select ok(current_setting('scrapeguard.run_id', true) is distinct from (select id::text from t_run_b),
  'the change context is given back after the call');

-- ---------------------------------------------------------------- the header fallback
create temp table t_ev as select (r->'event_ids'->>0)::uuid as id from t_r5;
grant select on t_ev, t_run_b, t_run2 to service_role, authenticated;
create temp table t_mark as select max(id) as last_id from public.event_revisions;
set local role service_role;
select set_config('request.jwt.claims', '{"role": "service_role"}', true);
select set_config('request.headers', json_build_object('x-scrapeguard-run-id', (select id from t_run_b), 'accept', '*/*')::text, true);
update public.events set title = 'via header' where id = (select id from t_ev);
select set_config('request.headers', '{"x-scrapeguard-run-id":"not-a-uuid"}', true);
select lives_ok($$update public.events set title = 'malformed header' where id = (select id from t_ev)$$,
  'a malformed run id in the header never fails the write');
select set_config('request.headers', '{"x-scrapeguard-run-id":"1e000000-0000-4000-8000-0000000000aa"}', true);
select lives_ok($$update public.events set title = 'unknown run' where id = (select id from t_ev)$$,
  'an unknown run in the header never fails the write');
select set_config('request.headers', json_build_object('x-scrapeguard-run-id', (select id from t_run2))::text, true);
select lives_ok($$update public.events set title = 'finished run' where id = (select id from t_ev)$$,
  'a finished run in the header never fails the write');
select set_config('request.headers', '{not json', true);
select lives_ok($$update public.events set title = 'garbled headers' where id = (select id from t_ev)$$,
  'headers that are not JSON never fail the write');
reset role;
select set_config('request.headers', json_build_object('x-scrapeguard-run-id', (select id from t_run2))::text, true);
select public.set_change_context((select id from t_run_b), 'ctx');
update public.events set title = 'context wins' where id = (select id from t_ev);
select public.set_change_context(null, null);
select results_eq($$select new_value #>> '{}', run_id from public.event_revisions
                     where id > (select last_id from t_mark) and field_name = 'title' order by id$$,
  $$values ('via header', (select id from t_run_b)), ('malformed header', null), ('unknown run', null),
           ('finished run', null), ('garbled headers', null), ('context wins', (select id from t_run_b))$$,
  'the header names the run when no context is set; a malformed, unknown or finished run leaves it unattributed; a context wins');
select is((select actor from public.event_revisions where id > (select last_id from t_mark) order by id limit 1),
  'service_role', 'the header names the run, the actor stays the caller');
select set_config('request.headers', '', true);

-- The header is honoured for the service role only: a user of the API cannot claim a run
-- (the functions are granted here only to call them as that user; the test rolls back).
-- header_run_id() tests the role itself, so it says null when called directly too.
grant execute on function scrapeguard.current_change_run_id(), scrapeguard.header_run_id() to authenticated;
set local role authenticated;
select set_config('request.headers', json_build_object('x-scrapeguard-run-id', (select id from t_run_b))::text, true);
select is(scrapeguard.current_change_run_id(), null::uuid, 'for authenticated, the header names no run');
select is(scrapeguard.header_run_id(), null::uuid, 'for authenticated, header_run_id() itself names no run');
reset role;
select set_config('request.headers', '', true);

-- The rule is embedded in the generated triggers (no function call per revision). It
-- names no table: a subquery of scraping_runs in the trigger's statement, even one that
-- never ran, was locked and set up at every write, header or not. The header's run is
-- read by header_run_id(), called only when the headers name it (the first version
-- matched a pattern for every row of scraping_runs). Both are STABLE: a VOLATILE function
-- in the trigger's INSERT … SELECT kept the planner from flattening it, and the subquery
-- scan that stayed was set up at every write, header or not.
select is((select pg_catalog.array_agg(p.provolatile::text order by p.oid::regprocedure::text)
             from pg_catalog.pg_proc p
            where p.oid in ('scrapeguard.current_change_run_id()'::regprocedure, 'scrapeguard.header_run_id()'::regprocedure)),
  array['s', 's'], 'current_change_run_id() and header_run_id() are STABLE');
select isnt(scrapeguard.function_body_expression('scrapeguard.current_change_run_id()'), null,
  'current_change_run_id() is one expression, embeddable in the trigger code');
select ok((select p.prosrc ~ 'x-scrapeguard-run-id' and p.prosrc ~ 'scrapeguard\.header_run_id\(\)'
             and p.prosrc !~ 'scraping_runs'
             from pg_catalog.pg_proc p
            where p.oid = 'scrapeguard.event_revisions_on_update()'::regprocedure),
  'the update trigger embeds the header rule, which reads no table itself');
create temp table t_plan (line text);
do $$
declare
  l text;
begin
  for l in execute 'explain select ' || scrapeguard.function_body_expression('scrapeguard.current_change_run_id()') loop
    insert into t_plan values (l);
  end loop;
end
$$;
select ok((select count(*) = 1 and bool_and(line ~ '^Result') from t_plan),
  'the rule is a plan of one Result node: no subquery, no scan');

-- ingest_events probes events once per item by the id its key names: a Memoize cache over
-- that probe never hits (every item names another event) and only costs, so the function
-- turns it off for its call.
select ok((select p.proconfig @> array['enable_memoize=off'] and p.proconfig @> array['search_path=""']
             from pg_catalog.pg_proc p
            where p.oid = 'public.ingest_events(uuid, jsonb, boolean, text)'::regprocedure),
  'ingest_events runs with enable_memoize off (and search_path empty)');

select * from finish();
rollback;
