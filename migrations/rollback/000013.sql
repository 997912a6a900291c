-- Down script of migrations/current.sql: events_as_of as it was (ordered joins, a separate
-- refusal pass), and without the refusal helper.

CREATE OR REPLACE FUNCTION public.events_as_of(at timestamp with time zone)
 RETURNS SETOF public.events
 LANGUAGE plpgsql
 STABLE
 SET search_path TO ''
AS $function$
declare
  v_unknown bigint;
  v_from timestamptz;
begin
  if events_as_of.at is null then
    raise exception 'events_as_of: at is required' using errcode = '22004';
  end if;
  -- Refuse rather than leave out events whose state at `at` is not kept.
  with heads as (
    select r.event_id,
           max(r.revision) filter (where r.changed_at <= events_as_of.at) as target,
           bool_or(r.revision = 1 and r.operation = 'insert') as from_creation,
           min(r.changed_at) as first_at
      from public.event_revisions r
     group by r.event_id
  )
  select count(*), max(h.first_at) into v_unknown, v_from
    from heads h
   where (h.target is null and not h.from_creation)
      or (h.target is not null
          and not exists (select from public.event_revisions s
                           where s.event_id = h.event_id and s.revision <= h.target and s.field_name is null));
  if v_unknown > 0 then
    raise exception 'events_as_of: the history of % event(s) before % is not kept', v_unknown, events_as_of.at
      using errcode = '22023',
            detail = pg_catalog.format('All events can be rebuilt from %s on.', v_from),
            hint = 'Ask for a later time, or use event_as_of for single events.';
  end if;

  -- Dynamic, so planned at every call: a plan kept for the session (as a static query's
  -- is) holds the columns public.events had when it was made, and nothing invalidates it
  -- when a column is added, dropped or retyped (the query names the row type, not the
  -- table), so the same connection then failed with 42804 "structure of query does not
  -- match function result type". Planning is small next to reading the revisions.
  return query execute $q$
  with heads as (
    select r.event_id, max(r.revision) as target
      from public.event_revisions r
     where r.changed_at <= $1
     group by r.event_id
  ),
  snaps as (
    select distinct on (h.event_id) h.event_id, h.target, s.revision, s.operation, s.new_value
      from heads h
      join public.event_revisions s
        on s.event_id = h.event_id and s.revision <= h.target and s.field_name is null
     order by h.event_id, s.revision desc
  ),
  fields as (
    select f.event_id, pg_catalog.jsonb_object_agg(f.field_name, f.new_value) as changes
      from (select distinct on (r.event_id, r.field_name) r.event_id, r.field_name, r.new_value
              from snaps s
              join public.event_revisions r
                on r.event_id = s.event_id and r.revision > s.revision and r.revision <= s.target
             order by r.event_id, r.field_name, r.revision desc) f
     group by f.event_id
  )
  select e.*
    from snaps s
    left join fields f on f.event_id = s.event_id
   cross join lateral pg_catalog.jsonb_populate_record(null::public.events,
                                                       s.new_value || coalesce(f.changes, '{}'::jsonb)) e
   where s.operation <> 'delete'
  $q$ using events_as_of.at;
end
$function$;

drop function scrapeguard.events_as_of_refusal(bigint, timestamptz, timestamptz);
