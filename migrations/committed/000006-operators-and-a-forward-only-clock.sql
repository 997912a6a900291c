--! Previous: sha1:6b9b8c01e9b6e027703cc255980941f9ef09f297
--! Hash: sha1:8ddf65834f3cb622c181905cadfc2f7b4b62cd2f
--! Message: Operators and a forward-only clock

-- What operators need from the command line, and a shared clock that only moves forward.
--
-- 1. The shared clock (scrapeguard.clock_control) never goes back behind a time
--    scrapeguard has already recorded, unless the caller says `force => true`.
--    Moving it back (reset_clock() after advance_clock('8 hours'), or freezing it
--    before the last transition) would stamp later revisions, runs and transitions
--    with earlier times than older ones, so "as of" reads and histories would put them
--    in the wrong order. advance_clock, freeze_clock and reset_clock gain a `force`
--    argument (default false) and raise 55000 instead of moving back behind a recorded
--    time. Forward moves are always allowed.
-- 2. Breaker operator calls record who acted: force_breaker and reset_breaker take an
--    optional `actor`, kept in the new circuit_breaker_transitions.actor column
--    (default: the same "who" rule as event revisions: set_change_context's actor, the
--    JWT's sub, else the role in effect).
-- 3. public.run_logs(run_id, min_level, max_lines): one run's log lines at or above a
--    level, in a stable order (logged_at, then the append order of the identity id,
--    so the lines of one batch, which share logged_at, keep the order they were
--    logged in), with how many lines match in all. SG002 for an unknown run, so a
--    mistyped id is an error and not an empty listing.

-- ---------------------------------------------------------------------------------
-- 1. A clock that only moves forward
-- ---------------------------------------------------------------------------------

-- The latest time scrapeguard stamped with its clock. Log lines are left out: their
-- time may be the worker's own (append_logs' "at"). Reads each table once; clock moves
-- are for test and demo databases, where that is cheap.
create or replace function scrapeguard.latest_recorded_time() returns timestamptz
  language sql
  stable
  set search_path = ''
as $$
  select pg_catalog.max(m.t)
    from (
      select pg_catalog.max(r.changed_at) as t from public.event_revisions r
      union all
      select pg_catalog.max(x.at) from public.circuit_breaker_transitions x
      union all
      select pg_catalog.max(s.updated_at) from public.circuit_breaker_state s
      union all
      select pg_catalog.max(coalesce(u.finished_at, u.started_at)) from public.scraping_runs u
    ) m
$$;
comment on function scrapeguard.latest_recorded_time() is
  'The latest time recorded with scrapeguard.clock() (revisions, breaker transitions and states, runs); null when nothing is recorded. Log lines are left out: their time may be the worker''s.';

-- The shared clock as every connection sees it (the transaction setting scrapeguard.now
-- does not count), locking its row: concurrent clock moves take turns.
create or replace function scrapeguard.shared_clock_for_move() returns timestamptz
  language sql
  volatile
  set search_path = ''
as $$
  select coalesce(c.frozen_at, pg_catalog.clock_timestamp() + c.offset_by)
    from scrapeguard.clock_control c
   where c.id
     for update
$$;
comment on function scrapeguard.shared_clock_for_move() is
  'The shared clock''s reading (frozen or offset wall clock), with its control row locked for a move.';

-- Called by the clock moves after they updated clock_control: raises, undoing the
-- move, when it took the shared clock back (earlier than p_before) to before a
-- recorded time and the caller did not force it. Moving forward is always allowed,
-- also from a clock that was forced back.
create or replace function scrapeguard.check_clock_move(p_before timestamptz, p_force boolean) returns void
  language plpgsql
  volatile
  set search_path = ''
as $$
declare
  v_after timestamptz;
  v_latest timestamptz;
begin
  if p_force then
    return;
  end if;
  v_after := scrapeguard.shared_clock_for_move();
  if v_after >= p_before then
    return;
  end if;
  v_latest := scrapeguard.latest_recorded_time();
  if v_after < v_latest then
    raise exception 'scrapeguard: the clock would go back to %, before the latest recorded time %', v_after, v_latest
      using errcode = '55000',
            hint = 'Pass force => true to move it back anyway: times recorded afterwards will look older than earlier ones.';
  end if;
end
$$;
comment on function scrapeguard.check_clock_move(timestamptz, boolean) is
  'Raises 55000 when a clock move took the shared clock back from p_before to before scrapeguard.latest_recorded_time(), unless forced.';

