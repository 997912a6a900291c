--! Previous: sha1:7c1ab211cece98b70b797118060ed5cbc55d2d20
--! Hash: sha1:6b9b8c01e9b6e027703cc255980941f9ef09f297
--! Message: Worker names, log offsets and finished runs

-- Input rules the SDK relies on.
--
-- * acquire_permit's worker gets start_run's rule: at most 200 characters (22023).
--   It used to take any length and copy it into the state row (probe_worker) and into
--   the transitions row of every probe grant. record_success and record_failure take
--   no worker argument (they read the transaction setting scrapeguard.worker).
-- * append_logs names the entry whose "at" has a UTC offset out of range (+16:00,
--   +14:60) with 22023, like every other bad entry, instead of letting the cast's
--   bare 22009 through.
-- * set_change_context refuses a run that is no longer running with SG003 (the
--   SQLSTATE finish_run uses for a finished run): changes made after a run finished
--   were silently attributed to it.
--
-- Signatures, grants and comments' places are unchanged; every statement is
-- CREATE OR REPLACE, so running this file twice changes nothing.

create or replace function public.acquire_permit(source_id uuid, worker text default null)
  returns table (allowed boolean, state text, probe_id uuid, retry_at timestamptz)
  language plpgsql
  volatile
  set search_path = ''
as $$
declare
  p_source_id alias for $1;
  p_worker alias for $2;
  cur record;
  upd public.circuit_breaker_state;
  v_now timestamptz;
  v_probe uuid;
begin
  if p_source_id is null then
    raise exception 'scrapeguard: source_id must not be null' using errcode = '22004';
  end if;
  -- The worker rule of every RPC that takes one (start_run has the same): at most 200
  -- characters. It is stored in the state row and in transitions rows, so an unbounded
  -- name would be copied into both on every probe grant.
  if pg_catalog.char_length(p_worker) > 200 then
    raise exception 'acquire_permit: worker must be at most 200 characters (got %)', pg_catalog.char_length(p_worker)
      using errcode = '22023';
  end if;
  loop
    select s.state, s.open_until, s.probe_lease_until into cur
      from public.circuit_breaker_state s
     where s.source_id = p_source_id;
    if not found then
      perform scrapeguard.breaker_ensure(p_source_id);
      continue;
    end if;

    -- The hot path: no clock, no lock, no write.
    if cur.state = 'closed' or cur.state = 'disabled' then
      allowed := true; state := cur.state; probe_id := null; retry_at := null;
      return next;
      return;
    elsif cur.state = 'forced_open' then
      allowed := false; state := cur.state; probe_id := null; retry_at := null;
      return next;
      return;
    end if;

    v_now := coalesce(v_now, scrapeguard.clock());
    if cur.state = 'open' and v_now < cur.open_until then
      allowed := false; state := cur.state; probe_id := null; retry_at := cur.open_until;
      return next;
      return;
    elsif cur.state = 'half_open' and v_now < cur.probe_lease_until then
      allowed := false; state := cur.state; probe_id := null; retry_at := cur.probe_lease_until;
      return next;
      return;
    end if;

    -- Due for a probe. Only one caller's UPDATE can match: the others wait for its
    -- row lock, re-check the WHERE on the new version, match nothing and re-read.
    v_probe := pg_catalog.gen_random_uuid();
    if cur.state = 'open' then
      update public.circuit_breaker_state s
         set state = 'half_open', open_until = null,
             probe_id = v_probe, probe_lease_until = v_now + s.probe_lease, probe_worker = p_worker,
             state_changed_at = v_now, updated_at = v_now, version = s.version + 1
       where s.source_id = p_source_id and s.state = 'open' and s.open_until <= v_now
      returning s.* into upd;
      if found then
        perform scrapeguard.breaker_log(upd, 'open', 'open_expired', v_probe, p_worker);
      end if;
    else
      update public.circuit_breaker_state s
         set probe_id = v_probe, probe_lease_until = v_now + s.probe_lease, probe_worker = p_worker,
             updated_at = v_now, version = s.version + 1
       where s.source_id = p_source_id and s.state = 'half_open' and s.probe_lease_until <= v_now
      returning s.* into upd;
      if found then
        perform scrapeguard.breaker_log(upd, 'half_open', 'probe_lease_expired', v_probe, p_worker);
      end if;
    end if;
    if found then
      allowed := true; state := 'half_open'; probe_id := v_probe; retry_at := null;
      return next;
      return;
    end if;
    -- Another caller changed the breaker first: decide again on what it is now.
  end loop;
end
$$;
comment on function public.acquire_permit(uuid, text) is
  'Ask the source''s breaker before a scrape: (allowed, state, probe_id, retry_at). A granted probe_id must be passed to record_success/record_failure. 22023 for a worker over 200 characters.';

create or replace function public.append_logs(run_id uuid, entries jsonb) returns integer
  language plpgsql
  set search_path = ''
as $$
declare
  bad record;
  n integer;
  default_at timestamptz := scrapeguard.clock();
