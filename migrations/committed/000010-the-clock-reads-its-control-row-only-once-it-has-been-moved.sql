--! Previous: sha1:16f2da6eb37d178d1037e6fac5ae78795916c974
--! Hash: sha1:5e0d029d6918d567df077e35a8c2a77cd1da8edd
--! Message: The clock reads its control row only once it has been moved

-- The shared clock reads its control row only once the clock has been moved.
--
-- scrapeguard.clock() read scrapeguard.clock_control on every call, and a query inside
-- a PL/pgSQL expression starts an executor each time: about a third of what the breaker's
-- failure/success pair adds to two plain UPDATEs of the state row, and one more
-- query per changed event in the revision triggers, which embed the clock's expression.
-- Production never moves the clock, so the read is skipped until the first move:
--
--   * scrapeguard.clock_moved is a sequence used as a flag: 0 (or never set) until the
--     control row is first written, then 1 for good. A sequence, because setval() is
--     seen by every connection at once and reading it (pg_sequence_last_value) is a
--     plain function call, not a query. It is not rolled back with the writing
--     transaction, which is the safe direction: a flag left at 1 by a move that rolled
--     back only means the row is read again (it still says "not moved").
--   * A statement trigger on clock_control sets it before any insert or update of the
--     row can commit, so no connection can see a moved row with the flag at 0, whether
--     the row is written by advance_clock/freeze_clock/reset_clock or directly.
--   * clock() stays one RETURN expression, so refresh_event_revision_trigger() keeps
--     embedding it in the generated triggers; the row is read by moved_clock(), a
--     function call evaluated only when the flag is set.

create sequence if not exists scrapeguard.clock_moved as integer minvalue 0 maxvalue 1 start with 0 no cycle
  owned by scrapeguard.clock_control.id;
comment on sequence scrapeguard.clock_moved is
  '1 once scrapeguard.clock_control has been written (the shared clock moved, frozen or reset): from then on scrapeguard.clock() reads that row. Set by the clock_control_moved trigger; never set back (0 would be unsafe to set outside the row''s transaction).';
revoke all on sequence scrapeguard.clock_moved from public;
-- clock() runs as its caller, and pg_sequence_last_value needs SELECT on the sequence.
grant select on sequence scrapeguard.clock_moved to authenticated, service_role;

create or replace function scrapeguard.moved_clock() returns timestamptz
  language plpgsql
  volatile
  set search_path = ''
as $$
begin
  return (select coalesce(c.frozen_at, pg_catalog.clock_timestamp() + c.offset_by)
            from scrapeguard.clock_control c
           where c.id);
end
$$;
comment on function scrapeguard.moved_clock() is
  'The shared clock from scrapeguard.clock_control (frozen instant or offset wall clock); null without the row. Called by clock() once the clock has been moved.';
revoke all on function scrapeguard.moved_clock() from public, anon, authenticated, service_role;
grant execute on function scrapeguard.moved_clock() to authenticated, service_role;

create or replace function scrapeguard.clock() returns timestamptz
  language plpgsql
  volatile
  set search_path = ''
as $$
begin
  return coalesce(
    nullif(pg_catalog.current_setting('scrapeguard.now', true), '')::pg_catalog.timestamptz,
    case when pg_catalog.pg_sequence_last_value('scrapeguard.clock_moved'::pg_catalog.regclass) > 0
         then scrapeguard.moved_clock() end,
    pg_catalog.clock_timestamp()
  );
end
$$;

-- SECURITY DEFINER: setval needs UPDATE on the sequence, which no caller role is given
-- (a role able to set the flag back to 0 could hide a moved clock). A trigger function
-- is never called directly, so nobody gets EXECUTE.
create or replace function scrapeguard.note_clock_moved() returns trigger
  language plpgsql
  security definer
  set search_path = ''
as $$
begin
  perform pg_catalog.setval('scrapeguard.clock_moved'::pg_catalog.regclass, 1);
  return null;
end
$$;
comment on function scrapeguard.note_clock_moved() is
  'Trigger of scrapeguard.clock_control: sets scrapeguard.clock_moved to 1 before a write of the control row can commit.';
revoke all on function scrapeguard.note_clock_moved() from public, anon, authenticated, service_role;

drop trigger if exists clock_control_moved on scrapeguard.clock_control;
create trigger clock_control_moved
  after insert or update on scrapeguard.clock_control
  for each statement execute function scrapeguard.note_clock_moved();

-- A clock moved before this migration keeps being read.
select pg_catalog.setval('scrapeguard.clock_moved'::pg_catalog.regclass, 1)
  from scrapeguard.clock_control c
 where c.offset_by <> interval '0' or c.frozen_at is not null;

-- The generated revision triggers embed clock()'s expression: regenerate them.
select scrapeguard.refresh_event_revision_trigger();
