-- The point-in-time reads on a connection that used them before the columns of events
-- changed (a pooled API connection, while the app migrates events): a column added,
-- dropped (the documented procedure) or retyped (the documented procedure). Each read is
-- the live row, as the same connection sees it after the change.
begin;
set local search_path = public, extensions;
select plan(12);

create function pg_temp.tracked(j jsonb) returns jsonb language sql stable
  as $$ select j - (select array_agg(column_name) from scrapeguard.revision_noise_columns) $$;
create function pg_temp.live() returns jsonb language sql stable
  as $$ select pg_temp.tracked(to_jsonb(e)) from public.events e where e.id = '00000000-0000-4000-8000-0000000000d1' $$;
create function pg_temp.one() returns jsonb language sql stable
  as $$ select pg_temp.tracked(to_jsonb(public.event_as_of('00000000-0000-4000-8000-0000000000d1', scrapeguard.clock()))) $$;
create function pg_temp.every() returns jsonb language sql stable
  as $$ select pg_temp.tracked(to_jsonb(e)) from public.events_as_of(scrapeguard.clock()) e
         where e.id = '00000000-0000-4000-8000-0000000000d1' $$;

insert into events (id, title, start_time, source_url)
values ('00000000-0000-4000-8000-0000000000d1', 'Harbour swim', '2026-08-01 08:00+08', 'https://swim.example');
update events set title = 'Harbour swim 2026' where id = '00000000-0000-4000-8000-0000000000d1';
-- Both reads used once on this connection, with the columns as they are now.
select is(pg_temp.every(), pg_temp.live(), 'events_as_of: the live row');
select is(pg_temp.one(), pg_temp.live(), 'event_as_of: the live row');

-- A column added (then the refresh, as after any change of the columns).
alter table events add column swim_distance_m integer;
select scrapeguard.refresh_event_revision_trigger();
update events set swim_distance_m = 1500 where id = '00000000-0000-4000-8000-0000000000d1';
select lives_ok('select pg_temp.every()', 'events_as_of after a column was added');
select is(pg_temp.every(), pg_temp.live(), 'events_as_of after a column was added: the live row, with the new column');
select is(pg_temp.one(), pg_temp.live(), 'event_as_of after a column was added: the live row, with the new column');

-- A column dropped: noise first, drop, then forget the entry.
insert into scrapeguard.revision_noise_columns values ('swim_distance_m', 'being dropped');
alter table events drop column swim_distance_m;
delete from scrapeguard.revision_noise_columns where column_name = 'swim_distance_m';
select lives_ok('select pg_temp.every()', 'events_as_of after a column was dropped');
select is(pg_temp.every(), pg_temp.live(), 'events_as_of after a column was dropped: the live row');
select is(pg_temp.one(), pg_temp.live(), 'event_as_of after a column was dropped: the live row');

-- A column's type changed: drop the update trigger, alter, refresh.
drop trigger _scrapeguard_event_revisions_update on events;
alter table events alter column source_url type varchar(500);
select scrapeguard.refresh_event_revision_trigger();
update events set source_url = 'https://swim.example/2026' where id = '00000000-0000-4000-8000-0000000000d1';
select lives_ok('select pg_temp.every()', 'events_as_of after a column changed type');
select is(pg_temp.every(), pg_temp.live(), 'events_as_of after a column changed type: the live row');
select is(pg_temp.one(), pg_temp.live(), 'event_as_of after a column changed type: the live row');
select is(pg_typeof((e).source_url)::text, 'character varying', 'and the column has its new type')
  from (select e from public.events_as_of(scrapeguard.clock()) e where e.id = '00000000-0000-4000-8000-0000000000d1') x;

select * from finish();
rollback;
