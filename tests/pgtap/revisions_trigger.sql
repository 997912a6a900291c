-- The revision triggers on public.events: what each kind of write records.
begin;
set local search_path = public, extensions;
select plan(44);

-- Stored generated columns of events (the app stand-in's duration_minutes, from start_time and
-- end_time): recorded like any column when they change (revisions.test.ts checks them), left
-- out of the exact lists below, which are about the columns this file writes.
create function pg_temp.generated(field text) returns boolean language sql stable
  as $$ select coalesce(field in (select attname from pg_catalog.pg_attribute
                                   where attrelid = 'public.events'::regclass and attgenerated <> ''), false) $$;

select is(
  (select array_agg(t.tgname::text order by t.tgname) from pg_trigger t
    where t.tgrelid = 'public.events'::regclass and not t.tgisinternal and t.tgname like '\_scrapeguard%'),
  array['_scrapeguard_event_revisions_insert_delete', '_scrapeguard_event_revisions_truncate',
        '_scrapeguard_event_revisions_update'],
  'three _scrapeguard_* triggers on events (named to fire before the app''s own AFTER triggers)');

-- insert ---------------------------------------------------------------------
set local scrapeguard.now = '2026-01-01 00:00+00';
insert into events (id, title, start_time, price_range, tags, status)
values ('00000000-0000-4000-8000-0000000000e1', 'Concert', '2026-02-01 20:00+08', '{100,200}', '{music,jazz}', 'draft');

select results_eq(
  $$select revision, operation, field_name, old_value, changed_at from event_revisions
     where event_id = '00000000-0000-4000-8000-0000000000e1'$$,
  $$values (1, 'insert', null::text, null::jsonb, '2026-01-01 00:00+00'::timestamptz)$$,
  'an insert writes one revision, number 1, at scrapeguard.clock()');
select is(
  (select new_value from event_revisions where event_id = '00000000-0000-4000-8000-0000000000e1'),
  (select to_jsonb(e) from events e where e.id = '00000000-0000-4000-8000-0000000000e1'),
  'the insert revision carries the whole row');

-- no-op and noise-only updates ---------------------------------------------------
update events set title = title, tags = tags where id = '00000000-0000-4000-8000-0000000000e1';
select is((select count(*)::int from event_revisions where event_id = '00000000-0000-4000-8000-0000000000e1'), 1,
  'a no-op update writes nothing');
update events set last_scraped_at = '2026-01-01 00:30+00', scrape_hash = 'abc123'
 where id = '00000000-0000-4000-8000-0000000000e1';
select is((select count(*)::int from event_revisions where event_id = '00000000-0000-4000-8000-0000000000e1'), 1,
  'an update of noise columns only (and updated_at, set by the app trigger) writes nothing');

-- field changes ---------------------------------------------------------------------
set local scrapeguard.now = '2026-01-01 01:00+00';
update events set title = 'Concert (new date)', price_range = '{100,NULL,300}', scrape_hash = 'def456'
 where id = '00000000-0000-4000-8000-0000000000e1';
select results_eq(
  $$select revision, operation, field_name, old_value, new_value, changed_at from event_revisions
     where event_id = '00000000-0000-4000-8000-0000000000e1' and revision = 2 order by id$$,
  $$values (2, 'update', 'title', '"Concert"'::jsonb, '"Concert (new date)"'::jsonb, '2026-01-01 01:00+00'::timestamptz),
           (2, 'update', 'price_range', '[100, 200]'::jsonb, '[100, null, 300]'::jsonb, '2026-01-01 01:00+00'::timestamptz)$$,
  'an update writes one row per changed tracked field, sharing one revision; noise columns left out');
select is(
  (select jsonb_typeof(new_value) from event_revisions
    where event_id = '00000000-0000-4000-8000-0000000000e1' and field_name = 'price_range'),
  'array', 'arrays stay JSON arrays (with their nulls)');

