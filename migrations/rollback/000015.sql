-- Down script of the migration in migrations/current.sql (or current/): it must undo exactly
-- what that migration does. npm run commit moves it to migrations/rollback/NNNNNN.sql.
-- The definitions below are those of migration 000013 (schema/ as generated before this change).

CREATE OR REPLACE FUNCTION scrapeguard.events_as_of_refusal(unknown bigint, rebuildable_from timestamp with time zone, at timestamp with time zone)
 RETURNS boolean
 LANGUAGE plpgsql
 STABLE
 SET search_path TO ''
AS $function$
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
$function$;
comment on function scrapeguard.events_as_of_refusal(bigint, timestamptz, timestamptz) is
  'events_as_of''s refusal: raises 22023 when `unknown` events cannot be rebuilt at `at`, else true. Called inside events_as_of''s statement, so that the refusal costs no separate pass over the history.';

CREATE OR REPLACE FUNCTION public.events_as_of(at timestamp with time zone)
 RETURNS SETOF public.events
 LANGUAGE plpgsql
 STABLE
 SET search_path TO ''
 SET enable_nestloop TO 'off'
 SET enable_mergejoin TO 'off'
 SET enable_sort TO 'off'
AS $function$
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
$function$;
comment on function public.events_as_of(timestamp with time zone) is
  'Every event as it was at `at` (deleted and not-yet-created ones left out). Raises 22023 when some event''s history before `at` is not kept.';
grant execute on function public.events_as_of(timestamptz) to authenticated, service_role;
