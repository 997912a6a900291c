-- Down: the clock reads its control row on every call again.
CREATE OR REPLACE FUNCTION scrapeguard.clock()
 RETURNS timestamp with time zone
 LANGUAGE plpgsql
 SET search_path TO ''
AS $function$
begin
  return coalesce(
    nullif(pg_catalog.current_setting('scrapeguard.now', true), '')::pg_catalog.timestamptz,
    (select coalesce(c.frozen_at, pg_catalog.clock_timestamp() + c.offset_by)
       from scrapeguard.clock_control c where c.id),
    pg_catalog.clock_timestamp()
  );
end
$function$;
comment on function scrapeguard.clock() is
  'The time scrapeguard records and compares against: wall clock, unless frozen/offset for tests or demos.';
grant execute on function scrapeguard.clock() to authenticated;
grant execute on function scrapeguard.clock() to service_role;

drop trigger if exists clock_control_moved on scrapeguard.clock_control;
drop function if exists scrapeguard.note_clock_moved();
drop function if exists scrapeguard.moved_clock();
drop sequence if exists scrapeguard.clock_moved;

select scrapeguard.refresh_event_revision_trigger();
