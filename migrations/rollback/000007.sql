-- Down script: event_as_of and events_as_of as the committed chain defines them
-- (their definitions in schema/ before this migration).

CREATE OR REPLACE FUNCTION public.event_as_of(event_id uuid, at timestamp with time zone)
 RETURNS public.events
 LANGUAGE plpgsql
 STABLE
 SET search_path TO ''
AS $function$
declare
  v_first public.event_revisions;
  v_snap public.event_revisions;
  v_target integer;
  v_fields jsonb;
begin
  if event_as_of.event_id is null or event_as_of.at is null then
    raise exception 'event_as_of: event_id and at are required' using errcode = '22004';
  end if;
  select r.* into v_first
    from public.event_revisions r
   where r.event_id = event_as_of.event_id
   order by r.revision, r.id
   limit 1;
  if not found then
    return null;  -- no history: never an event (or not visible to the caller)
  end if;
  select max(r.revision) into v_target
    from public.event_revisions r
   where r.event_id = event_as_of.event_id and r.changed_at <= event_as_of.at;
  if v_target is null then
    -- Before the first kept revision: "did not exist" only if that is its creation.
    if v_first.revision = 1 and v_first.operation = 'insert' then
      return null;
    end if;
    raise exception 'event_as_of: the history of event % before % is not kept', event_as_of.event_id, v_first.changed_at
      using errcode = '22023',
            detail = pg_catalog.format('Its oldest kept revision is %s (%s at %s).',
                                       v_first.revision, v_first.operation, v_first.changed_at),
            hint = 'Ask for a time at or after the oldest kept revision.';
  end if;
  -- The latest whole-row state at or before the target, then the fields changed since.
  select r.* into v_snap
    from public.event_revisions r
   where r.event_id = event_as_of.event_id and r.revision <= v_target and r.field_name is null
   order by r.revision desc
   limit 1;
  if not found then
    raise exception 'event_as_of: the history of event % has no whole-row state before revision %',
      event_as_of.event_id, v_target
      using errcode = '22023';
  end if;
  if v_snap.operation = 'delete' then
    return null;  -- deleted at that time
  end if;
  select pg_catalog.jsonb_object_agg(u.field_name, u.new_value) into v_fields
    from (select distinct on (r.field_name) r.field_name, r.new_value
            from public.event_revisions r
           where r.event_id = event_as_of.event_id
             and r.revision > v_snap.revision and r.revision <= v_target
           order by r.field_name, r.revision desc) u;
  return pg_catalog.jsonb_populate_record(null::public.events, v_snap.new_value || coalesce(v_fields, '{}'::jsonb));
end
$function$;
comment on function public.event_as_of(uuid,timestamp with time zone) is
  'The events row as it was at `at` (after every revision with changed_at <= at); null when it did not exist or was deleted then. Raises 22023 when history before `at` is not kept.';
grant execute on function public.event_as_of(uuid,timestamp with time zone) to authenticated;
grant execute on function public.event_as_of(uuid,timestamp with time zone) to service_role;

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

  return query
  with heads as (
    select r.event_id, max(r.revision) as target
      from public.event_revisions r
     where r.changed_at <= events_as_of.at
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
   where s.operation <> 'delete';
end
$function$;
comment on function public.events_as_of(timestamp with time zone) is
  'Every event as it was at `at` (deleted and not-yet-created ones left out). Raises 22023 when some event''s history before `at` is not kept.';
grant execute on function public.events_as_of(timestamp with time zone) to authenticated;
grant execute on function public.events_as_of(timestamp with time zone) to service_role;
