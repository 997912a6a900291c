-- Retention: prune_event_revisions keeps what it promises and every kept state exact.
begin;
set local search_path = public, extensions;
select plan(30);

-- A row image without its noise columns (not history: the reads give their value of the last
-- whole-row revision). Read from the noise list, so the app stand-in's search_vector and
-- view_count are left out as well as the base tables' updated_at, last_scraped_at, scrape_hash.
create function pg_temp.tracked(j jsonb) returns jsonb language sql stable
  as $$ select j - (select array_agg(column_name) from scrapeguard.revision_noise_columns) $$;
create function pg_temp.revs(p uuid) returns int[] language sql stable
  as $$ select array_agg(distinct revision order by revision) from public.event_revisions where event_id = p $$;

-- p1: inserted at 00:00, then one title change every hour (revisions 2..13 at 01:00..12:00).
-- p2: inserted at 00:00, three changes (01:00, 02:00, 03:00).
-- p3: inserted at 00:00, changed at 01:00, deleted at 02:00.
set local scrapeguard.now = '2026-01-01 00:00+00';
insert into events (id, title, start_time, price_range) values
  ('00000000-0000-4000-8000-0000000000c1', 'p1 v1', '2026-06-01', '{10}'),
  ('00000000-0000-4000-8000-0000000000c2', 'p2 v1', '2026-06-02', null),
  ('00000000-0000-4000-8000-0000000000c3', 'p3 v1', '2026-06-03', null);
do $$
begin
  for h in 1..12 loop
    perform set_config('scrapeguard.now', ('2026-01-01 00:00+00'::timestamptz + make_interval(hours => h))::text, true);
    update public.events set title = 'p1 v' || (h + 1), price_range = case when h % 3 = 0 then array[h] else price_range end
     where id = '00000000-0000-4000-8000-0000000000c1';
    if h <= 3 then
      update public.events set title = 'p2 v' || (h + 1) where id = '00000000-0000-4000-8000-0000000000c2';
    end if;
    if h = 1 then
      update public.events set description = 'changed' where id = '00000000-0000-4000-8000-0000000000c3';
    elsif h = 2 then
      delete from public.events where id = '00000000-0000-4000-8000-0000000000c3';
    end if;
  end loop;
end
$$;
set local scrapeguard.now = '2026-01-01 13:00+00';

-- Every state before pruning, for comparison afterwards.
create temp table before (id uuid, at timestamptz, j jsonb) on commit drop;
insert into before
select i.id, t.at, pg_temp.tracked(to_jsonb(event_as_of(i.id, t.at)))
  from (values ('00000000-0000-4000-8000-0000000000c1'::uuid), ('00000000-0000-4000-8000-0000000000c2'),
               ('00000000-0000-4000-8000-0000000000c3')) i (id)
 cross join generate_series('2026-01-01 00:00+00'::timestamptz, '2026-01-01 13:00+00', interval '30 minutes') t (at);

select is(pg_temp.revs('00000000-0000-4000-8000-0000000000c1'), array[1,2,3,4,5,6,7,8,9,10,11,12,13], 'p1 has 13 revisions');

-- keep the last 10 -----------------------------------------------------------------------
select results_eq($$select * from prune_event_revisions()$$, $$values (1::bigint, 3::bigint, 1::bigint)$$,
  'prune_event_revisions() (keep_last 10) prunes p1 only: its insert and revisions 2 and 3 go, a baseline comes');
select is(pg_temp.revs('00000000-0000-4000-8000-0000000000c1'), array[3,4,5,6,7,8,9,10,11,12,13],
  'p1 keeps its last 10 changes and a baseline at revision 3');
select results_eq(
  $$select operation, field_name, changed_at, actor, run_id from event_revisions
     where event_id = '00000000-0000-4000-8000-0000000000c1' and revision = 3$$,
  $$values ('baseline', null::text, '2026-01-01 02:00+00'::timestamptz, null::text, null::uuid)$$,
  'the baseline stands at the time of the revision it replaces, unattributed');
select is(
  (select pg_temp.tracked(new_value) from event_revisions where event_id = '00000000-0000-4000-8000-0000000000c1' and revision = 3),
  (select j from before where id = '00000000-0000-4000-8000-0000000000c1' and at = '2026-01-01 02:00+00'),
  'the baseline is the state after revision 3');
select is_empty(
  $$select b.at from before b
     where b.id = '00000000-0000-4000-8000-0000000000c1' and b.at >= '2026-01-01 02:00+00'
       and b.j is distinct from pg_temp.tracked(to_jsonb(event_as_of(b.id, b.at)))$$,
  'every state from the baseline on is rebuilt exactly as before pruning');
select throws_ok($$select event_as_of('00000000-0000-4000-8000-0000000000c1', '2026-01-01 01:59+00')$$,
  '22023', null, 'before the baseline event_as_of says the history is not kept');
