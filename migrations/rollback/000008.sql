-- Down script: no quorum, no Retry-After, no worker_health. The functions come back
-- exactly as they were before (their definitions in schema/ before this migration).
-- Supabase's default privileges give new functions to anon and authenticated, hence
-- the revokes after re-creating a dropped function.

drop function if exists public.worker_health(interval, timestamptz);
drop function if exists public.record_failure(uuid, text, uuid, text, interval);
drop function if exists public.configure_breaker(uuid, integer, interval, numeric, interval, numeric, interval, integer);


CREATE OR REPLACE FUNCTION public.record_failure(source_id uuid, error text DEFAULT NULL::text, probe_id uuid DEFAULT NULL::uuid)
 RETURNS public.circuit_breaker_state
 LANGUAGE plpgsql
 SET search_path TO ''
AS $function$
declare
  p_source_id alias for $1;
  p_error alias for $2;
  p_probe_id alias for $3;
  r public.circuit_breaker_state;
  v_now timestamptz;
  v_error text := pg_catalog.left(p_error, 2000);
  v_probe_worker text;
begin
  if p_source_id is null then
    raise exception 'scrapeguard: source_id must not be null' using errcode = '22004';
  end if;
  v_now := scrapeguard.clock();
  loop
    -- The common case first, without a read: a closed breaker below its threshold
    -- (or an operator mode, which never trips) counts the failure. Only the columns
    -- that change are set, so this UPDATE is as cheap as it can be.
    update public.circuit_breaker_state s
       set failure_count = s.failure_count + 1, last_failure_at = v_now, last_error = v_error,
           updated_at = v_now, version = s.version + 1
     where s.source_id = p_source_id
       and (s.state in ('disabled', 'forced_open')
            or (s.state = 'closed' and s.failure_count + 1 < s.failure_threshold))
    returning s.* into r;
    if found then
      return r;
    end if;

    -- The failure that reaches the threshold opens the breaker. Concurrent callers
    -- wait for the row lock and re-check the WHERE, so exactly one of them trips it.
    update public.circuit_breaker_state s
       set state = 'open', failure_count = s.failure_count + 1, opened_count = 1,
           open_until = scrapeguard.breaker_open_until(v_now, s.open_duration, s.backoff_multiplier,
                                                       s.max_open_duration, s.jitter, 1),
           last_failure_at = v_now, last_error = v_error,
           state_changed_at = v_now, updated_at = v_now, version = s.version + 1
     where s.source_id = p_source_id and s.state = 'closed' and s.failure_count + 1 >= s.failure_threshold
    returning s.* into r;
    if found then
      perform scrapeguard.breaker_log(r, 'closed', 'failure_threshold', null, scrapeguard.breaker_worker());
      return r;
    end if;

    if p_probe_id is not null then
      select s.probe_worker into v_probe_worker
        from public.circuit_breaker_state s
       where s.source_id = p_source_id and s.probe_id = p_probe_id;
      update public.circuit_breaker_state s
         set state = 'open',
             failure_count = s.failure_count + 1,
             opened_count = s.opened_count + 1,
             open_until = scrapeguard.breaker_open_until(v_now, s.open_duration, s.backoff_multiplier,
                                                         s.max_open_duration, s.jitter, s.opened_count + 1),
             probe_id = null, probe_lease_until = null, probe_worker = null,
             last_failure_at = v_now, last_error = v_error,
             state_changed_at = v_now, updated_at = v_now, version = s.version + 1
       where s.source_id = p_source_id and s.state = 'half_open' and s.probe_id = p_probe_id
      returning s.* into r;
      if found then
        perform scrapeguard.breaker_log(r, 'half_open', 'probe_failed', p_probe_id,
                                        coalesce(v_probe_worker, scrapeguard.breaker_worker()));
        return r;
      end if;
    end if;

    -- A late result of an old call while open/half-open: counted, no transition.
    update public.circuit_breaker_state s
       set failure_count = s.failure_count + 1, last_failure_at = v_now, last_error = v_error,
           updated_at = v_now, version = s.version + 1
     where s.source_id = p_source_id
       and (s.state = 'open' or (s.state = 'half_open' and s.probe_id is distinct from p_probe_id))
    returning s.* into r;
    if found then
      return r;
    end if;

    -- No row yet (create it), or the state changed under us (try again).
    if not exists (select from public.circuit_breaker_state s where s.source_id = p_source_id) then
      perform scrapeguard.breaker_ensure(p_source_id);
    end if;
  end loop;
end
$function$;
comment on function public.record_failure(uuid,text,uuid) is
  'Report a failed scrape (error text optional; pass the probe_id if acquire_permit granted one). Returns the breaker row.';
grant execute on function public.record_failure(uuid,text,uuid) to service_role;


