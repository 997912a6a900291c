-- scrapeguard migration 000005 (exported from migrations/committed/000005-read-functions-may-read-the-clock.sql by npm run export:supabase).
-- Down script: migrations/rollback/000005.sql

-- Admins' read functions (fleet_health, event_as_of, …) run as the caller and ask
-- scrapeguard.clock() for the time, so the caller must be able to read the clock:
-- EXECUTE on clock() and its control row. The offset/frozen instant is not a secret;
-- moving the clock stays service-role only.
grant execute on function scrapeguard.clock() to authenticated;
grant select on table scrapeguard.clock_control to authenticated;
drop policy if exists "the clock is readable" on scrapeguard.clock_control;
create policy "the clock is readable" on scrapeguard.clock_control
  for select to authenticated using (true);