select is_empty(
  $$select b.at from before b
     where b.id <> '00000000-0000-4000-8000-0000000000c1'
       and b.j is distinct from pg_temp.tracked(to_jsonb(event_as_of(b.id, b.at)))$$,
  'the other events are untouched');
select results_eq($$select * from prune_event_revisions(10)$$, $$values (0::bigint, 0::bigint, 0::bigint)$$,
  'pruning again with the same setting does nothing');

-- keep the last 2 unless younger than 5 hours -----------------------------------------------------
select results_eq($$select * from prune_event_revisions(2, '5 hours')$$, $$values (2::bigint, 10::bigint, 2::bigint)$$,
  'keep_last 2 and older_than 5 hours: p1 and p2 are pruned');
select is(pg_temp.revs('00000000-0000-4000-8000-0000000000c1'), array[8,9,10,11,12,13],
  'p1: revisions older than 08:00 go (both conditions), 9..13 stay, 8 is folded into a baseline');
select is(pg_temp.revs('00000000-0000-4000-8000-0000000000c2'), array[2,3,4],
  'p2: only its last 2 are kept whole (3, 4); 2 becomes a baseline');
select is(pg_temp.revs('00000000-0000-4000-8000-0000000000c3'), array[1,2,3],
  'p3: its last 2 are kept; revision 1 is an insert already, nothing to fold');
select is_empty(
  $$select b.id, b.at from before b
     where ((b.id = '00000000-0000-4000-8000-0000000000c1' and b.at >= '2026-01-01 07:00+00')
         or (b.id = '00000000-0000-4000-8000-0000000000c2' and b.at >= '2026-01-01 01:00+00')
         or  b.id = '00000000-0000-4000-8000-0000000000c3')
       and b.j is distinct from pg_temp.tracked(to_jsonb(event_as_of(b.id, b.at)))$$,
  'every kept state is still exact');

-- by age only ---------------------------------------------------------------------------------------
select results_eq($$select * from prune_event_revisions(null, '1 hour')$$, $$values (3::bigint, 11::bigint, 2::bigint)$$,
  'older_than alone: everything older than an hour goes, each event''s newest old revision standing in');
select is(pg_temp.revs('00000000-0000-4000-8000-0000000000c3'), array[3],
  'a deleted event keeps its delete (the whole last row) as the start of what is kept');
select ok(event_as_of('00000000-0000-4000-8000-0000000000c3', '2026-01-01 12:00+00') is null,
  'after its deletion it is null');
select throws_ok($$select event_as_of('00000000-0000-4000-8000-0000000000c3', '2026-01-01 01:00+00')$$,
  '22023', null, 'before it, the history is not kept');
select is(pg_temp.revs('00000000-0000-4000-8000-0000000000c1'), array[12,13],
  'p1: 12 (11:00) is the newest older than an hour and becomes the baseline');
select is(pg_temp.revs('00000000-0000-4000-8000-0000000000c2'), array[4],
  'p2: its last change (03:00) is old too: it becomes the baseline, one row');
select results_eq(
  $$select operation from event_revisions where event_id = '00000000-0000-4000-8000-0000000000c2'$$,
  $$values ('baseline')$$, 'a single baseline row');

-- everything ---------------------------------------------------------------------------------------
select results_eq($$select events_pruned from prune_event_revisions(0)$$, $$values (1::bigint)$$,
  'keep_last 0 folds all history into one baseline per event');
select is(pg_temp.revs('00000000-0000-4000-8000-0000000000c1'), array[13], 'p1: one baseline at its last revision');
select set_eq(
  $$select pg_temp.tracked(to_jsonb(e)) from events_as_of('2026-01-01 13:00+00') e$$,
  $$select pg_temp.tracked(to_jsonb(e)) from events e$$,
  'the current state of every event is still exact after any pruning');
select throws_ok($$select * from events_as_of('2026-01-01 11:00+00')$$, '22023', null,
  'events_as_of before the kept history: a clear error');

-- writers carry on --------------------------------------------------------------------------------------
update events set title = 'p1 after pruning' where id = '00000000-0000-4000-8000-0000000000c1';
select is(pg_temp.revs('00000000-0000-4000-8000-0000000000c1'), array[13, 14],
  'the next change after pruning gets the next number');
select is((event_as_of('00000000-0000-4000-8000-0000000000c1', '2026-01-01 13:00+00')).title, 'p1 after pruning',
  'and is rebuilt on top of the baseline');

-- bad input ---------------------------------------------------------------------------------------------
select throws_ok($$select * from prune_event_revisions(null, null)$$, '22004', null, 'keep_last or older_than is required');
select throws_ok($$select * from prune_event_revisions(-1)$$, '22023', null, 'keep_last must not be negative');
select throws_ok($$select * from prune_event_revisions(10, '-1 day')$$, '22023', null, 'older_than must not be negative');

select * from finish();
rollback;
