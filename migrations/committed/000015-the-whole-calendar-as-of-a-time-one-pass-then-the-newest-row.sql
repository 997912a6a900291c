--! Previous: sha1:2b0b18aa098cf4653db384847e0c32ba38e161a2
--! Hash: sha1:99157551c0d9efd06953edf179f43990bb0adfcc
--! Message: The whole calendar as of a time: one pass, then the newest rows fetched by id

-- public.events_as_of(at) read event_revisions three times (a grouping into per-(event,
-- field) and per-event groups at once, then the field rows and the whole-row rows again,
-- each through a hash semi-join on the wanted keys), converted every event through two
-- lateral jsonb_populate_record scans (each call of a function scan copies the events row
-- type with its defaults and opens a tuplestore: ~3 µs per call) and returned the rows
-- through field selections. At 20,000 events, 340,000 revision rows: ~26× a sequential
-- read on the app's table in backend CPU time (bench/revisions.ts (e)).
--
-- Now:
--   1. one pass over event_revisions grouped by (event, field) only: per group, its newest
--      row as one bigint — revision in the high bits, id in the low 40 — so that a single
--      max() gives both the newest revision and the id of the row holding it (an argmax
--      without a second pass or an array per row), and its newest revision recorded at or
--      before `at`;
--   2. an event is settled at `at` when each group's newest revision was recorded at or
--      before `at`: its target revision is then its last one, and its state is its newest
--      whole-row image plus the newest value of each field changed after that image. Those
--      rows are read by id (index scans of the primary key over arrays of ids: the newest
--      row of every group in one scan, aggregated per event without the whole-row images,
--      and the whole-row images in another), and each event is converted with
--      jsonb_populate_record as an expression (the whole row, then the changed fields onto
--      that record) — no function scan;
--   3. the other events take the exact path of before, restricted to them: events with a
--      group whose newest row was recorded after `at`, a revision or id too large for the packing (which
--      saturates rather than overflows), or a field whose newest value is older than the
--      newest whole-row image (deleted and created again). For a recent `at` these are the
--      few events changed since; for `at` = now(), none (its passes stop at their first row);
--   4. the refusal (22023, same message, detail and hint) is counted from the same
--      statement — settled events without any whole-row revision, and the exact path's
--      refused events — and raised after the rows are read, before the function returns
--      any: a set-returning PL/pgSQL function hands its rows over only when it ends, so an
--      error still means no row;
--   5. the rows are returned one by one (RETURN NEXT of the converted record) from a FOR
--      loop over the dynamic statement: cheaper than expanding the record into columns.
-- The statement is still dynamic (planned at every call, so column changes of events
-- are followed), and the planner is still kept to hash joins and aggregates.
--
-- Every statement is CREATE OR REPLACE or COMMENT, so running this file twice changes nothing.

create or replace function scrapeguard.events_as_of_refusal(unknown bigint, rebuildable_from timestamptz, at timestamptz)
  returns boolean
  language plpgsql
  stable
  set search_path = ''
as $$
begin
  -- Called by events_as_of once it has read every row and before it returns any, so
  -- that an unknown state is an error and never a missing row.
  if events_as_of_refusal.unknown > 0 then
    raise exception 'events_as_of: the history of % event(s) before % is not kept',
      events_as_of_refusal.unknown, events_as_of_refusal.at
      using errcode = '22023',
            detail = pg_catalog.format('All events can be rebuilt from %s on.', events_as_of_refusal.rebuildable_from),
            hint = 'Ask for a later time, or use event_as_of for single events.';
  end if;
  return true;
end
$$;
comment on function scrapeguard.events_as_of_refusal(bigint, timestamptz, timestamptz) is
  'events_as_of''s refusal: raises 22023 when `unknown` events cannot be rebuilt at `at`, else true. events_as_of counts the refused events in the statement that reads the rows, so that the refusal costs no separate pass over the history.';