drop function if exists scrapeguard.advance_clock(interval);
create or replace function scrapeguard.advance_clock(by_interval interval, force boolean default false)
  returns timestamptz
  language plpgsql
  volatile
  set search_path = ''
as $$
declare
  v_before timestamptz;
begin
  if by_interval is null or force is null then
    raise exception 'scrapeguard: advance_clock(by_interval, force): arguments must not be null' using errcode = '22004';
  end if;
  v_before := scrapeguard.shared_clock_for_move();
  update scrapeguard.clock_control c
     set offset_by = c.offset_by + by_interval,
         frozen_at = c.frozen_at + by_interval,
         updated_at = pg_catalog.clock_timestamp()
   where c.id;
  perform scrapeguard.check_clock_move(v_before, force);
  return scrapeguard.clock();
end
$$;
comment on function scrapeguard.advance_clock(interval, boolean) is
  'Moves the shared clock by by_interval for every connection; 55000 when that is back behind a recorded time, unless force. Tests and demos only.';

drop function if exists scrapeguard.freeze_clock(timestamptz);
create or replace function scrapeguard.freeze_clock(at_time timestamptz, force boolean default false)
  returns timestamptz
  language plpgsql
  volatile
  set search_path = ''
as $$
declare
  v_before timestamptz;
begin
  if force is null then
    raise exception 'scrapeguard: freeze_clock(at_time, force): force must not be null' using errcode = '22004';
  end if;
  v_before := scrapeguard.shared_clock_for_move();
  update scrapeguard.clock_control c
     set frozen_at = at_time, updated_at = pg_catalog.clock_timestamp()
   where c.id;
  perform scrapeguard.check_clock_move(v_before, force);
  return scrapeguard.clock();
end
$$;
comment on function scrapeguard.freeze_clock(timestamptz, boolean) is
  'Stops the shared clock at at_time (null: let it run again, keeping any offset); 55000 when that is back behind a recorded time, unless force. Tests and demos only.';

drop function if exists scrapeguard.reset_clock();
create or replace function scrapeguard.reset_clock(force boolean default false)
  returns timestamptz
  language plpgsql
  volatile
  set search_path = ''
as $$
declare
  v_before timestamptz;
begin
  if force is null then
    raise exception 'scrapeguard: reset_clock(force): force must not be null' using errcode = '22004';
  end if;
  v_before := scrapeguard.shared_clock_for_move();
  update scrapeguard.clock_control c
     set frozen_at = null, offset_by = interval '0', updated_at = pg_catalog.clock_timestamp()
   where c.id;
  perform scrapeguard.check_clock_move(v_before, force);
  return scrapeguard.clock();
end
$$;
comment on function scrapeguard.reset_clock(boolean) is
  'Back to the wall clock; 55000 when that is behind a recorded time (the clock was ahead), unless force.';

revoke all on function scrapeguard.latest_recorded_time() from public, anon, authenticated;
revoke all on function scrapeguard.shared_clock_for_move() from public, anon, authenticated;
revoke all on function scrapeguard.check_clock_move(timestamptz, boolean) from public, anon, authenticated;
revoke all on function scrapeguard.advance_clock(interval, boolean) from public, anon, authenticated;
revoke all on function scrapeguard.freeze_clock(timestamptz, boolean) from public, anon, authenticated;
revoke all on function scrapeguard.reset_clock(boolean) from public, anon, authenticated;
grant execute on function scrapeguard.latest_recorded_time() to service_role;
grant execute on function scrapeguard.shared_clock_for_move() to service_role;
grant execute on function scrapeguard.check_clock_move(timestamptz, boolean) to service_role;
grant execute on function scrapeguard.advance_clock(interval, boolean) to service_role;
grant execute on function scrapeguard.freeze_clock(timestamptz, boolean) to service_role;
grant execute on function scrapeguard.reset_clock(boolean) to service_role;

-- ---------------------------------------------------------------------------------
-- 2. Who forced or reset a breaker
-- ---------------------------------------------------------------------------------

alter table public.circuit_breaker_transitions
  add column if not exists actor text
    -- Only operator transitions have an actor; an actor is 1–200 characters.
    constraint circuit_breaker_transitions_actor_check check (
      actor is null
      or (reason in ('forced_open', 'disabled', 'auto', 'reset') and pg_catalog.char_length(actor) between 1 and 200));
comment on column public.circuit_breaker_transitions.actor is
  'The operator behind force_breaker/reset_breaker: their actor argument, else set_change_context''s actor, the JWT''s sub or the role in effect. Null for automatic transitions.';

