-- Point-in-time reads: event_history, event_as_of, events_as_of.
begin;
set local search_path = public, extensions;
select plan(32);

-- The live rows after each step, to compare the rebuilt ones with.
create temp table seen (at timestamptz, id uuid, j jsonb) on commit drop;
-- A row image without its noise columns (not history: the reads give their value of the last
-- whole-row revision). Read from the noise list, so the app stand-in's search_vector and
-- view_count are left out as well as the base tables' updated_at, last_scraped_at, scrape_hash.
create function pg_temp.tracked(j jsonb) returns jsonb language sql stable
  as $$ select j - (select array_agg(column_name) from scrapeguard.revision_noise_columns) $$;
-- Stored generated columns of events (the app stand-in's duration_minutes, from start_time and
-- end_time): recorded like any column when they change (revisions.test.ts checks them), left
-- out of the exact lists below, which are about the columns this file writes.
create function pg_temp.generated(field text) returns boolean language sql stable
  as $$ select coalesce(field in (select attname from pg_catalog.pg_attribute
                                   where attrelid = 'public.events'::regclass and attgenerated <> ''), false) $$;

set local scrapeguard.now = '2026-03-01 10:00:00.123456+00';
insert into events (id, title, start_time, end_time, price_range, tags, status)
values ('00000000-0000-4000-8000-0000000000b1', 'Lantern festival', '2026-03-10 18:00+08', null, '{50,80}', '{festival}', 'draft'),
       ('00000000-0000-4000-8000-0000000000b2', 'Night market', '2026-03-11 19:00+08', '2026-03-11 23:00+08', null, '{}', 'published');
insert into seen select '2026-03-01 10:00:00.123456+00', e.id, to_jsonb(e) from events e;

set local scrapeguard.now = '2026-03-01 11:00+00';
update events set title = 'Lantern festival 2026', status = 'published', last_scraped_at = '2026-03-01 11:00+00'
 where id = '00000000-0000-4000-8000-0000000000b1';
insert into seen select '2026-03-01 11:00+00', e.id, to_jsonb(e) from events e;

set local scrapeguard.now = '2026-03-01 12:00+00';
update events set price_range = null, tags = '{festival,NULL,"lights, music",""}', end_time = '2026-03-10 22:00:00.5+08'
 where id = '00000000-0000-4000-8000-0000000000b1';
update events set price_range = '{0}' where id = '00000000-0000-4000-8000-0000000000b2';
insert into seen select '2026-03-01 12:00+00', e.id, to_jsonb(e) from events e;

set local scrapeguard.now = '2026-03-01 13:00+00';
delete from events where id = '00000000-0000-4000-8000-0000000000b1';

set local scrapeguard.now = '2026-03-01 14:00+00';
insert into events (id, title, start_time, tags) values ('00000000-0000-4000-8000-0000000000b1', 'Lantern festival (rescheduled)', '2026-04-10 18:00+08', '{}');
insert into seen select '2026-03-01 14:00+00', e.id, to_jsonb(e) from events e where e.id = '00000000-0000-4000-8000-0000000000b1';

-- event_history -----------------------------------------------------------------------
select results_eq(
  $$select revision, operation, field_name from event_history('00000000-0000-4000-8000-0000000000b1')
     where not pg_temp.generated(field_name)$$,
  $$values (5, 'insert', null::text), (4, 'delete', null), (3, 'update', 'end_time'), (3, 'update', 'price_range'),
           (3, 'update', 'tags'), (2, 'update', 'title'), (2, 'update', 'status'), (1, 'insert', null)$$,
  'event_history: newest revision first, the rows of one revision in column order');
select is_empty($$select * from event_history('00000000-0000-4000-8000-00000000ffff')$$,
  'event_history of an unknown id is empty');

-- event_as_of ---------------------------------------------------------------------------
select ok(event_as_of('00000000-0000-4000-8000-0000000000b1', '2026-03-01 10:00:00.123455+00') is null,
  'null before the event existed');
select is(pg_temp.tracked(to_jsonb(event_as_of('00000000-0000-4000-8000-0000000000b1', '2026-03-01 10:00:00.123456+00'))),
  (select pg_temp.tracked(j) from seen where at = '2026-03-01 10:00:00.123456+00' and id = '00000000-0000-4000-8000-0000000000b1'),
  'at the instant of its insert: the row as inserted (microseconds count)');