CREATE OR REPLACE FUNCTION public.configure_breaker(source_id uuid, failure_threshold integer DEFAULT NULL::integer, open_duration interval DEFAULT NULL::interval, backoff_multiplier numeric DEFAULT NULL::numeric, max_open_duration interval DEFAULT NULL::interval, jitter numeric DEFAULT NULL::numeric, probe_lease interval DEFAULT NULL::interval)
 RETURNS public.circuit_breaker_state
 LANGUAGE plpgsql
 SET search_path TO ''
AS $function$
declare
  p_source_id alias for $1;
  cur public.circuit_breaker_state;
  r public.circuit_breaker_state;
  v_threshold integer;
  v_open interval;
  v_multiplier numeric;
  v_max interval;
  v_jitter numeric;
  v_lease interval;
  v_now timestamptz;
begin
  if p_source_id is null then
    raise exception 'scrapeguard: source_id must not be null' using errcode = '22004';
  end if;
  if $2 is not null and $2 < 1 then
    raise exception 'scrapeguard: failure_threshold must be at least 1 (got %)', $2 using errcode = '22023';
  end if;
  if $3 is not null and ($3 < interval '1 second' or $3 > interval '365 days') then
    raise exception 'scrapeguard: open_duration must be between 1 second and 365 days (got %)', $3 using errcode = '22023';
  end if;
  if $4 is not null and ($4 < 1 or $4 > 10) then
    raise exception 'scrapeguard: backoff_multiplier must be between 1 and 10 (got %)', $4 using errcode = '22023';
  end if;
  if $5 is not null and ($5 < interval '1 second' or $5 > interval '365 days') then
    raise exception 'scrapeguard: max_open_duration must be between 1 second and 365 days (got %)', $5 using errcode = '22023';
  end if;
  if $6 is not null and ($6 < 0 or $6 > 0.5) then
    raise exception 'scrapeguard: jitter must be between 0 and 0.5 (got %)', $6 using errcode = '22023';
  end if;
  if $7 is not null and ($7 < interval '1 second' or $7 > interval '1 day') then
    raise exception 'scrapeguard: probe_lease must be between 1 second and 1 day (got %)', $7 using errcode = '22023';
  end if;
  loop
    select s.* into cur from public.circuit_breaker_state s where s.source_id = p_source_id for update;
    exit when found;
    perform scrapeguard.breaker_ensure(p_source_id);
  end loop;
  v_threshold := coalesce($2, cur.failure_threshold);
  v_open := coalesce($3, cur.open_duration);
  v_multiplier := coalesce($4, cur.backoff_multiplier);
  v_max := coalesce($5, cur.max_open_duration);
  v_jitter := coalesce($6, cur.jitter);
  v_lease := coalesce($7, cur.probe_lease);
  if v_max < v_open then
    raise exception 'scrapeguard: max_open_duration (%) must not be shorter than open_duration (%)', v_max, v_open
      using errcode = '22023';
  end if;
  if (v_threshold, v_open, v_multiplier, v_max, v_jitter, v_lease)
     is not distinct from
     (cur.failure_threshold, cur.open_duration, cur.backoff_multiplier, cur.max_open_duration, cur.jitter, cur.probe_lease)
  then
    return cur;
  end if;
  v_now := scrapeguard.clock();
  update public.circuit_breaker_state s
     set failure_threshold = v_threshold, open_duration = v_open, backoff_multiplier = v_multiplier,
         max_open_duration = v_max, jitter = v_jitter, probe_lease = v_lease,
         updated_at = v_now, version = s.version + 1
   where s.source_id = p_source_id
  returning s.* into r;
  return r;
end
$function$;
comment on function public.configure_breaker(uuid,integer,interval,numeric,interval,numeric,interval) is
  'Per-source breaker settings (null keeps the current value); 22023 for an out-of-range value.';
grant execute on function public.configure_breaker(uuid,integer,interval,numeric,interval,numeric,interval) to service_role;

revoke all on function public.record_failure(uuid, text, uuid) from public, anon, authenticated;
revoke all on function public.configure_breaker(uuid, integer, interval, numeric, interval, numeric, interval) from public, anon, authenticated;


CREATE OR REPLACE FUNCTION public.record_success(source_id uuid, probe_id uuid DEFAULT NULL::uuid)
 RETURNS public.circuit_breaker_state
 LANGUAGE plpgsql
 SET search_path TO ''
AS $function$
declare
  p_source_id alias for $1;
  p_probe_id alias for $2;
  r public.circuit_breaker_state;
  v_now timestamptz;
  v_probe_worker text;