-- The operator's actor: the argument when given (1–200 characters, else 22023), else
-- the same rule as revisions' actor.
create or replace function scrapeguard.breaker_actor(p_actor text) returns text
  language plpgsql
  stable
  set search_path = ''
as $$
begin
  if p_actor is null then
    return pg_catalog.left(scrapeguard.current_change_actor(), 200);
  end if;
  if pg_catalog.btrim(p_actor) = '' or pg_catalog.char_length(p_actor) > 200 then
    raise exception 'scrapeguard: actor must be 1 to 200 characters and not blank (got % characters)',
      pg_catalog.char_length(p_actor) using errcode = '22023';
  end if;
  return p_actor;
end
$$;
comment on function scrapeguard.breaker_actor(text) is
  'Who an operator call names: the actor given (22023 if blank or over 200 characters), else scrapeguard.current_change_actor().';

-- An operator transition: the transitions row with its actor, and the notification.
create or replace function scrapeguard.breaker_log_operator(
  p_row public.circuit_breaker_state, p_from text, p_reason text, p_actor text
) returns void
  language plpgsql
  volatile
  set search_path = ''
as $$
begin
  insert into public.circuit_breaker_transitions
    (source_id, from_state, to_state, reason, failure_count, opened_count, open_until, probe_id, worker, actor, version, at)
  values
    (p_row.source_id, p_from, p_row.state, p_reason, p_row.failure_count, p_row.opened_count, p_row.open_until,
     null, scrapeguard.breaker_worker(), p_actor, p_row.version, p_row.updated_at);
  perform pg_catalog.pg_notify('scrapeguard_breaker', pg_catalog.json_build_object(
    'source_id', p_row.source_id, 'from', p_from, 'to', p_row.state, 'reason', p_reason,
    'open_until', p_row.open_until, 'probe_id', null, 'actor', pg_catalog.left(p_actor, 200),
    'version', p_row.version, 'at', p_row.updated_at)::text);
end
$$;
comment on function scrapeguard.breaker_log_operator(public.circuit_breaker_state, text, text, text) is
  'Records an operator''s breaker transition (with its actor): a circuit_breaker_transitions row and a notification on channel scrapeguard_breaker.';

-- Operator modes, as before, with who acted.
drop function if exists public.force_breaker(uuid, text);
create or replace function public.force_breaker(source_id uuid, mode text, actor text default null)
  returns public.circuit_breaker_state
  language plpgsql
  volatile
  set search_path = ''
as $$
declare
  p_source_id alias for $1;
  p_mode alias for $2;
  cur public.circuit_breaker_state;
  r public.circuit_breaker_state;
  v_target text;
  v_actor text;
  v_now timestamptz;
begin
  if p_source_id is null then
    raise exception 'scrapeguard: source_id must not be null' using errcode = '22004';
  end if;
  if p_mode is null then
    raise exception 'scrapeguard: mode must not be null (forced_open, disabled or auto)' using errcode = '22004';
  end if;
  if p_mode not in ('forced_open', 'disabled', 'auto') then
    raise exception 'scrapeguard: unknown breaker mode "%" (expected forced_open, disabled or auto)', p_mode
      using errcode = '22023';
  end if;
  v_actor := scrapeguard.breaker_actor($3);
  loop
    select s.* into cur from public.circuit_breaker_state s where s.source_id = p_source_id for update;
    exit when found;
    perform scrapeguard.breaker_ensure(p_source_id);
  end loop;

  v_target := case
    when p_mode <> 'auto' then p_mode
    when cur.state in ('forced_open', 'disabled') then 'closed'
    else cur.state
  end;
  if v_target = cur.state then
    return cur;
  end if;

  v_now := scrapeguard.clock();
  update public.circuit_breaker_state s
     set state = v_target,
         failure_count = case when p_mode = 'auto' then 0 else s.failure_count end,
         opened_count = 0, open_until = null,
         probe_id = null, probe_lease_until = null, probe_worker = null,
         state_changed_at = v_now, updated_at = v_now, version = s.version + 1
   where s.source_id = p_source_id
  returning s.* into r;
  perform scrapeguard.breaker_log_operator(r, cur.state, p_mode, v_actor);
  return r;
end
$$;
comment on function public.force_breaker(uuid, text, text) is
  'Operator mode of a source''s breaker: forced_open (deny all), disabled (permit all, never trip) or auto (back to a fresh closed breaker). actor: who (recorded in the transition).';

drop function if exists public.reset_breaker(uuid);
create or replace function public.reset_breaker(source_id uuid, actor text default null)
  returns public.circuit_breaker_state
  language plpgsql
  volatile
  set search_path = ''