select is(pg_temp.tracked(to_jsonb(event_as_of('00000000-0000-4000-8000-0000000000b1', '2026-03-01 10:59:59+00'))),
  (select pg_temp.tracked(j) from seen where at = '2026-03-01 10:00:00.123456+00' and id = '00000000-0000-4000-8000-0000000000b1'),
  'between two revisions: the earlier state');
select is(pg_temp.tracked(to_jsonb(event_as_of('00000000-0000-4000-8000-0000000000b1', '2026-03-01 11:00+00'))),
  (select pg_temp.tracked(j) from seen where at = '2026-03-01 11:00+00' and id = '00000000-0000-4000-8000-0000000000b1'),
  'after an update: every tracked column as it was');
select is(pg_temp.tracked(to_jsonb(event_as_of('00000000-0000-4000-8000-0000000000b1', '2026-03-01 12:30+00'))),
  (select pg_temp.tracked(j) from seen where at = '2026-03-01 12:00+00' and id = '00000000-0000-4000-8000-0000000000b1'),
  'nulls, arrays with null, comma and empty-string elements, fractional seconds: exact');
select is((event_as_of('00000000-0000-4000-8000-0000000000b1', '2026-03-01 12:30+00')).tags,
  '{festival,NULL,"lights, music",""}'::text[], 'the array is the same array (not its text)');
select ok((event_as_of('00000000-0000-4000-8000-0000000000b1', '2026-03-01 12:30+00')).price_range is null,
  'a null column is null');
select ok(event_as_of('00000000-0000-4000-8000-0000000000b1', '2026-03-01 13:00+00') is null,
  'null at the instant of its deletion');
select ok(event_as_of('00000000-0000-4000-8000-0000000000b1', '2026-03-01 13:59+00') is null,
  'null while deleted');
select is(pg_temp.tracked(to_jsonb(event_as_of('00000000-0000-4000-8000-0000000000b1', '2026-03-02 00:00+00'))),
  (select pg_temp.tracked(j) from seen where at = '2026-03-01 14:00+00' and id = '00000000-0000-4000-8000-0000000000b1'),
  'after it was inserted again: the new row');
select is(pg_temp.tracked(to_jsonb(event_as_of('00000000-0000-4000-8000-0000000000b1', '2026-03-02 00:00+00'))),
  pg_temp.tracked((select to_jsonb(e) from events e where e.id = '00000000-0000-4000-8000-0000000000b1')),
  'as of now it is the live row');
select is((event_as_of('00000000-0000-4000-8000-0000000000b1', '2026-03-01 11:30+00')).updated_at,
  (select (j ->> 'updated_at')::timestamptz from seen where at = '2026-03-01 10:00:00.123456+00' and id = '00000000-0000-4000-8000-0000000000b1'),
  'noise columns are not tracked: they keep the value of the last whole-row revision');
select ok(event_as_of('00000000-0000-4000-8000-00000000ffff', '2026-03-02') is null, 'null for an id never seen');
select throws_ok($$select event_as_of(null, now())$$, '22004', null, 'event_id is required');
select throws_ok($$select event_as_of('00000000-0000-4000-8000-0000000000b1', null)$$, '22004', null, 'at is required');

-- events_as_of ---------------------------------------------------------------------------
select set_eq(
  $$select pg_temp.tracked(to_jsonb(e)) from events_as_of('2026-03-01 12:30+00') e$$,
  $$select pg_temp.tracked(j) from seen where at = '2026-03-01 12:00+00'$$,
  'events_as_of rebuilds every event at once');
select set_eq(
  $$select id from events_as_of('2026-03-01 13:30+00')$$,
  $$values ('00000000-0000-4000-8000-0000000000b2'::uuid)$$,
  'deleted events are left out');
select is_empty($$select * from events_as_of('2026-03-01 09:00+00')$$,
  'before any event existed: no rows');
select set_eq(
  $$select pg_temp.tracked(to_jsonb(e)) from events_as_of('2026-03-05') e$$,
  $$select pg_temp.tracked(to_jsonb(e)) from events e$$,
  'as of now: the live table');
select throws_ok($$select * from events_as_of(null)$$, '22004', null, 'events_as_of: at is required');