update events set price_range = null, description = 'Now with a description', tags = '{music,"jazz, blues",NULL}'
 where id = '00000000-0000-4000-8000-0000000000e1';
select results_eq(
  $$select field_name, old_value, new_value from event_revisions
     where event_id = '00000000-0000-4000-8000-0000000000e1' and revision = 3 order by field_name$$,
  $$values ('description', null::jsonb, '"Now with a description"'::jsonb),
           ('price_range', '[100, null, 300]'::jsonb, null::jsonb),
           ('tags', '["music", "jazz"]'::jsonb, '["music", "jazz, blues", null]'::jsonb)$$,
  'a column set to or from null has an SQL null value; array elements keep their nulls and commas');
update events set price_range = '{}' where id = '00000000-0000-4000-8000-0000000000e1';
select results_eq(
  $$select field_name, old_value, new_value from event_revisions
     where event_id = '00000000-0000-4000-8000-0000000000e1' and revision = 4$$,
  $$values ('price_range', null::jsonb, '[]'::jsonb)$$,
  'null to an empty array is a change, recorded as []');
update events set start_time = '2026-02-01 21:00+08', end_time = '2026-02-01 23:00+08'
 where id = '00000000-0000-4000-8000-0000000000e1';
select results_eq(
  $$select field_name, new_value #>> '{}' from event_revisions
     where event_id = '00000000-0000-4000-8000-0000000000e1' and revision = 5 and not pg_temp.generated(field_name)
     order by id$$,
  $$values ('start_time', '2026-02-01T13:00:00+00:00'), ('end_time', '2026-02-01T15:00:00+00:00')$$,
  'fields are in column order; timestamps as ISO 8601 JSON strings');
