-- scrapeguard migration 000003 (exported from migrations/committed/000003-one-clock-for-scrapeguard-times.sql by npm run export:supabase).
-- Down script: migrations/rollback/000003.sql

-- One clock for every scrapeguard time (breaker transitions, runs, logs, revisions).
--
-- Why not now(): now() is the start of the transaction, so a long transaction would
-- stamp stale times, and tests and the demo need to move time without waiting an
-- hour for a breaker to cool down. scrapeguard.clock() is the wall clock
-- (clock_timestamp()) unless
--   * the transaction/session sets scrapeguard.now (a frozen instant for one
--     connection: `set local scrapeguard.now = '2026-01-01 00:00+00'`), or
--   * the shared clock_control row is frozen or offset, which every connection
--     sees (concurrency tests, the accelerated demo).
-- Production never touches either, and then the cost is one primary-key read.

create table if not exists scrapeguard.clock_control (
  id boolean primary key default true check (id),
  offset_by interval not null default interval '0',
  frozen_at timestamptz,
  updated_at timestamptz not null default pg_catalog.clock_timestamp()
);
comment on table scrapeguard.clock_control is
  'At most one row: a shared offset or frozen instant for scrapeguard.clock(). Tests and demos only.';
alter table scrapeguard.clock_control enable row level security;
revoke all on table scrapeguard.clock_control from public;
grant select on table scrapeguard.clock_control to service_role;

insert into scrapeguard.clock_control (id) values (true) on conflict (id) do nothing;

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
comment on function scrapeguard.clock() is
  'The time scrapeguard records and compares against: wall clock, unless frozen/offset for tests or demos.';

create or replace function scrapeguard.advance_clock(by_interval interval) returns timestamptz
  language sql
  volatile
  set search_path = ''
as $$
  update scrapeguard.clock_control
     set offset_by = offset_by + by_interval,
         frozen_at = frozen_at + by_interval,
         updated_at = pg_catalog.clock_timestamp()
   where id;
  select scrapeguard.clock();
$$;
comment on function scrapeguard.advance_clock(interval) is
  'Moves the shared clock forward (or back) for every connection. Tests and demos only.';

create or replace function scrapeguard.freeze_clock(at_time timestamptz) returns timestamptz
  language sql
  volatile
  set search_path = ''
as $$
  update scrapeguard.clock_control
     set frozen_at = at_time, updated_at = pg_catalog.clock_timestamp()
   where id;
  select scrapeguard.clock();
$$;
comment on function scrapeguard.freeze_clock(timestamptz) is
  'Stops the shared clock at at_time (null: let it run again, keeping any offset). Tests and demos only.';

create or replace function scrapeguard.reset_clock() returns timestamptz
  language sql
  volatile
  set search_path = ''
as $$
  update scrapeguard.clock_control
     set frozen_at = null, offset_by = interval '0', updated_at = pg_catalog.clock_timestamp()
   where id;
  select scrapeguard.clock();
$$;
comment on function scrapeguard.reset_clock() is 'Back to the wall clock.';

revoke all on function scrapeguard.clock() from public;
revoke all on function scrapeguard.advance_clock(interval) from public;
revoke all on function scrapeguard.freeze_clock(timestamptz) from public;
revoke all on function scrapeguard.reset_clock() from public;
grant execute on function scrapeguard.clock() to service_role;
grant execute on function scrapeguard.advance_clock(interval) to service_role;
grant execute on function scrapeguard.freeze_clock(timestamptz) to service_role;
grant execute on function scrapeguard.reset_clock() to service_role;
