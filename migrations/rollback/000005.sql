-- Down script of 000005.
drop policy if exists "the clock is readable" on scrapeguard.clock_control;
revoke select on table scrapeguard.clock_control from authenticated;
revoke execute on function scrapeguard.clock() from authenticated;
