-- Down: the clock moves without a forward-only check, operator calls without an actor,
-- no run_logs. The functions come back exactly as they were before.

drop function if exists public.run_logs(uuid, text, integer);

drop function if exists public.force_breaker(uuid, text, text);
drop function if exists public.reset_breaker(uuid, text);
drop function if exists scrapeguard.breaker_log_operator(public.circuit_breaker_state, text, text, text);
drop function if exists scrapeguard.breaker_actor(text);
alter table public.circuit_breaker_transitions drop column if exists actor;

drop function if exists scrapeguard.advance_clock(interval, boolean);
drop function if exists scrapeguard.freeze_clock(timestamptz, boolean);
drop function if exists scrapeguard.reset_clock(boolean);
drop function if exists scrapeguard.check_clock_move(timestamptz, boolean);
drop function if exists scrapeguard.shared_clock_for_move();
drop function if exists scrapeguard.latest_recorded_time();

-- The committed definitions (schema/ before this migration). Supabase's default privileges
-- give new functions to anon and authenticated, hence the revokes.

CREATE OR REPLACE FUNCTION public.force_breaker(source_id uuid, mode text)
 RETURNS public.circuit_breaker_state
 LANGUAGE plpgsql
 SET search_path TO ''
AS $function$
declare
  p_source_id alias for $1;
  p_mode alias for $2;
  cur public.circuit_breaker_state;
  r public.circuit_breaker_state;
  v_target text;
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
  perform scrapeguard.breaker_log(r, cur.state, p_mode, null, scrapeguard.breaker_worker());
  return r;
end
$function$;
comment on function public.force_breaker(uuid,text) is
  'Operator mode of a source''s breaker: forced_open (deny all), disabled (permit all, never trip) or auto (back to a fresh closed breaker).';
grant execute on function public.force_breaker(uuid,text) to service_role;
revoke all on function public.force_breaker(uuid, text) from public, anon, authenticated;

CREATE OR REPLACE FUNCTION public.reset_breaker(source_id uuid)
 RETURNS public.circuit_breaker_state
 LANGUAGE plpgsql
 SET search_path TO ''
AS $function$
declare
  p_source_id alias for $1;
  cur public.circuit_breaker_state;
  r public.circuit_breaker_state;
  v_now timestamptz;
begin
  if p_source_id is null then
    raise exception 'scrapeguard: source_id must not be null' using errcode = '22004';
  end if;
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
  perform scrapeguard.breaker_log(r, cur.state, 'reset', null, scrapeguard.breaker_worker());
  return r;
end
$function$;
comment on function public.reset_breaker(uuid) is
  'Closes a source''s breaker and forgets its failures and back-off (from any state, operator modes included).';
grant execute on function public.reset_breaker(uuid) to service_role;
revoke all on function public.reset_breaker(uuid) from public, anon, authenticated;

CREATE OR REPLACE FUNCTION scrapeguard.advance_clock(by_interval interval)
 RETURNS timestamp with time zone
 LANGUAGE sql
 SET search_path TO ''
AS $function$
  update scrapeguard.clock_control
     set offset_by = offset_by + by_interval,
         frozen_at = frozen_at + by_interval,
         updated_at = pg_catalog.clock_timestamp()
   where id;
  select scrapeguard.clock();
$function$;
comment on function scrapeguard.advance_clock(interval) is
  'Moves the shared clock forward (or back) for every connection. Tests and demos only.';
grant execute on function scrapeguard.advance_clock(interval) to service_role;
revoke all on function scrapeguard.advance_clock(interval) from public, anon, authenticated;

CREATE OR REPLACE FUNCTION scrapeguard.freeze_clock(at_time timestamp with time zone)
 RETURNS timestamp with time zone
 LANGUAGE sql
 SET search_path TO ''
AS $function$
  update scrapeguard.clock_control
     set frozen_at = at_time, updated_at = pg_catalog.clock_timestamp()
   where id;
  select scrapeguard.clock();
$function$;
comment on function scrapeguard.freeze_clock(timestamp with time zone) is
  'Stops the shared clock at at_time (null: let it run again, keeping any offset). Tests and demos only.';
grant execute on function scrapeguard.freeze_clock(timestamp with time zone) to service_role;
revoke all on function scrapeguard.freeze_clock(timestamptz) from public, anon, authenticated;

CREATE OR REPLACE FUNCTION scrapeguard.reset_clock()
 RETURNS timestamp with time zone
 LANGUAGE sql
 SET search_path TO ''
AS $function$
  update scrapeguard.clock_control
     set frozen_at = null, offset_by = interval '0', updated_at = pg_catalog.clock_timestamp()
   where id;
  select scrapeguard.clock();
$function$;
comment on function scrapeguard.reset_clock() is
  'Back to the wall clock.';
grant execute on function scrapeguard.reset_clock() to service_role;
revoke all on function scrapeguard.reset_clock() from public, anon, authenticated;