-- history that starts later than the question --------------------------------------------
-- An event that existed before scrapeguard: its first change writes a baseline.
alter table events disable trigger _scrapeguard_event_revisions_insert_delete;
insert into events (id, title, start_time) values ('00000000-0000-4000-8000-0000000000b3', 'Legacy event', '2025-01-01');
alter table events enable trigger _scrapeguard_event_revisions_insert_delete;
set local scrapeguard.now = '2026-03-01 15:00+00';
update events set title = 'Legacy event (edited)' where id = '00000000-0000-4000-8000-0000000000b3';
select is((event_as_of('00000000-0000-4000-8000-0000000000b3', '2026-03-01 15:00+00')).title, 'Legacy event (edited)',
  'an adopted event is rebuilt from its baseline on');
select throws_ok($$select event_as_of('00000000-0000-4000-8000-0000000000b3', '2026-03-01 14:59+00')$$,
  '22023', 'event_as_of: the history of event 00000000-0000-4000-8000-0000000000b3 before 2026-03-01 15:00:00+00 is not kept',
  'before its baseline the state is unknown: a clear error, not a wrong row');
select throws_ok($$select * from events_as_of('2026-03-01 14:59+00')$$,
  '22023', null, 'events_as_of refuses an instant some event''s kept history does not reach');
select lives_ok($$select * from events_as_of('2026-03-01 15:00+00')$$, 'and answers from that instant on');

-- events_as_of over many events, and event_as_of of one of them ------------------------------
-- 2,000 more events with three revisions each, and statistics, so that the planner weighs
-- its choices on a history of some size.
insert into events (title, start_time) select 'Bulk ' || g, '2026-05-01' from generate_series(1, 2000) g;
update events set title = title || ' (edited)' where title like 'Bulk %';
update events set description = 'Edited again' where title like 'Bulk %';
analyze event_revisions;
select set_eq(
  $$select pg_temp.tracked(to_jsonb(e)) from events_as_of('2026-03-01 15:00+00') e$$,
  $$select pg_temp.tracked(to_jsonb(public.event_as_of(e.id, '2026-03-01 15:00+00'))) from events e$$,
  'events_as_of gives, for every event, what event_as_of gives');
-- At 09:00 no event existed yet and the adopted one's state is unknown: no row to give, and
-- still the refusal (it is checked before the first row, not on one).
select throws_ok($$select * from events_as_of('2026-03-01 09:00+00')$$,
  '22023', null, 'the refusal also when no event would be returned');

-- event_as_of stays a range read of that event's revisions through the unique index: the
-- scans this transaction made of event_revisions before and after seven calls (custom and
-- generic plans), from the statistics of the transaction, not from timings.
create temp table scans_before on commit drop as
  select t.seq_scan, t.idx_scan,
         pg_catalog.pg_stat_get_xact_tuples_returned('public.event_revisions_one_row_per_field'::regclass) as idx_tuples
    from pg_catalog.pg_stat_xact_user_tables t where t.relid = 'public.event_revisions'::regclass;
select count(public.event_as_of('00000000-0000-4000-8000-0000000000b1', '2026-03-01 15:00+00'))
  from generate_series(1, 7);
create temp table scans_after on commit drop as
  select t.seq_scan, t.idx_scan,
         pg_catalog.pg_stat_get_xact_tuples_returned('public.event_revisions_one_row_per_field'::regclass) as idx_tuples
    from pg_catalog.pg_stat_xact_user_tables t where t.relid = 'public.event_revisions'::regclass;
select is((select a.seq_scan - b.seq_scan from scans_after a, scans_before b), 0::bigint,
  'event_as_of reads no revision sequentially');
select ok((select a.idx_scan - b.idx_scan from scans_after a, scans_before b) >= 7,
  'event_as_of reads the revisions through an index');
select ok((select a.idx_tuples - b.idx_tuples from scans_after a, scans_before b)
          <= 7 * 4 * (select count(*) from event_revisions where event_id = '00000000-0000-4000-8000-0000000000b1'),
  'event_as_of reads only that event''s range of event_revisions_one_row_per_field (at most its rows, per query)');

-- the plans ------------------------------------------------------------------------------------
create function pg_temp.plan_of(q text) returns text language plpgsql as $$
declare r record; t text := '';
begin
  for r in execute 'explain ' || q loop t := t || r."QUERY PLAN" || E'\n'; end loop;
  return t;
end $$;
set local enable_seqscan = off;
select ok(pg_temp.plan_of($$select max(revision) from public.event_revisions where event_id = '00000000-0000-4000-8000-0000000000b1'$$)
            ~ 'Index Only Scan Backward using event_revisions_one_row_per_field',
  'the next revision number is one backward index descent');

select * from finish();
rollback;
