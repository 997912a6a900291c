--! Previous: sha1:4a4c4cd63bcb35884e3a2541f2e8de50f80b887e
--! Hash: sha1:fdb744d60878796c7bc656253f1239aa4d520ab9
--! Message: clock in plpgsql

-- scrapeguard.clock() in plpgsql instead of SQL.
--
-- Measured (bench/breaker.ts): a LANGUAGE sql function with a pinned search_path cannot
-- be inlined and, before PostgreSQL 18, is re-parsed and re-planned in every transaction
-- (~60–80 µs a call), which made the clock the main cost of every breaker write. plpgsql
-- caches its plan per session (~10–15 µs). Same semantics, same grants.
create or replace function scrapeguard.clock() returns timestamptz
  language plpgsql
  volatile
  set search_path = ''
as $$
begin
  return coalesce(
    nullif(pg_catalog.current_setting('scrapeguard.now', true), '')::timestamptz,
    (select coalesce(c.frozen_at, pg_catalog.clock_timestamp() + c.offset_by)
       from scrapeguard.clock_control c where c.id),
    pg_catalog.clock_timestamp()
  );
end
$$;