begin
  if p_source_id is null then
    raise exception 'scrapeguard: source_id must not be null' using errcode = '22004';
  end if;
  loop
    select s.* into r from public.circuit_breaker_state s where s.source_id = p_source_id;
    if not found then
      perform scrapeguard.breaker_ensure(p_source_id);
      continue;
    end if;
    -- The hot path: nothing to change, so nothing is written and nothing locked.
    if r.failure_count = 0 and r.state in ('closed', 'disabled', 'forced_open') then
      return r;
    end if;

    v_now := coalesce(v_now, scrapeguard.clock());
    if r.state in ('closed', 'disabled', 'forced_open') then
      update public.circuit_breaker_state s
         set failure_count = 0, last_success_at = v_now, updated_at = v_now, version = s.version + 1
       where s.source_id = p_source_id and s.state in ('closed', 'disabled', 'forced_open') and s.failure_count > 0
      returning s.* into r;
      if found then
        return r;
      end if;
    elsif r.state = 'half_open' and r.probe_id = p_probe_id then
      -- A probe's worker never changes while its id is current, so the value just
      -- read is the one the UPDATE below replaces if it matches.
      v_probe_worker := r.probe_worker;
      update public.circuit_breaker_state s
         set state = 'closed', failure_count = 0, opened_count = 0,
             probe_id = null, probe_lease_until = null, probe_worker = null,
             last_success_at = v_now, state_changed_at = v_now, updated_at = v_now, version = s.version + 1
       where s.source_id = p_source_id and s.state = 'half_open' and s.probe_id = p_probe_id
      returning s.* into r;
      if found then
        perform scrapeguard.breaker_log(r, 'half_open', 'probe_succeeded', p_probe_id,
                                        coalesce(v_probe_worker, scrapeguard.breaker_worker()));
        return r;
      end if;
    else
      update public.circuit_breaker_state s
         set last_success_at = v_now, updated_at = v_now, version = s.version + 1
       where s.source_id = p_source_id
         and (s.state = 'open' or (s.state = 'half_open' and s.probe_id is distinct from p_probe_id))
      returning s.* into r;
      if found then
        return r;
      end if;
    end if;
    -- The breaker changed between the read and the UPDATE: decide again.
  end loop;
end
$function$;
comment on function public.record_success(uuid,uuid) is
  'Report a successful scrape (pass the probe_id if acquire_permit granted one). Returns the breaker row.';
grant execute on function public.record_success(uuid,uuid) to service_role;


CREATE OR REPLACE FUNCTION public.force_breaker(source_id uuid, mode text, actor text DEFAULT NULL::text)
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
$function$;
comment on function public.force_breaker(uuid,text,text) is
  'Operator mode of a source''s breaker: forced_open (deny all), disabled (permit all, never trip) or auto (back to a fresh closed breaker). actor: who (recorded in the transition).';
grant execute on function public.force_breaker(uuid,text,text) to service_role;


CREATE OR REPLACE FUNCTION public.reset_breaker(source_id uuid, actor text DEFAULT NULL::text)
 RETURNS public.circuit_breaker_state
 LANGUAGE plpgsql
 SET search_path TO ''
AS $function$
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
$function$;
comment on function public.reset_breaker(uuid,text) is
  'Closes a source''s breaker and forgets its failures and back-off (from any state, operator modes included). actor: who (recorded in the transition).';
grant execute on function public.reset_breaker(uuid,text) to service_role;


CREATE OR REPLACE FUNCTION scrapeguard.breaker_log(p_row public.circuit_breaker_state, p_from text, p_reason text, p_probe_id uuid, p_worker text)
 RETURNS void
 LANGUAGE plpgsql
 SET search_path TO ''
AS $function$
begin
  insert into public.circuit_breaker_transitions
    (source_id, from_state, to_state, reason, failure_count, opened_count, open_until, probe_id, worker, version, at)
  values
    (p_row.source_id, p_from, p_row.state, p_reason, p_row.failure_count, p_row.opened_count, p_row.open_until,
     p_probe_id, p_worker, p_row.version, p_row.updated_at);
  -- Small payload (well under pg_notify's 8000-byte limit); readers fetch the row if they need more.
  perform pg_catalog.pg_notify('scrapeguard_breaker', pg_catalog.json_build_object(
    'source_id', p_row.source_id, 'from', p_from, 'to', p_row.state, 'reason', p_reason,
    'open_until', p_row.open_until, 'probe_id', p_probe_id, 'version', p_row.version, 'at', p_row.updated_at)::text);
end
$function$;
comment on function scrapeguard.breaker_log(public.circuit_breaker_state,text,text,uuid,text) is
  'Records a breaker transition: a circuit_breaker_transitions row and a notification on channel scrapeguard_breaker.';
grant execute on function scrapeguard.breaker_log(public.circuit_breaker_state,text,text,uuid,text) to service_role;

alter table public.circuit_breaker_transitions drop constraint if exists circuit_breaker_transitions_streak_check;
alter table public.circuit_breaker_transitions drop column if exists workers, drop column if exists retry_after_until;
comment on column public.circuit_breaker_transitions.worker is
  'acquire_permit''s worker for probe grants; otherwise the transaction setting scrapeguard.worker, if the caller set it.';

alter table public.circuit_breaker_state drop constraint if exists circuit_breaker_state_streak_check;
alter table public.circuit_breaker_state
  drop column if exists min_failing_workers,
  drop column if exists streak_workers,
  drop column if exists retry_after_until;

drop domain if exists scrapeguard.breaker_workers;
drop domain if exists scrapeguard.breaker_quorum;
drop function if exists scrapeguard.breaker_workers_valid(text[]);
