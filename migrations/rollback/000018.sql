-- Down script of the migration in migrations/current.sql: record_failure and record_success
-- as they were (schema/ before this migration: the row spread into a row variable, the
-- clock called, the argument rules tested one by one).

create or replace function public.record_failure(
  source_id uuid, error text default null, probe_id uuid default null,
  worker text default null, retry_after interval default null
) returns public.circuit_breaker_state
  language plpgsql
  set search_path = ''
as $$
declare
  p_source_id alias for $1;
  p_error alias for $2;
  p_probe_id alias for $3;
  p_worker alias for $4;
  p_retry_after alias for $5;
  r public.circuit_breaker_state;
  v_now timestamptz;
  v_error text := pg_catalog.left(p_error, 2000);
  v_worker text;
  v_hold timestamptz;
  v_probe_worker text;
begin
  if p_source_id is null then
    raise exception 'scrapeguard: source_id must not be null' using errcode = '22004';
  end if;
  -- The worker rule of every RPC that takes one (acquire_permit, start_run): at most
  -- 200 characters. The name is kept in the state row's streak and in transitions.
  if pg_catalog.char_length(p_worker) > 200 then
    raise exception 'record_failure: worker must be at most 200 characters (got %)', pg_catalog.char_length(p_worker)
      using errcode = '22023';
  end if;
  if p_retry_after < interval '0' or p_retry_after > interval '365 days' then
    raise exception 'record_failure: retry_after must be between 0 and 365 days (got %)', p_retry_after
      using errcode = '22023';
  end if;
  -- No name (null or empty) falls back to the transaction's scrapeguard.worker setting,
  -- else the failure is the anonymous worker's (null in streak_workers).
  v_worker := coalesce(nullif(p_worker, ''),
                       pg_catalog.left(nullif(pg_catalog.current_setting('scrapeguard.worker', true), ''), 200));
  v_now := scrapeguard.clock();
  v_hold := v_now + p_retry_after;
  loop
    -- The common case first, without a read: a closed breaker below its threshold or
    -- below its quorum (or an operator mode, which never trips) counts the failure and
    -- adds its worker to the streak if new (up to 16 names; with 16 the largest quorum
    -- is met). Retry-After is remembered for the open that ends the streak.
    update public.circuit_breaker_state s
       set failure_count = s.failure_count + 1, last_failure_at = v_now, last_error = v_error,
           streak_workers = case
             when pg_catalog.array_position(s.streak_workers, v_worker) is null
                  and pg_catalog.cardinality(s.streak_workers) < 16
             then pg_catalog.array_append(s.streak_workers, v_worker)
             else s.streak_workers end,
           retry_after_until = case when v_hold is null then s.retry_after_until
                                    else greatest(s.retry_after_until, v_hold) end,
           updated_at = v_now, version = s.version + 1
     where s.source_id = p_source_id
       and (s.state in ('disabled', 'forced_open')
            or (s.state = 'closed'
                and (s.failure_count + 1 < s.failure_threshold
                     or pg_catalog.cardinality(s.streak_workers)
                        + (pg_catalog.array_position(s.streak_workers, v_worker) is null)::integer
                        < s.min_failing_workers)))
    returning s.* into r;
    if found then
      return r;
    end if;

    -- The failure that reaches the threshold with the quorum opens the breaker, for at
    -- least as long as the site asked (capped). Concurrent callers wait for the row lock
    -- and re-check the WHERE, so exactly one of them trips it.
    update public.circuit_breaker_state s
       set state = 'open', failure_count = s.failure_count + 1, opened_count = 1,
           streak_workers = case
             when pg_catalog.array_position(s.streak_workers, v_worker) is null
                  and pg_catalog.cardinality(s.streak_workers) < 16
             then pg_catalog.array_append(s.streak_workers, v_worker)
             else s.streak_workers end,
           retry_after_until = greatest(s.retry_after_until, v_hold),
           open_until = greatest(
             scrapeguard.breaker_open_until(v_now, s.open_duration, s.backoff_multiplier,
                                            s.max_open_duration, s.jitter, 1),
             case when coalesce(s.retry_after_until, v_hold) is not null
                  then least(greatest(s.retry_after_until, v_hold), v_now + s.max_open_duration)
             end),
           last_failure_at = v_now, last_error = v_error,
           state_changed_at = v_now, updated_at = v_now, version = s.version + 1
     where s.source_id = p_source_id and s.state = 'closed' and s.failure_count + 1 >= s.failure_threshold
       and pg_catalog.cardinality(s.streak_workers)
           + (pg_catalog.array_position(s.streak_workers, v_worker) is null)::integer >= s.min_failing_workers
    returning s.* into r;
    if found then
      perform scrapeguard.breaker_log(r, 'closed', 'failure_threshold', null, v_worker);
      return r;
    end if;

    if p_probe_id is not null then
      select s.probe_worker into v_probe_worker
        from public.circuit_breaker_state s
       where s.source_id = p_source_id and s.probe_id = p_probe_id;
      -- The probe's failure re-opens whatever the quorum: the one worker let through
      -- found the site still failing. Its worker joins the streak.
      update public.circuit_breaker_state s
         set state = 'open',
             failure_count = s.failure_count + 1,
             opened_count = s.opened_count + 1,
             streak_workers = case
               when pg_catalog.array_position(s.streak_workers, coalesce(v_worker, v_probe_worker)) is null
                    and pg_catalog.cardinality(s.streak_workers) < 16
               then pg_catalog.array_append(s.streak_workers, coalesce(v_worker, v_probe_worker))
               else s.streak_workers end,
             retry_after_until = greatest(s.retry_after_until, v_hold),
             open_until = greatest(
               scrapeguard.breaker_open_until(v_now, s.open_duration, s.backoff_multiplier,
                                              s.max_open_duration, s.jitter, s.opened_count + 1),
               case when coalesce(s.retry_after_until, v_hold) is not null
                    then least(greatest(s.retry_after_until, v_hold), v_now + s.max_open_duration)
               end),
             probe_id = null, probe_lease_until = null, probe_worker = null,
             last_failure_at = v_now, last_error = v_error,
             state_changed_at = v_now, updated_at = v_now, version = s.version + 1
       where s.source_id = p_source_id and s.state = 'half_open' and s.probe_id = p_probe_id
      returning s.* into r;
      if found then
        perform scrapeguard.breaker_log(r, 'half_open', 'probe_failed', p_probe_id, coalesce(v_probe_worker, v_worker));
        return r;
      end if;
    end if;

    -- A late result of an old call while open/half-open: counted (its worker and
    -- Retry-After join the streak, for the next open), no transition.
    update public.circuit_breaker_state s
       set failure_count = s.failure_count + 1, last_failure_at = v_now, last_error = v_error,
           streak_workers = case
             when pg_catalog.array_position(s.streak_workers, v_worker) is null
                  and pg_catalog.cardinality(s.streak_workers) < 16
             then pg_catalog.array_append(s.streak_workers, v_worker)
             else s.streak_workers end,
           retry_after_until = case when v_hold is null then s.retry_after_until
                                    else greatest(s.retry_after_until, v_hold) end,
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
$$;
comment on function public.record_failure(uuid, text, uuid, text, interval) is
  'Report a failed scrape (error text optional; pass the probe_id if acquire_permit granted one; worker: who failed, counted toward min_failing_workers; retry_after: the site''s Retry-After, honoured by the open it leads to). Returns the breaker row. 22023 for a worker over 200 characters or a retry_after outside 0–365 days.';
revoke all on function public.record_failure(uuid, text, uuid, text, interval) from public, anon, authenticated;
grant execute on function public.record_failure(uuid, text, uuid, text, interval) to service_role;

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
         set failure_count = 0, streak_workers = '{}', retry_after_until = null,
             last_success_at = v_now, updated_at = v_now, version = s.version + 1
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
         set state = 'closed', failure_count = 0, opened_count = 0, streak_workers = '{}', retry_after_until = null,
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
