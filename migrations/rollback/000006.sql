-- Down script of 000006: back to the SQL version of 000003.
create or replace function scrapeguard.clock() returns timestamptz
  language sql
  volatile
  set search_path = ''
as $$
  select coalesce(
    nullif(pg_catalog.current_setting('scrapeguard.now', true), '')::timestamptz,
    (select coalesce(c.frozen_at, pg_catalog.clock_timestamp() + c.offset_by)
       from scrapeguard.clock_control c where c.id),
    pg_catalog.clock_timestamp()
  )
$$;