begin
  if append_logs.run_id is null or append_logs.entries is null then
    raise exception 'append_logs: run_id and entries must not be null' using errcode = '22004';
  end if;
  if pg_catalog.jsonb_typeof(append_logs.entries) <> 'array' then
    raise exception 'append_logs: entries must be a JSON array' using errcode = '22023';
  end if;
  if pg_catalog.jsonb_array_length(append_logs.entries) > 10000 then
    raise exception 'append_logs: at most 10000 entries per call (got %)',
      pg_catalog.jsonb_array_length(append_logs.entries) using errcode = '22023';
  end if;
  if not exists (select from public.scraping_runs r where r.id = append_logs.run_id) then
    raise exception 'append_logs: unknown run %', append_logs.run_id using errcode = 'SG002';
  end if;

  select e.ord - 1 as idx, v.reason into bad
    from pg_catalog.jsonb_array_elements(append_logs.entries) with ordinality as e (entry, ord)
    cross join lateral (
      select case
        when pg_catalog.jsonb_typeof(e.entry) <> 'object' then 'is not a JSON object'
        when e.entry - '{level,message,metadata,at}'::text[] <> '{}'::jsonb then
          'has unknown keys (allowed: level, message, metadata, at)'
        when (e.entry ->> 'level') is null
          or (e.entry ->> 'level') not in ('debug', 'info', 'warn', 'error') then
          'has no valid level (debug, info, warn or error)'
        when pg_catalog.jsonb_typeof(e.entry -> 'message') is distinct from 'string' then
          'has no message string'
        when pg_catalog.char_length(e.entry ->> 'message') > 16384 then
          'has a message over 16384 characters'
        when pg_catalog.jsonb_typeof(e.entry -> 'metadata') not in ('object', 'null') then
          'has metadata that is not a JSON object'
        when pg_catalog.octet_length((e.entry -> 'metadata')::text) > 8192 then
          'has metadata over 8192 bytes'
        when pg_catalog.jsonb_typeof(e.entry -> 'at') not in ('string', 'null') then
          'has an "at" that is not a string'
        when (e.entry ->> 'at') !~ '^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?([Zz]|[+-]\d{2}(:?\d{2})?)$' then
          'has an "at" that is not an ISO-8601 timestamp with a UTC offset'
      end as reason
    ) v
   where v.reason is not null
   order by e.ord
   limit 1;
  if found then
    raise exception 'append_logs: entry % %', bad.idx, bad.reason using errcode = '22023';
  end if;

  begin
    insert into public.scraping_logs (run_id, level, message, metadata, logged_at)
    select append_logs.run_id,
           e.entry ->> 'level',
           e.entry ->> 'message',
           coalesce(nullif(e.entry -> 'metadata', 'null'::jsonb), '{}'::jsonb),
           coalesce((e.entry ->> 'at')::timestamptz, default_at)
      from pg_catalog.jsonb_array_elements(append_logs.entries) with ordinality as e (entry, ord)
     order by e.ord;
    get diagnostics n = row_count;
  exception
    when invalid_datetime_format or datetime_field_overflow or invalid_time_zone_displacement_value then
      -- The shape passed the check above but a field is out of range (month 13, a UTC
      -- offset of +16:00 or +14:60…): find which entry, only on this error path.
      select e.ord - 1 into n
        from pg_catalog.jsonb_array_elements(append_logs.entries) with ordinality as e (entry, ord)
       where not scrapeguard.is_timestamptz(e.entry ->> 'at')
       order by e.ord
       limit 1;
      raise exception 'append_logs: entry % has an "at" that is not a valid timestamp', coalesce(n, -1)
        using errcode = '22023', detail = sqlerrm;
  end;
  return n;
end
$$;
comment on function public.append_logs(uuid, jsonb) is
  'Appends up to 10000 log lines [{level, message, metadata?, at?}] to a run in one INSERT, after validating the whole batch; returns the number of rows.';

create or replace function public.set_change_context(run_id uuid, actor text default null) returns void
  language plpgsql
  volatile
  set search_path = ''
as $$
declare
  v_status text;
begin
  if set_change_context.actor is not null
     and (set_change_context.actor = '' or pg_catalog.length(set_change_context.actor) > 200) then
    raise exception 'set_change_context: actor must be 1 to 200 characters (or null)'
      using errcode = '22023';
  end if;
  if set_change_context.run_id is not null then
    select r.status into v_status from public.scraping_runs r where r.id = set_change_context.run_id;
    if not found then
      raise exception 'set_change_context: unknown run %', set_change_context.run_id
        using errcode = 'SG002',
              hint = 'Pass the id returned by start_run(), or null for changes outside a run.';
    end if;
    -- A finished run's counts and outcome are final: changes made after it would be
    -- attributed to a run that no longer describes them.
    if v_status <> 'running' then
      raise exception 'set_change_context: run % is already finished (status %)', set_change_context.run_id, v_status
        using errcode = 'SG003',
              hint = 'Attribute changes to a run while it is running (before finish_run), or to null.';
    end if;
  end if;
  -- is_local = true: the values end with the transaction, so a pooled connection
  -- (Supavisor in transaction mode) never carries them into someone else's work.
  -- (A SET clause on this function restores only search_path on exit; these stay.)
  perform pg_catalog.set_config('scrapeguard.run_id', coalesce(set_change_context.run_id::text, ''), true);
  perform pg_catalog.set_config('scrapeguard.actor', coalesce(set_change_context.actor, ''), true);
end
$$;
comment on function public.set_change_context(uuid, text) is
  'Attributes the event changes of the current transaction to a scraping run and/or an actor (transaction-local settings scrapeguard.run_id / scrapeguard.actor). Nulls clear them. SG002 for a run that does not exist, SG003 for one that is no longer running.';