as $$
declare
  p_source_id alias for $1;
  cur public.circuit_breaker_state;
  r public.circuit_breaker_state;
  v_actor text;
  v_now timestamptz;
begin
  if p_source_id is null then
    raise exception 'scrapeguard: source_id must not be null' using errcode = '22004';
  end if;
  v_actor := scrapeguard.breaker_actor($2);
  loop
    select s.* into cur from public.circuit_breaker_state s where s.source_id = p_source_id for update;
    exit when found;
    perform scrapeguard.breaker_ensure(p_source_id);
  end loop;
  if cur.state = 'closed' and cur.failure_count = 0 then
    return cur;
  end if;

  v_now := scrapeguard.clock();
  update public.circuit_breaker_state s
     set state = 'closed', failure_count = 0, opened_count = 0, open_until = null,
         probe_id = null, probe_lease_until = null, probe_worker = null,
         state_changed_at = case when s.state <> 'closed' then v_now else s.state_changed_at end,
         updated_at = v_now, version = s.version + 1
   where s.source_id = p_source_id
  returning s.* into r;
  perform scrapeguard.breaker_log_operator(r, cur.state, 'reset', v_actor);
  return r;
end
$$;
comment on function public.reset_breaker(uuid, text) is
  'Closes a source''s breaker and forgets its failures and back-off (from any state, operator modes included). actor: who (recorded in the transition).';

revoke all on function scrapeguard.breaker_actor(text) from public, anon, authenticated;
revoke all on function scrapeguard.breaker_log_operator(public.circuit_breaker_state, text, text, text) from public, anon, authenticated;
revoke all on function public.force_breaker(uuid, text, text) from public, anon, authenticated;
revoke all on function public.reset_breaker(uuid, text) from public, anon, authenticated;
grant execute on function scrapeguard.breaker_actor(text) to service_role;
grant execute on function scrapeguard.breaker_log_operator(public.circuit_breaker_state, text, text, text) to service_role;
grant execute on function public.force_breaker(uuid, text, text) to service_role;
grant execute on function public.reset_breaker(uuid, text) to service_role;

-- ---------------------------------------------------------------------------------
-- 3. One run's log lines, for operators
-- ---------------------------------------------------------------------------------

-- The lines of run_id at min_level or above (debug < info < warn < error), the first
-- max_lines of them in (logged_at, id) order, each with `matching`: how many lines
-- match in all (so a reader can say how many were left out). SG002 for an unknown run.
create or replace function public.run_logs(run_id uuid, min_level text default 'debug', max_lines integer default 200)
  returns table (id bigint, logged_at timestamptz, level text, message text, metadata jsonb, matching bigint)
  language plpgsql
  stable
  set search_path = ''
as $$
declare
  p_run_id alias for $1;
  p_min_level alias for $2;
  p_max_lines alias for $3;
  v_levels text[];
begin
  if p_run_id is null or p_min_level is null or p_max_lines is null then
    raise exception 'run_logs: run_id, min_level and max_lines must not be null' using errcode = '22004';
  end if;
  v_levels := case p_min_level
    when 'debug' then array['debug', 'info', 'warn', 'error']
    when 'info' then array['info', 'warn', 'error']
    when 'warn' then array['warn', 'error']
    when 'error' then array['error']
  end;
  if v_levels is null then
    raise exception 'run_logs: unknown level "%" (expected debug, info, warn or error)', p_min_level using errcode = '22023';
  end if;
  if p_max_lines < 1 or p_max_lines > 10000 then
    raise exception 'run_logs: max_lines must be between 1 and 10000 (got %)', p_max_lines using errcode = '22023';
  end if;
  if not exists (select from public.scraping_runs r where r.id = p_run_id) then
    raise exception 'run_logs: unknown run %', p_run_id using errcode = 'SG002';
  end if;
  return query
    select l.id, l.logged_at, l.level, l.message, l.metadata, pg_catalog.count(*) over ()
      from public.scraping_logs l
     where l.run_id = p_run_id and l.level = any (v_levels)
     order by l.logged_at, l.id
     limit p_max_lines;
end
$$;
comment on function public.run_logs(uuid, text, integer) is
  'Log lines of one run at min_level or above, first max_lines in (logged_at, append) order, each with the count of all matching lines; SG002 for an unknown run.';

revoke all on function public.run_logs(uuid, text, integer) from public, anon, authenticated;
grant execute on function public.run_logs(uuid, text, integer) to service_role;