select is(
  (select (new_value #>> '{}')::timestamptz from event_revisions
    where event_id = '00000000-0000-4000-8000-0000000000e1' and revision = 5 and field_name = 'start_time'),
  '2026-02-01 21:00+08'::timestamptz, 'and they read back as the same instant');

-- delete ------------------------------------------------------------------------------
create temp table last_state on commit drop as
  select to_jsonb(e) as j from events e where e.id = '00000000-0000-4000-8000-0000000000e1';
set local scrapeguard.now = '2026-01-01 02:00+00';
delete from events where id = '00000000-0000-4000-8000-0000000000e1';
select results_eq(
  $$select revision, operation, field_name, new_value from event_revisions
     where event_id = '00000000-0000-4000-8000-0000000000e1' and revision = 6$$,
  $$values (6, 'delete', null::text, null::jsonb)$$,
  'a delete writes one whole-row revision');
select is(
  (select old_value from event_revisions where event_id = '00000000-0000-4000-8000-0000000000e1' and revision = 6),
  (select j from last_state), 'the delete revision carries the whole row as it was');
select is((select count(*)::int from event_revisions
            where event_id = '00000000-0000-4000-8000-0000000000e1' and not pg_temp.generated(field_name)), 10,
  'the history outlives the event (no foreign key to events)');

insert into events (id, title, start_time) values ('00000000-0000-4000-8000-0000000000e1', 'Concert, again', '2026-03-01');
select results_eq(
  $$select revision, operation from event_revisions
     where event_id = '00000000-0000-4000-8000-0000000000e1' and revision > 6$$,
  $$values (7, 'insert')$$,
  'an event re-inserted with the same id continues its numbering');

-- id change ----------------------------------------------------------------------------
update events set id = '00000000-0000-4000-8000-0000000000e2' where id = '00000000-0000-4000-8000-0000000000e1';
select results_eq(
  $$select event_id, revision, operation from event_revisions
     where (event_id = '00000000-0000-4000-8000-0000000000e1' and revision > 7)
        or event_id = '00000000-0000-4000-8000-0000000000e2' order by id$$,
  $$values ('00000000-0000-4000-8000-0000000000e1'::uuid, 8, 'delete'),
           ('00000000-0000-4000-8000-0000000000e2'::uuid, 1, 'insert')$$,
  'changing an event''s id ends the old id''s history with a delete and starts the new one''s with an insert');

-- several rows in one statement ---------------------------------------------------------------
insert into events (id, title, start_time)
values ('00000000-0000-4000-8000-0000000000e3', 'Fair', '2026-04-01'),
       ('00000000-0000-4000-8000-0000000000e4', 'Market', '2026-04-02');
update events set status = 'published'
 where id in ('00000000-0000-4000-8000-0000000000e3', '00000000-0000-4000-8000-0000000000e4');
select results_eq(
  $$select event_id, revision, field_name, old_value, new_value from event_revisions
     where event_id in ('00000000-0000-4000-8000-0000000000e3', '00000000-0000-4000-8000-0000000000e4')
       and operation = 'update' order by event_id$$,
  $$values ('00000000-0000-4000-8000-0000000000e3'::uuid, 2, 'status', '"draft"'::jsonb, '"published"'::jsonb),
           ('00000000-0000-4000-8000-0000000000e4'::uuid, 2, 'status', '"draft"'::jsonb, '"published"'::jsonb)$$,
  'a multi-row update gives each event its own next revision');
insert into events (id, title, start_time) values ('00000000-0000-4000-8000-0000000000e3', 'Dup', '2026-04-01')
  on conflict (id) do update set title = 'Fair (updated by upsert)';
select results_eq(
  $$select revision, field_name, new_value from event_revisions
     where event_id = '00000000-0000-4000-8000-0000000000e3' and revision = 3$$,
  $$values (3, 'title', '"Fair (updated by upsert)"'::jsonb)$$,
  'INSERT … ON CONFLICT DO UPDATE (a scraper''s upsert) is recorded as an update');

-- an event that predates its history ----------------------------------------------------------
alter table events disable trigger _scrapeguard_event_revisions_insert_delete;
insert into events (id, title, start_time) values ('00000000-0000-4000-8000-0000000000e5', 'Old event', '2025-01-01');
alter table events enable trigger _scrapeguard_event_revisions_insert_delete;
create temp table before_change on commit drop as
  select to_jsonb(e) as j from events e where e.id = '00000000-0000-4000-8000-0000000000e5';
update events set title = 'Old event, renamed' where id = '00000000-0000-4000-8000-0000000000e5';
select results_eq(
  $$select revision, operation, field_name, actor is null from event_revisions
     where event_id = '00000000-0000-4000-8000-0000000000e5' order by revision$$,
  $$values (1, 'baseline', null::text, true), (2, 'update', 'title', false)$$,
  'the first change of an event without history writes a baseline of the row before it, then the update');
select is(
  (select new_value from event_revisions where event_id = '00000000-0000-4000-8000-0000000000e5' and revision = 1),
  (select j from before_change), 'the baseline is the whole row before the change');

-- invariants -------------------------------------------------------------------------------------
select throws_ok(
  $$insert into event_revisions (event_id, revision, operation, field_name, changed_at, actor)
    values (gen_random_uuid(), 1, 'update', null, now(), 'x')$$,
  '23514', null, 'an update row must name its field');
select throws_ok(
  $$insert into event_revisions (event_id, revision, operation, field_name, new_value, changed_at, actor)
    values (gen_random_uuid(), 1, 'insert', 'title', '{}', now(), 'x')$$,
  '23514', null, 'a whole-row row names no field');
select throws_ok(
  $$insert into event_revisions (event_id, revision, operation, old_value, changed_at, actor)
    values (gen_random_uuid(), 1, 'insert', '{}', now(), 'x')$$,
  '23514', null, 'an insert row carries the row after, not before');
select throws_ok(
  $$insert into event_revisions (event_id, revision, operation, new_value, changed_at, actor)
    values (gen_random_uuid(), 1, 'delete', '{}', now(), 'x')$$,
  '23514', null, 'a delete row carries the row before, not after');
select throws_ok(
  $$insert into event_revisions (event_id, revision, operation, new_value, changed_at, actor)
    values (gen_random_uuid(), 1, 'upsert', '{}', now(), 'x')$$,
  '23514', null, 'operation is one of insert, update, delete, baseline');
select throws_ok(
  $$insert into event_revisions (event_id, revision, operation, new_value, changed_at, actor)
    values (gen_random_uuid(), 0, 'insert', '{}', now(), 'x')$$,
  '23514', null, 'revisions start at 1');
select throws_ok(
  $$insert into event_revisions (event_id, revision, operation, old_value, new_value, changed_at, actor)
    values (gen_random_uuid(), 1, 'insert', '{}', '{}', now(), 'x')$$,
  '23514', null, 'a whole-row row carries one row, not two');
select throws_ok(
  $$insert into event_revisions (event_id, revision, operation, old_value, changed_at)
    values (gen_random_uuid(), 1, 'baseline', '{}', now())$$,
  '23514', null, 'a baseline carries the row after, like an insert');
select throws_ok(
  $$insert into event_revisions (event_id, revision, operation, field_name, old_value, changed_at, actor)
    values (gen_random_uuid(), 1, 'delete', 'title', '{}', now(), 'x')$$,
  '23514', null, 'a delete names no field');
select throws_ok(
  $$insert into event_revisions (event_id, revision, operation, new_value, changed_at, actor)
    values (gen_random_uuid(), 1, null, '{}', now(), 'x')$$,
  '23502', null, 'operation is required');
select lives_ok(
  $$insert into event_revisions (event_id, revision, operation, field_name, old_value, new_value, changed_at, actor)
    values (gen_random_uuid(), 1, 'update', 'description', null, null, now(), 'x')$$,
  'an update row may carry nulls (a column set to or from null)');
select throws_ok(
  $$insert into event_revisions (event_id, revision, operation, field_name, old_value, new_value, changed_at, actor)
    values ('00000000-0000-4000-8000-0000000000e3', 2, 'update', 'status', '"a"', '"b"', now(), 'x')$$,
  '23505', null, 'one row per field and revision');

-- regeneration from the catalog ----------------------------------------------------------------
select is(scrapeguard.refresh_event_revision_trigger(), false, 'the refresh is a no-op when nothing changed');
alter table events add column details json, add column capacity integer;
select is(scrapeguard.refresh_event_revision_trigger(), true, 'after the app adds columns the refresh regenerates');
update events set details = '{"room": "A", "floor": 2}', capacity = 500
 where id = '00000000-0000-4000-8000-0000000000e3';
select results_eq(
  $$select field_name, new_value from event_revisions
     where event_id = '00000000-0000-4000-8000-0000000000e3' and revision = 4 order by id$$,
  $$values ('details', '{"room": "A", "floor": 2}'::jsonb), ('capacity', '500'::jsonb)$$,
  'new columns are recorded, a json column (no "=" operator) included');
update events set details = '{"room": "A", "floor": 2}' where id = '00000000-0000-4000-8000-0000000000e3';
select is((select max(revision) from event_revisions where event_id = '00000000-0000-4000-8000-0000000000e3'), 4,
  'a json column set to the same text is no change');

insert into scrapeguard.revision_noise_columns (column_name, reason) values ('capacity', 'test: a live counter');
update events set capacity = 600 where id = '00000000-0000-4000-8000-0000000000e3';
select is((select max(revision) from event_revisions where event_id = '00000000-0000-4000-8000-0000000000e3'), 4,
  'a column added to revision_noise_columns stops being recorded at once (the edit regenerates the trigger)');
delete from scrapeguard.revision_noise_columns where column_name = 'capacity';
update events set capacity = 700 where id = '00000000-0000-4000-8000-0000000000e3';
select is((select max(revision) from event_revisions where event_id = '00000000-0000-4000-8000-0000000000e3'), 5,
  'and removing it there records it again');
select ok(
  (select pg_get_triggerdef(t.oid) like '%old.id IS DISTINCT FROM new.id%' and pg_get_triggerdef(t.oid) not like '%updated_at%'
     from pg_trigger t where t.tgname = '_scrapeguard_event_revisions_update'),
  'the update trigger''s WHEN clause compares the tracked columns and leaves noise columns out');

-- truncate ------------------------------------------------------------------------------------------
create temp table n_events on commit drop as select count(*) as n from events;
-- (CASCADE: on the app stand-in, favourites and the status log reference events.)
truncate events cascade;
select is(
  (select count(*) from event_revisions where operation = 'delete' and changed_at = '2026-01-01 02:00+00'::timestamptz
      and event_id <> '00000000-0000-4000-8000-0000000000e1'),
  (select n from n_events), 'TRUNCATE records a delete of every event');

-- An event without history (written with the triggers off): its first change writes a baseline
-- of the row before it at revision 1, then the change at revision 2.
alter table events disable trigger _scrapeguard_event_revisions_insert_delete;
insert into events (id, title, start_time, price_range)
values ('00000000-0000-4000-8000-0000000000b1', 'Adopted', '2026-05-01', '{1,2}');
alter table events enable trigger _scrapeguard_event_revisions_insert_delete;
set local scrapeguard.run_id = '';
set local scrapeguard.actor = 'adopter';
set local scrapeguard.now = '2026-01-01 03:00+00';
update events set title = 'Adopted, edited', price_range = '{3}' where id = '00000000-0000-4000-8000-0000000000b1';
select results_eq(
  $$select revision, operation, field_name, old_value, new_value ->> 'title', changed_at, actor from event_revisions
     where event_id = '00000000-0000-4000-8000-0000000000b1' and not pg_temp.generated(coalesce(field_name, '')) order by id$$,
  $$values (1, 'baseline', null::text, null::jsonb, 'Adopted', '2026-01-01 03:00+00'::timestamptz, null::text),
           (2, 'update', 'title', '"Adopted"'::jsonb, null, '2026-01-01 03:00+00'::timestamptz, 'adopter'),
           (2, 'update', 'price_range', '[1, 2]'::jsonb, null, '2026-01-01 03:00+00'::timestamptz, 'adopter')$$,
  'a first change of an event without history: the baseline (unattributed) first, then the change, one time');
update events set title = 'Adopted, edited twice' where id = '00000000-0000-4000-8000-0000000000b1';
select results_eq(
  $$select revision, operation, field_name from event_revisions
     where event_id = '00000000-0000-4000-8000-0000000000b1' and revision = 3$$,
  $$values (3, 'update', 'title')$$,
  'and the next change continues at revision 3, with no second baseline');

-- A clock that is not a single expression is called, not embedded.
create or replace function scrapeguard.clock() returns timestamptz
  language plpgsql stable set search_path = ''
as $clock$
declare
  v timestamptz := '2026-01-01 01:30+00';
begin
  return v;
end
$clock$;
select is(scrapeguard.refresh_event_revision_trigger(), true, 'a new clock body regenerates the triggers');
insert into events (id, title, start_time) values ('00000000-0000-4000-8000-0000000000f1', 'Clock test', '2026-02-01');
update events set title = 'Clock test, renamed' where id = '00000000-0000-4000-8000-0000000000f1';
select results_eq(
  $$select revision, operation, changed_at from event_revisions
     where event_id = '00000000-0000-4000-8000-0000000000f1' order by revision$$,
  $$values (1, 'insert', '2026-01-01 01:30+00'::timestamptz), (2, 'update', '2026-01-01 01:30+00'::timestamptz)$$,
  'a clock that is not one RETURN is called by the generated code (and still decides changed_at)');

select * from finish();
rollback;