create or replace function public.events_as_of(at timestamptz) returns setof public.events
  language plpgsql
  stable
  set search_path = ''
  set enable_nestloop = off
  set enable_mergejoin = off
  set enable_sort = off
as $$
declare
  v_row record;
  v_refused uuid[] := '{}';
  v_rebuildable_from timestamptz;
begin
  if events_as_of.at is null then
    raise exception 'events_as_of: at is required' using errcode = '22004';
  end if;
  -- Dynamic, so planned at every call: a plan kept for the session (as a static query's
  -- is) holds the columns public.events had when it was made, and nothing invalidates it
  -- when a column is added, dropped or retyped (the query names the row type, not the
  -- table), so the same connection then failed with 42804 "structure of query does not
  -- match function result type". Planning is small next to reading the revisions.
  -- Each row is either an event's state (r) or an event whose state is unknown (refused).
  for v_row in execute $q$
  with f as materialized (
    -- One pass, per (event, field) (field null: the whole-row revisions). newest packs
    -- the newest revision (high bits) and the id of its row (low 40 bits), so that one
    -- max() finds both; either saturates rather than overflows, and a saturated group
    -- takes the exact path.
    select r.event_id, r.field_name,
           max((least(r.revision, 8388607)::bigint << 40)
               | least(r.id, 1099511627775)) as newest,
           max(r.revision) filter (where r.changed_at <= $1) as rev_at
      from public.event_revisions r
     group by r.event_id, r.field_name
  ),
  unsettled as materialized (
    -- Events with a group whose newest row was recorded after `at` (or is saturated): the
    -- exact path. In the others every group's newest revision is at or before the event's
    -- target, which is then its last revision.
    select distinct f.event_id
      from f
     where f.rev_at is distinct from (f.newest >> 40)::integer
        or (f.newest >> 40) = 8388607
        or (f.newest & 1099511627775) = 1099511627775
  ),
  latest as materialized (
    -- Per event, from the newest row of each of its groups (read by id: one index scan of
    -- the primary key): its newest whole-row revision, the lowest of its fields' newest
    -- revisions, and those fields' values. The whole-row image itself is left out here
    -- (read again below, where it is converted): an aggregate's input may spill.
    select r.event_id,
           max(r.revision) filter (where r.field_name is null) as whole_rev,
           min(r.revision) filter (where r.field_name is not null) as low,
           pg_catalog.jsonb_object_agg(r.field_name, r.value) filter (where r.field_name is not null) as changes
      from (select v.event_id, v.revision, v.field_name,
                   case when v.field_name is not null then v.new_value end as value
              from public.event_revisions v
             where v.id = any (array(select f.newest & 1099511627775 from f
                                      where (f.newest & 1099511627775) <> 1099511627775
                                        and f.event_id not in (select u.event_id from unsettled u)))
            offset 0) r
     group by r.event_id
  ),
  exact as materialized (
    -- Events read by the exact path: the unsettled ones, and settled ones with a field
    -- whose newest value is older than the newest whole-row image (an event deleted and
    -- created again), which that image must not be overwritten with.
    select u.event_id from unsettled u
    union
    select l.event_id from latest l where l.low <= l.whole_rev
  ),
  whole as (
    -- Settled events: the newest whole-row image, read by id.
    select r.event_id, r.revision, r.operation, r.new_value
      from public.event_revisions r
     where r.id = any (array(select f.newest & 1099511627775 from f
                              where f.field_name is null and (f.newest & 1099511627775) <> 1099511627775
                                and f.event_id not in (select u.event_id from unsettled u)))
       and r.field_name is null
  ),
  target as materialized (
    -- The exact path. Per event: the target revision (the last recorded at or before `at`).
    select f.event_id, max(f.rev_at) as rev_at
      from f
     where f.event_id in (select x.event_id from exact x)
     group by f.event_id
  ),
  k as materialized (
    -- Per (event, field): the revision in effect at the event's target: its newest when
    -- that is not later than the target, else one backward descent of the unique index
    -- (revision and changed_at order can disagree when transactions overlap).
    select f.event_id, f.field_name,
           case when (f.newest >> 40) < 8388607 and (f.newest >> 40) <= t.rev_at then (f.newest >> 40)::integer
                else (select max(w.revision)
                        from public.event_revisions w
                       where w.event_id = f.event_id and w.revision <= t.rev_at
                         and w.field_name is not distinct from f.field_name) end as rev
      from f
      join target t on t.event_id = f.event_id
     where t.rev_at is not null
  ),
  snaps as materialized (
    -- The latest whole-row revision at or before the target.
    select k.event_id, k.rev from k where k.field_name is null and k.rev is not null
  ),
  exact_changes as (
    -- The value of each field changed after the whole-row revision: one pass over the
    -- field rows, semi-joined on the wanted keys (skipped when no event takes this path).
    select r.event_id, pg_catalog.jsonb_object_agg(r.field_name, r.new_value) as changes
      from public.event_revisions r
     where r.field_name is not null
       and (r.event_id, r.revision, r.field_name) in
           (select k.event_id, k.rev, k.field_name
              from k join snaps s on s.event_id = k.event_id
             where k.field_name is not null and k.rev > s.rev)
     group by r.event_id
  ),
  exact_whole as (
    select w.event_id, w.new_value
      from public.event_revisions w
     where w.field_name is null and w.operation <> 'delete'
       and (w.event_id, w.revision) in (select s.event_id, s.rev from snaps s)
  )
  -- The whole row, then the changed fields on it: converting the few changed values onto
  -- the record costs less than concatenating them onto the whole-row jsonb first.
  select case when c.changes is null then pg_catalog.jsonb_populate_record(null::public.events, w.new_value)
              else pg_catalog.jsonb_populate_record(pg_catalog.jsonb_populate_record(null::public.events, w.new_value), c.changes)
         end as r,
         null::uuid as refused
    from whole w
    join latest c on c.event_id = w.event_id
   where w.operation <> 'delete'
     and w.revision = c.whole_rev
     and w.event_id not in (select x.event_id from exact x)
  union all
  select case when c.changes is null then pg_catalog.jsonb_populate_record(null::public.events, w.new_value)
              else pg_catalog.jsonb_populate_record(pg_catalog.jsonb_populate_record(null::public.events, w.new_value), c.changes)
         end,
         null
    from exact_whole w
    left join exact_changes c on c.event_id = w.event_id
  union all
  -- Settled events without any whole-row revision: their state is unknown.
  select null, l.event_id
    from latest l
   where l.whole_rev is null
     and l.event_id not in (select u.event_id from unsettled u)
  union all
  -- Exact path: no revision up to `at` and not created in the kept history, or no
  -- whole-row revision up to the target.
  select null, t.event_id
    from target t
    left join snaps s on s.event_id = t.event_id
   where (t.rev_at is null
          and not exists (select from public.event_revisions c
                           where c.event_id = t.event_id and c.revision = 1 and c.field_name is null
                             and c.operation = 'insert'))
      or (t.rev_at is not null and s.rev is null)
  $q$ using events_as_of.at
  loop
    if v_row.refused is not null then
      v_refused := v_refused || v_row.refused;
    else
      return next v_row.r;
    end if;
  end loop;
  if pg_catalog.cardinality(v_refused) > 0 then
    -- Raised before the function returns: the rows read so far are never handed over.
    select max((select min(c.changed_at) from public.event_revisions c where c.event_id = u.id))
      into v_rebuildable_from
      from pg_catalog.unnest(v_refused) u(id);
    perform scrapeguard.events_as_of_refusal(pg_catalog.cardinality(v_refused), v_rebuildable_from, events_as_of.at);
  end if;
end
$$;
comment on function public.events_as_of(timestamptz) is
  'Every event as it was at `at` (deleted and not-yet-created ones left out). Raises 22023 when some event''s history before `at` is not kept.';
grant execute on function public.events_as_of(timestamptz) to authenticated, service_role;
