--! Previous: sha1:9b8a792c743fe96ebcc2f6b3cc363805d168156e
--! Hash: sha1:41a97c98102b30573c59e134edbcf53ba0f0546a
--! Message: Reading the whole calendar as of a time set-based

-- public.events_as_of(at) read the history through ordered joins: a sort of every event's
-- whole-row revisions, then, event by event, a range read of its revisions through the
-- unique index, sorted again to keep the last value of each field — and, before all that,
-- a separate pass for the refusal check (a grouping of the whole history plus an index
-- probe per event). At 20,000 events and 342,700 revision rows that was ~36× a sequential
-- read of event_revisions (bench/revisions.ts (e)).
--
-- Now one statement of hash aggregates and hash joins, with the refusal check in it:
--   1. one pass over event_revisions grouped by (event, field) and, in the same
--      aggregate, by event (grouping sets): each group's last revision and its last
--      revision recorded at or before `at`; the event's is the target revision;
--   2. per (event, field), the revision in effect at the target: its last revision when
--      that is not later than the target (always, unless something was recorded after
--      `at`), else one backward descent of the unique index (revision and changed_at
--      order can disagree when transactions overlap, so the target is not simply "the
--      last one recorded at or before `at`" per field);
--   3. the refusal, from those figures: an event with no revision up to `at` that was
--      not created in the kept history, or with no whole-row revision up to its target;
--      raised by scrapeguard.events_as_of_refusal before any row is returned;
--   4. the values: one pass for the field rows after each event's whole-row revision
--      (semi-join on the few wanted keys), aggregated per event, and one for the
--      whole-row rows; jsonb_populate_record of the whole row, then of the changed
--      fields onto that record.
-- The semantics, the refusal (22023, same message, detail and hint) and the dynamic
-- statement (planned at each call, so column changes of events are followed) are kept.
--
-- The planner is kept to hash joins and hash aggregates inside the function (SET
-- enable_nestloop / enable_mergejoin / enable_sort off): it cannot estimate the row
-- counts of the grouped steps, and with the default settings it chose per-event nested
-- loops and sorts that spilled, 1.7× to several hundred times slower than this plan (measured on the bench's
-- history). The refusal's own lookups (a few index probes, only for refused events)
-- are subqueries, which those settings do not touch.
--
-- Every statement is CREATE OR REPLACE (or a grant/revoke, which repeats harmlessly), so
-- running this file twice changes nothing.

create or replace function scrapeguard.events_as_of_refusal(unknown bigint, rebuildable_from timestamptz, at timestamptz)
  returns boolean
  language plpgsql
  stable
  set search_path = ''
as $$
begin
  -- Called once per events_as_of statement, before its first row (a one-time filter), so
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
  'events_as_of''s refusal: raises 22023 when `unknown` events cannot be rebuilt at `at`, else true. Called inside events_as_of''s statement, so that the refusal costs no separate pass over the history.';
revoke all on function scrapeguard.events_as_of_refusal(bigint, timestamptz, timestamptz) from public, anon, authenticated;
-- events_as_of is SECURITY INVOKER: whoever may call it calls this too.
grant execute on function scrapeguard.events_as_of_refusal(bigint, timestamptz, timestamptz) to authenticated, service_role;

create or replace function public.events_as_of(at timestamptz) returns setof public.events
  language plpgsql
  stable
  set search_path = ''
  set enable_nestloop = off
  set enable_mergejoin = off
  set enable_sort = off
as $$
begin
  if events_as_of.at is null then
    raise exception 'events_as_of: at is required' using errcode = '22004';
  end if;
  -- Dynamic, so planned at every call: a plan kept for the session (as a static query's
  -- is) holds the columns public.events had when it was made, and nothing invalidates it
  -- when a column is added, dropped or retyped (the query names the row type, not the
  -- table), so the same connection then failed with 42804 "structure of query does not
  -- match function result type". Planning is small next to reading the revisions.
  return query execute $q$
  with g as materialized (
    -- One pass: per (event, field) (field null: the whole-row revisions) and per event.
    select r.event_id, r.field_name, grouping(r.field_name) as per_event,
           max(r.revision) as last_rev,
           max(r.revision) filter (where r.changed_at <= $1) as rev_at
      from public.event_revisions r
     group by grouping sets ((r.event_id, r.field_name), (r.event_id))
  ),
  k as materialized (
    -- Per (event, field): the revision in effect at the event's target revision.
    select f.event_id, f.field_name,
           case when f.last_rev <= e.rev_at then f.last_rev
                else (select max(w.revision)
                        from public.event_revisions w
                       where w.event_id = f.event_id and w.revision <= e.rev_at
                         and w.field_name is not distinct from f.field_name) end as rev
      from g f
      join g e on e.event_id = f.event_id
     where f.per_event = 0 and e.per_event = 1 and e.rev_at is not null
  ),
  snaps as materialized (
    -- The latest whole-row revision at or before the target.
    select k.event_id, k.rev from k where k.field_name is null and k.rev is not null
  ),
  refused as (
    select count(*) as n,
           max((select min(c.changed_at) from public.event_revisions c where c.event_id = h.event_id)) as rebuildable_from
      from g h
      left join snaps s on s.event_id = h.event_id
     where h.per_event = 1
       and ((h.rev_at is null
             and not exists (select from public.event_revisions c
                              where c.event_id = h.event_id and c.revision = 1 and c.field_name is null
                                and c.operation = 'insert'))
            or (h.rev_at is not null and s.rev is null))
  ),
  changes as (
    -- The value of each field changed after the whole-row revision (one row per field).
    select r.event_id, pg_catalog.jsonb_object_agg(r.field_name, r.new_value) as changes
      from public.event_revisions r
     where r.field_name is not null
       and (r.event_id, r.revision, r.field_name) in
           (select k.event_id, k.rev, k.field_name
              from k join snaps s on s.event_id = k.event_id
             where k.field_name is not null and k.rev > s.rev)
     group by r.event_id
  )
  -- The whole row, then the changed fields on it: converting the few changed values onto
  -- the record costs less than concatenating them onto the whole-row jsonb first.
  select e.*
    from public.event_revisions w
    left join changes c on c.event_id = w.event_id
   cross join lateral pg_catalog.jsonb_populate_record(null::public.events, w.new_value) b
   cross join lateral pg_catalog.jsonb_populate_record(b, coalesce(c.changes, '{}'::jsonb)) e
   where w.field_name is null and w.operation <> 'delete'
     and (w.event_id, w.revision) in (select s.event_id, s.rev from snaps s)
     and (select scrapeguard.events_as_of_refusal(x.n, x.rebuildable_from, $1) from refused x)
  $q$ using events_as_of.at;
end
$$;
