--! Previous: sha1:ca3b26082baaada33053e3130791ecb1a95323dd
--! Hash: sha1:4a4c4cd63bcb35884e3a2541f2e8de50f80b887e
--! Message: read functions may read the clock

-- Admins' read functions (fleet_health, event_as_of, …) run as the caller and ask
-- scrapeguard.clock() for the time, so the caller must be able to read the clock:
-- EXECUTE on clock() and its control row. The offset/frozen instant is not a secret;
-- moving the clock stays service-role only.
grant execute on function scrapeguard.clock() to authenticated;
grant select on table scrapeguard.clock_control to authenticated;
drop policy if exists "the clock is readable" on scrapeguard.clock_control;
create policy "the clock is readable" on scrapeguard.clock_control
  for select to authenticated using (true);
