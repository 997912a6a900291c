--! Previous: sha1:974799e56d5564589e2275a6012441295d870d0b
--! Hash: sha1:e441a36452cb8ed62d22935f8f8ca49520de5eee
--! Message: Breaker quorum and the site's Retry-After

-- A quorum of workers before a breaker opens, and the site's own Retry-After.
--
-- 1. Quorum. The breaker is shared by every worker, so one broken worker (a banned IP,
--    a dead proxy, a crashed browser) that takes a source three times in a row used to
--    open it for the whole fleet. A per-source setting min_failing_workers (default 1:
--    the behaviour so far) makes the breaker open only when the consecutive-failure
--    threshold is reached AND the failures of the current streak came from at least
--    that many distinct workers. record_failure gains `worker` (else the transaction
--    setting scrapeguard.worker; failures without a worker count as one anonymous
--    worker). The streak's distinct workers are kept on the state row itself
--    (streak_workers, at most 16 names), so the failure path stays one UPDATE of one
--    row and a permit or a success on a breaker without failures stays a read.
--    A half-open probe's failure re-opens the breaker whatever the quorum, as before.
-- 2. Retry-After. A failure may carry the site's Retry-After (retry_after). The
--    streak remembers the latest time a site asked to be left alone until
--    (retry_after_until, absolute, because the site's delay counts from its answer);
--    when the breaker opens (threshold or failed probe) it stays open at least until
--    then, capped by max_open_duration. While closed below the threshold (or below the
--    quorum) it opens nothing, but the open that ends the streak honours it; a success
--    that ends the streak forgets it.
-- 3. Visibility. The transition that opens a breaker names the streak's workers and
--    the Retry-After it honoured (circuit_breaker_transitions.workers and
--    retry_after_until, and the same in its notification); public.worker_health shows
--    per worker its share of failed runs across sources next to the other workers'
--    share on the same sources, and the breakers whose current streak names it.
--
-- record_failure and configure_breaker gain trailing arguments (drop and create,
-- positional order of the existing ones unchanged); the other functions keep their
-- signatures. Running this file twice changes nothing.

-- ---------------------------------------------------------------------------------
-- Value rules
-- ---------------------------------------------------------------------------------

-- The rule of a list of two or more worker names: each is null (the anonymous worker)
-- or 1 to 200 characters, and no two are the same. Called by the breaker_workers
-- domain only for lists of two or more names, so the single-worker streak of the
-- failure path never pays for a function call.
create or replace function scrapeguard.breaker_workers_valid(p_workers text[]) returns boolean
  language plpgsql
  immutable
  set search_path = ''
as $$
declare
  n integer := pg_catalog.cardinality(p_workers);
begin
  if p_workers is null then
    return true;
  end if;
  if n > 0 and (pg_catalog.array_ndims(p_workers) <> 1 or pg_catalog.array_lower(p_workers, 1) <> 1) then
    return false;
  end if;
  for i in 1 .. n loop
    if pg_catalog.char_length(p_workers[i]) not between 1 and 200 then
      return false;
    end if;
    for j in i + 1 .. n loop
      if p_workers[i] is not distinct from p_workers[j] then
        return false;
      end if;
    end loop;
  end loop;
  return true;
end
$$;
comment on function scrapeguard.breaker_workers_valid(text[]) is
  'True when every name is null (the anonymous worker) or 1 to 200 characters and no two are the same (the rule of scrapeguard.breaker_workers).';
revoke all on function scrapeguard.breaker_workers_valid(text[]) from public, anon, authenticated;
grant execute on function scrapeguard.breaker_workers_valid(text[]) to service_role;

do $domains$
begin
  if to_regtype('scrapeguard.breaker_quorum') is null then
    create domain scrapeguard.breaker_quorum as integer
      constraint breaker_quorum_check check (value >= 1 and value <= 16);
  end if;
  -- At most 16 names (the largest quorum), one-dimensional from 1. One name is checked
  -- inline; two or more by breaker_workers_valid (distinct names).
  if to_regtype('scrapeguard.breaker_workers') is null then
    create domain scrapeguard.breaker_workers as text[]
      constraint breaker_workers_check check (
        pg_catalog.cardinality(value) <= 16
        and case pg_catalog.cardinality(value)
              when 0 then true
              when 1 then pg_catalog.array_lower(value, 1) = 1 and pg_catalog.array_ndims(value) = 1
                          and coalesce(pg_catalog.char_length(value[1]) between 1 and 200, true)
              else scrapeguard.breaker_workers_valid(value)
            end);
  end if;
end
$domains$;
comment on domain scrapeguard.breaker_quorum is
  'A quorum of distinct failing workers: 1 to 16.';
comment on domain scrapeguard.breaker_workers is
  'Distinct worker names, at most 16 (the largest quorum); null stands for failures reported without a worker.';

-- ---------------------------------------------------------------------------------
-- The state row and the transitions
-- ---------------------------------------------------------------------------------

alter table public.circuit_breaker_state
  add column if not exists min_failing_workers scrapeguard.breaker_quorum not null default 1,
  add column if not exists streak_workers scrapeguard.breaker_workers not null default '{}',
  add column if not exists retry_after_until timestamptz;

-- The streak's workers and Retry-After belong to its failures: none without a failure,
-- never more workers than failures.
do $constraints$
begin
  if not exists (select from pg_catalog.pg_constraint c
                  where c.conrelid = 'public.circuit_breaker_state'::regclass
                    and c.conname = 'circuit_breaker_state_streak_check') then
    alter table public.circuit_breaker_state add constraint circuit_breaker_state_streak_check check (
      ((failure_count = 0) = (pg_catalog.cardinality(streak_workers) = 0))
      and pg_catalog.cardinality(streak_workers) <= failure_count
      and (retry_after_until is null or failure_count > 0));
  end if;
end
$constraints$;

comment on column public.circuit_breaker_state.min_failing_workers is
  'Quorum: the breaker opens only when failure_threshold is reached and the streak''s failures came from at least this many distinct workers (1–16, default 1). A failed probe re-opens whatever the quorum.';
comment on column public.circuit_breaker_state.streak_workers is
  'The distinct workers of the current streak of failures (the ones counted in failure_count), in the order they first failed, at most 16; null stands for failures reported without a worker. Emptied with failure_count.';
comment on column public.circuit_breaker_state.retry_after_until is
  'The latest time a failure of the current streak was asked by the site to stay away until (its Retry-After): the next open lasts at least until then, capped by max_open_duration. Forgotten with the streak.';

alter table public.circuit_breaker_transitions
  add column if not exists workers scrapeguard.breaker_workers,
  add column if not exists retry_after_until timestamptz;

do $constraints$
begin
  if not exists (select from pg_catalog.pg_constraint c
                  where c.conrelid = 'public.circuit_breaker_transitions'::regclass
                    and c.conname = 'circuit_breaker_transitions_streak_check') then
    -- Only the transitions that open a breaker name a streak and a Retry-After; a
    -- Retry-After recorded is one that still held when the breaker opened.
    alter table public.circuit_breaker_transitions add constraint circuit_breaker_transitions_streak_check check (
      (workers is null and retry_after_until is null)
      or (reason in ('failure_threshold', 'probe_failed')
          and (workers is null or pg_catalog.cardinality(workers) >= 1)
          and (retry_after_until is null or retry_after_until > at)));
  end if;
end
$constraints$;

comment on column public.circuit_breaker_transitions.workers is
  'For failure_threshold and probe_failed: the distinct workers of the streak that opened the breaker (null stands for failures reported without a worker). Null for other transitions.';
comment on column public.circuit_breaker_transitions.retry_after_until is
  'For failure_threshold and probe_failed: the time the site asked to be left alone until (Retry-After), when it was still ahead; open_until is at least this, capped by max_open_duration.';

comment on column public.circuit_breaker_transitions.worker is
  'acquire_permit''s worker for probe grants; the failing worker for failure_threshold (record_failure''s worker) and probe_failed (the probe''s); otherwise the transaction setting scrapeguard.worker, if the caller set it.';

-- ---------------------------------------------------------------------------------
-- Transitions name the streak's workers and the Retry-After they honour
-- ---------------------------------------------------------------------------------

create or replace function scrapeguard.breaker_log(
  p_row public.circuit_breaker_state, p_from text, p_reason text, p_probe_id uuid, p_worker text
) returns void
  language plpgsql
  set search_path = ''
as $$
declare
  v_opens boolean := p_reason in ('failure_threshold', 'probe_failed');
  v_workers text[];
  v_retry_until timestamptz;
begin
  if v_opens then
    v_workers := p_row.streak_workers;
    -- A Retry-After already past when the breaker opened held nothing: not recorded.
    if p_row.retry_after_until > p_row.updated_at then
      v_retry_until := p_row.retry_after_until;
    end if;
  end if;
  insert into public.circuit_breaker_transitions
    (source_id, from_state, to_state, reason, failure_count, opened_count, open_until, probe_id, worker,
     workers, retry_after_until, version, at)
  values
    (p_row.source_id, p_from, p_row.state, p_reason, p_row.failure_count, p_row.opened_count, p_row.open_until,
     p_probe_id, p_worker, v_workers, v_retry_until, p_row.version, p_row.updated_at);
  -- Small payload (pg_notify takes at most 8000 bytes): worker names cut to 50
  -- characters, so 16 of them stay under 5000 bytes even when every character is
  -- escaped; readers fetch the row for the full names.
  perform pg_catalog.pg_notify('scrapeguard_breaker', pg_catalog.json_build_object(
    'source_id', p_row.source_id, 'from', p_from, 'to', p_row.state, 'reason', p_reason,
    'open_until', p_row.open_until, 'probe_id', p_probe_id,
    'workers', (select pg_catalog.array_agg(pg_catalog.left(w.name, 50) order by w.ord)
                  from pg_catalog.unnest(v_workers) with ordinality as w(name, ord)),
    'retry_after_until', v_retry_until,
    'version', p_row.version, 'at', p_row.updated_at)::text);
end
$$;
comment on function scrapeguard.breaker_log(public.circuit_breaker_state, text, text, uuid, text) is
  'Records a breaker transition: a circuit_breaker_transitions row and a notification on channel scrapeguard_breaker. Opening transitions name the streak''s workers and the Retry-After they honoured.';

-- ---------------------------------------------------------------------------------
-- record_failure: worker and retry_after
-- ---------------------------------------------------------------------------------

drop function if exists public.record_failure(uuid, text, uuid);
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

-- ---------------------------------------------------------------------------------
-- A success, an operator's auto and a reset end the streak: its workers and Retry-After go with it
-- ---------------------------------------------------------------------------------

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
         streak_workers = case when p_mode = 'auto' then '{}' else s.streak_workers end,
         retry_after_until = case when p_mode = 'auto' then null else s.retry_after_until end,
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
         streak_workers = '{}', retry_after_until = null,
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

-- ---------------------------------------------------------------------------------
-- configure_breaker: min_failing_workers
-- ---------------------------------------------------------------------------------

drop function if exists public.configure_breaker(uuid, integer, interval, numeric, interval, numeric, interval);
create or replace function public.configure_breaker(
  source_id uuid, failure_threshold integer default null, open_duration interval default null,
  backoff_multiplier numeric default null, max_open_duration interval default null, jitter numeric default null,
  probe_lease interval default null, min_failing_workers integer default null
) returns public.circuit_breaker_state
  language plpgsql
  set search_path = ''
as $$
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
  v_quorum integer;
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
  -- At most 16: the state row keeps up to 16 distinct workers of a streak.
  if $8 is not null and ($8 < 1 or $8 > 16) then
    raise exception 'scrapeguard: min_failing_workers must be between 1 and 16 (got %)', $8 using errcode = '22023';
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
  v_quorum := coalesce($8, cur.min_failing_workers);
  if v_max < v_open then
    raise exception 'scrapeguard: max_open_duration (%) must not be shorter than open_duration (%)', v_max, v_open
      using errcode = '22023';
  end if;
  if (v_threshold, v_open, v_multiplier, v_max, v_jitter, v_lease, v_quorum)
     is not distinct from
     (cur.failure_threshold, cur.open_duration, cur.backoff_multiplier, cur.max_open_duration, cur.jitter, cur.probe_lease,
      cur.min_failing_workers)
  then
    return cur;
  end if;
  -- A new quorum or threshold applies from the next failure: changing settings never
  -- opens or closes a breaker by itself.
  v_now := scrapeguard.clock();
  update public.circuit_breaker_state s
     set failure_threshold = v_threshold, open_duration = v_open, backoff_multiplier = v_multiplier,
         max_open_duration = v_max, jitter = v_jitter, probe_lease = v_lease, min_failing_workers = v_quorum,
         updated_at = v_now, version = s.version + 1
   where s.source_id = p_source_id
  returning s.* into r;
  return r;
end
$$;
comment on function public.configure_breaker(uuid, integer, interval, numeric, interval, numeric, interval, integer) is
  'Per-source breaker settings (null keeps the current value); 22023 for an out-of-range value. min_failing_workers: distinct workers whose failures the streak needs before the breaker opens (1–16).';
revoke all on function public.configure_breaker(uuid, integer, interval, numeric, interval, numeric, interval, integer) from public, anon, authenticated;
grant execute on function public.configure_breaker(uuid, integer, interval, numeric, interval, numeric, interval, integer) to service_role;

-- ---------------------------------------------------------------------------------
-- worker_health: which worker fails everywhere
-- ---------------------------------------------------------------------------------

-- Per worker, over the runs started in the window: its share of failed runs, the
-- sources it failed on, and the other workers' share of failed runs on the same
-- sources (a worker failing at 100% where the others fail at 5% is the worker, not
-- the sites). Runs are the record of every attempt with its outcome; the breaker's
-- success path writes nothing, so it cannot count successes per worker. streak_sources
-- is read from the breakers as they are now. SECURITY INVOKER: the tables' RLS lets
-- admins and the service role read, other signed-in users see no row.
create or replace function public.worker_health(recent interval default interval '24 hours', as_of timestamptz default null)
  returns table (
    worker text, runs integer, failed_runs integer, failure_share numeric, sources integer, failing_sources integer,
    others_runs integer, others_failure_share numeric, streak_sources integer, last_failure_at timestamptz)
  language plpgsql
  set search_path = ''
as $$
declare
  v_now timestamptz;
begin
  if $1 is null then
    raise exception 'worker_health: recent must not be null' using errcode = '22004';
  end if;
  if $1 <= interval '0' then
    raise exception 'worker_health: recent must be positive (got %)', $1 using errcode = '22023';
  end if;
  v_now := coalesce($2, scrapeguard.clock());

  return query
  with per_source as (
    -- An empty name is no name, as for the breaker.
    select nullif(r.worker, '') as name, r.source_id,
           count(*) as finished,
           count(*) filter (where r.status = 'failed') as failed,
           max(r.finished_at) filter (where r.status = 'failed') as last_failed
      from public.scraping_runs r
     where r.started_at > v_now - $1 and r.started_at <= v_now
       and r.status in ('succeeded', 'partial', 'failed')
     group by 1, 2
  ), source_totals as (
    select p.source_id, sum(p.finished) as finished, sum(p.failed) as failed
      from per_source p
     group by p.source_id
  ), from_runs as (
    select p.name,
           sum(p.finished) as finished, sum(p.failed) as failed,
           count(*) as sources, count(*) filter (where p.failed > 0) as failing,
           sum(t.finished - p.finished) as others_finished, sum(t.failed - p.failed) as others_failed,
           max(p.last_failed) as last_failed, 0::bigint as streaks
      from per_source p
      join source_totals t on t.source_id = p.source_id
     group by p.name
  ), from_breakers as (
    select w.name, 0::numeric, 0::numeric, 0::bigint, 0::bigint, 0::numeric, 0::numeric, null::timestamptz,
           count(*) as streaks
      from public.circuit_breaker_state s
     cross join lateral pg_catalog.unnest(s.streak_workers) as w(name)
     group by w.name
  ), combined as (
    select * from from_runs
    union all
    select * from from_breakers
  )
  select c.name,
         sum(c.finished)::integer,
         sum(c.failed)::integer,
         round(100.0 * sum(c.failed) / nullif(sum(c.finished), 0), 2),
         sum(c.sources)::integer,
         sum(c.failing)::integer,
         sum(c.others_finished)::integer,
         round(100.0 * sum(c.others_failed) / nullif(sum(c.others_finished), 0), 2),
         sum(c.streaks)::integer,
         max(c.last_failed)
    from combined c
   group by c.name
   order by round(100.0 * sum(c.failed) / nullif(sum(c.finished), 0), 2) desc nulls last,
            sum(c.streaks) desc, c.name nulls last;
end
$$;
comment on function public.worker_health(interval, timestamptz) is
  'Per worker over the runs started in the recent window: finished runs, failed runs and their share (percent), sources run and failed on, the other workers'' runs and failure share on the same sources, the breakers whose current streak names the worker, the last failed run. Null worker: runs and failures without a name. SECURITY INVOKER (RLS: admins and the service role).';
revoke all on function public.worker_health(interval, timestamptz) from public, anon, authenticated;
grant execute on function public.worker_health(interval, timestamptz) to authenticated, service_role;
