-- Down script of 000003 (clock).
drop function if exists scrapeguard.reset_clock();
drop function if exists scrapeguard.freeze_clock(timestamptz);
drop function if exists scrapeguard.advance_clock(interval);
drop function if exists scrapeguard.clock();
drop table if exists scrapeguard.clock_control;
