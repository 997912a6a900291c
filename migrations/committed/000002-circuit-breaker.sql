--! Previous: sha1:3d56b1938ebe87f33a231e77fb4570373a0bfbc2
--! Hash: sha1:53a3f70e50a7f3fdf7423c25bc2e2f10a48f1b3c
--! Message: circuit breaker

-- Circuit breaker: one breaker per source, shared by every scraper worker.
--
-- Why in the database: in-process breakers (opossum, cockatiel, resilience4j) keep
-- their state per process, so twenty workers hammer a failing site twenty times and
-- none learns from the others. Here every worker asks public.acquire_permit() before
-- a scrape and reports public.record_success()/record_failure() after it; the state
-- lives in one row per source and every transition is made atomically in that row.
--
-- Concurrency design:
--   * The hot paths write nothing and lock nothing: a permit asked of a closed (or
--     disabled) breaker is one primary-key read; a success on a closed breaker with no
--     failures is one primary-key read.
--   * Every write is a single UPDATE … RETURNING whose WHERE states the precondition
--     of the transition it makes (state, probe id, expiry). Under READ COMMITTED a
--     concurrent writer makes the UPDATE wait for the row lock and re-check the WHERE
--     on the newest row version, so two callers can never both make a transition
--     (exactly one caller trips the breaker, exactly one gets the probe). A caller whose
--     WHERE no longer matches re-reads and retries with the state as it is now.
--   * Operator calls (force_breaker, reset_breaker, configure_breaker) are rare and take
--     the row lock (SELECT … FOR UPDATE) for one short statement sequence instead.
--   * One row, one lock: no call ever locks two breaker rows, so no deadlock is possible.
--   * All times come from scrapeguard.clock(), frozen/advanced by tests.

-- ---------------------------------------------------------------------------------
-- Value rules as domains.
--
-- Why domains rather than table CHECKs for single-column rules: PostgreSQL
-- re-prepares every table CHECK of a table for every UPDATE statement that writes
-- it, whatever columns changed (bench/RESULTS.md has the cost), and the state
-- row is updated on every failure of every scrape. A domain's rule is cached with the
-- type and runs only when a value is assigned to the column, so settings are checked
-- when settings change and not on every failure. Rules spanning columns remain table
-- CHECKs below. Clients see the base types (domains are sent as their base type).
-- ---------------------------------------------------------------------------------
do $domains$
begin
  if to_regtype('scrapeguard.breaker_state') is null then
    create domain scrapeguard.breaker_state as text
      constraint breaker_state_check check (value in ('closed', 'open', 'half_open', 'forced_open', 'disabled'));
  end if;
  if to_regtype('scrapeguard.breaker_count') is null then
    create domain scrapeguard.breaker_count as integer
      constraint breaker_count_check check (value >= 0);
  end if;
  if to_regtype('scrapeguard.breaker_error') is null then
    create domain scrapeguard.breaker_error as text
      constraint breaker_error_check check (char_length(value) <= 2000);
  end if;
  if to_regtype('scrapeguard.breaker_threshold') is null then
    create domain scrapeguard.breaker_threshold as integer
      constraint breaker_threshold_check check (value >= 1);
  end if;
  if to_regtype('scrapeguard.breaker_duration') is null then
    create domain scrapeguard.breaker_duration as interval
      constraint breaker_duration_check check (value >= interval '1 second' and value <= interval '365 days');
  end if;
  if to_regtype('scrapeguard.breaker_multiplier') is null then
    create domain scrapeguard.breaker_multiplier as numeric
      constraint breaker_multiplier_check check (value >= 1 and value <= 10);
  end if;
  if to_regtype('scrapeguard.breaker_jitter') is null then
    create domain scrapeguard.breaker_jitter as numeric
      constraint breaker_jitter_check check (value >= 0 and value <= 0.5);
  end if;
  if to_regtype('scrapeguard.breaker_lease') is null then
    create domain scrapeguard.breaker_lease as interval
      constraint breaker_lease_check check (value >= interval '1 second' and value <= interval '1 day');
  end if;
end
$domains$;
comment on domain scrapeguard.breaker_state is 'A breaker state: closed, open, half_open (automatic) or forced_open, disabled (operator modes).';
comment on domain scrapeguard.breaker_count is 'A non-negative counter.';
comment on domain scrapeguard.breaker_error is 'An error text of at most 2000 characters (the RPCs truncate longer ones).';
comment on domain scrapeguard.breaker_threshold is 'A failure threshold: at least 1.';
comment on domain scrapeguard.breaker_duration is 'An open duration: 1 second to 365 days (bounded so back-off arithmetic cannot overflow).';
comment on domain scrapeguard.breaker_multiplier is 'A back-off multiplier: 1 (no back-off) to 10.';
comment on domain scrapeguard.breaker_jitter is 'A jitter fraction: 0 to 0.5 (open durations vary by ± this fraction).';
comment on domain scrapeguard.breaker_lease is 'A probe lease: 1 second to 1 day.';

-- ---------------------------------------------------------------------------------
-- State: one row per source, updated in place.
-- ---------------------------------------------------------------------------------
create table if not exists public.circuit_breaker_state (
  -- The primary key is the source: "one breaker per source" is the key itself, and
  -- the hot read is a primary-key lookup. Deleting a source deletes its breaker.
  source_id uuid primary key references public.event_sources (id) on delete cascade,
  state scrapeguard.breaker_state not null default 'closed',
  -- Consecutive failures as the breaker counts them: reset by a success it acts on
  -- (closed or operator mode, or the half-open probe's), not by late results.
  failure_count scrapeguard.breaker_count not null default 0,
  -- Back-off level: opens since the breaker last closed (n in base × multiplier^(n−1)).
  opened_count scrapeguard.breaker_count not null default 0,
  open_until timestamptz,
  probe_id uuid,
  probe_lease_until timestamptz,
  probe_worker text,
  last_failure_at timestamptz,
  last_success_at timestamptz,
  last_error scrapeguard.breaker_error,
  -- Settings (per source, with the product spec's defaults).
  failure_threshold scrapeguard.breaker_threshold not null default 3,
  open_duration scrapeguard.breaker_duration not null default interval '1 hour',
  backoff_multiplier scrapeguard.breaker_multiplier not null default 2,
  max_open_duration scrapeguard.breaker_duration not null default interval '24 hours',
  jitter scrapeguard.breaker_jitter not null default 0.1,
  probe_lease scrapeguard.breaker_lease not null default interval '5 minutes',
  -- Incremented by every write: orders the writes of one breaker (realtime
  -- consumers, the concurrency tests) and allows optimistic checks.
  version bigint not null default 0,
  state_changed_at timestamptz not null default scrapeguard.clock(),
  updated_at timestamptz not null default scrapeguard.clock(),

  -- open_until is set exactly while the breaker is open.
  constraint circuit_breaker_state_open_until_check check ((state = 'open') = (open_until is not null)),
  -- A probe (id + lease) is out exactly while half-open; its worker only with it.
  constraint circuit_breaker_state_probe_check check (
    (state = 'half_open') = (probe_id is not null)
    and (probe_id is null) = (probe_lease_until is null)
    and (probe_worker is null or probe_id is not null)),
  -- The back-off level counts opens since the last close: ≥ 1 while open/half-open,
  -- 0 otherwise (closing and operator modes reset it).
  constraint circuit_breaker_state_opened_count_check check ((state in ('open', 'half_open')) = (opened_count >= 1)),
  constraint circuit_breaker_state_max_open_duration_check check (max_open_duration >= open_duration)
)
-- Updated in place many times per second on a busy source and indexed only on its
-- key: leave room on the page so updates stay HOT (no index write, no bloat).
with (fillfactor = 50);

comment on table public.circuit_breaker_state is
  'One circuit breaker per source, shared by every scraper worker. Written only through acquire_permit/record_success/record_failure/force_breaker/reset_breaker/configure_breaker.';
comment on column public.circuit_breaker_state.state is
  'closed | open | half_open (automatic) or forced_open | disabled (operator modes: always deny / always permit, never trip).';
comment on column public.circuit_breaker_state.failure_count is
  'Consecutive failures: +1 per failure (late ones too), reset to 0 by a success the breaker acts on (closed/operator mode, or the probe''s).';
comment on column public.circuit_breaker_state.opened_count is
  'Back-off level: opens since the breaker last closed. Open n lasts min(open_duration × backoff_multiplier^(n−1), max_open_duration) ± jitter.';
comment on column public.circuit_breaker_state.open_until is 'Set exactly while open: when the next permit request may become the half-open probe.';
comment on column public.circuit_breaker_state.probe_id is 'Set exactly while half_open: the id of the one probe allowed through; results carrying it close or re-open the breaker.';
comment on column public.circuit_breaker_state.probe_lease_until is 'The probe''s lease: after it, the next permit request gets a new probe (a crashed worker never wedges the breaker).';
comment on column public.circuit_breaker_state.last_success_at is
  'Last success the breaker wrote (one that reset failures, closed it, or arrived late while open). Not a heartbeat: a success on a closed breaker with no failures writes nothing.';
comment on column public.circuit_breaker_state.last_error is 'Error text of the last failure (first 2000 characters; null if none was given).';
comment on column public.circuit_breaker_state.failure_threshold is 'Consecutive failures that open a closed breaker (default 3).';
comment on column public.circuit_breaker_state.open_duration is 'How long the first open lasts (default 1 hour), before back-off and jitter.';
comment on column public.circuit_breaker_state.backoff_multiplier is 'Each re-open without a close in between lasts this many times longer (1–10, default 2).';
comment on column public.circuit_breaker_state.max_open_duration is 'Cap of the backed-off duration, applied before jitter (default 24 hours).';
comment on column public.circuit_breaker_state.jitter is 'Open durations are scaled by a random factor in [1 − jitter, 1 + jitter] (0–0.5, default 0.1) so sources do not re-probe in the same second.';
comment on column public.circuit_breaker_state.probe_lease is 'How long a half-open probe may take before another worker may probe instead (default 5 minutes).';
comment on column public.circuit_breaker_state.version is 'Incremented by every write of the row; orders the writes of one breaker.';

alter table public.circuit_breaker_state enable row level security;
revoke all on table public.circuit_breaker_state from public, anon, authenticated;
grant select on table public.circuit_breaker_state to authenticated;
grant all on table public.circuit_breaker_state to service_role;
drop policy if exists "admins read circuit_breaker_state" on public.circuit_breaker_state;
create policy "admins read circuit_breaker_state" on public.circuit_breaker_state
  for select to authenticated using ((select scrapeguard.is_admin()));

-- ---------------------------------------------------------------------------------
-- Transitions: one row per transition, append-only.
-- ---------------------------------------------------------------------------------
create table if not exists public.circuit_breaker_transitions (
  id bigint generated always as identity primary key,
  source_id uuid not null references public.event_sources (id) on delete cascade,
  from_state scrapeguard.breaker_state not null,
  to_state scrapeguard.breaker_state not null,
  reason text not null,
  failure_count scrapeguard.breaker_count not null,
  opened_count scrapeguard.breaker_count not null,
  open_until timestamptz,
  -- The probe granted (→ half_open) or the probe whose result this is (half_open →).
  probe_id uuid,
  worker text,
  -- circuit_breaker_state.version written by this transition.
  version bigint not null,
  at timestamptz not null default scrapeguard.clock(),

  constraint circuit_breaker_transitions_version_check check (version >= 1),
  constraint circuit_breaker_transitions_open_until_check check ((to_state = 'open') = (open_until is not null)),
  -- Each reason is one edge (or family of edges) of the state diagram.
  constraint circuit_breaker_transitions_reason_check check (
    case reason
      when 'failure_threshold' then from_state = 'closed' and to_state = 'open'
      when 'open_expired' then from_state = 'open' and to_state = 'half_open' and probe_id is not null
      when 'probe_lease_expired' then from_state = 'half_open' and to_state = 'half_open' and probe_id is not null
      when 'probe_succeeded' then from_state = 'half_open' and to_state = 'closed' and probe_id is not null
      when 'probe_failed' then from_state = 'half_open' and to_state = 'open' and probe_id is not null
      when 'forced_open' then from_state <> 'forced_open' and to_state = 'forced_open'
      when 'disabled' then from_state <> 'disabled' and to_state = 'disabled'
      when 'auto' then from_state in ('forced_open', 'disabled') and to_state = 'closed'
      when 'reset' then to_state = 'closed'
      else false
    end)
);

comment on table public.circuit_breaker_transitions is
  'Every circuit-breaker transition (append-only). Each also sends a notification on channel scrapeguard_breaker.';
comment on column public.circuit_breaker_transitions.reason is
  'failure_threshold | open_expired | probe_lease_expired | probe_succeeded | probe_failed | forced_open | disabled | auto | reset.';
comment on column public.circuit_breaker_transitions.worker is
  'acquire_permit''s worker for probe grants; otherwise the transaction setting scrapeguard.worker, if the caller set it.';

create index if not exists circuit_breaker_transitions_source_at_idx
  on public.circuit_breaker_transitions (source_id, at desc);

alter table public.circuit_breaker_transitions enable row level security;
revoke all on table public.circuit_breaker_transitions from public, anon, authenticated;
grant select on table public.circuit_breaker_transitions to authenticated;
grant all on table public.circuit_breaker_transitions to service_role;
revoke all on sequence public.circuit_breaker_transitions_id_seq from public, anon, authenticated;
grant usage, select on sequence public.circuit_breaker_transitions_id_seq to service_role;
drop policy if exists "admins read circuit_breaker_transitions" on public.circuit_breaker_transitions;
create policy "admins read circuit_breaker_transitions" on public.circuit_breaker_transitions
  for select to authenticated using ((select scrapeguard.is_admin()));

-- Admin dashboards follow breakers live through Supabase Realtime (RLS still applies).
do $publication$
begin
  if exists (select from pg_catalog.pg_publication p where p.pubname = 'supabase_realtime' and not p.puballtables)
     and not exists (
       select
         from pg_catalog.pg_publication_rel pr
         join pg_catalog.pg_publication p on p.oid = pr.prpubid
        where p.pubname = 'supabase_realtime'
          and pr.prrelid = 'public.circuit_breaker_state'::pg_catalog.regclass)
  then
    alter publication supabase_realtime add table public.circuit_breaker_state;
  end if;
end
$publication$;

-- ---------------------------------------------------------------------------------
-- Internals
-- ---------------------------------------------------------------------------------

-- Creates the breaker row of a source with the default settings (lazily, on first
-- use). Raises SG001 when the source does not exist: a typo'd id must not create
-- a silent row.
create or replace function scrapeguard.breaker_ensure(p_source_id uuid) returns void
  language plpgsql
  volatile
  set search_path = ''
as $$
begin
  if p_source_id is null then
    raise exception 'scrapeguard: source_id must not be null' using errcode = '22004';
  end if;
  insert into public.circuit_breaker_state (source_id)
  select e.id from public.event_sources e where e.id = p_source_id
  on conflict (source_id) do nothing;
  if not found and not exists (select from public.event_sources e where e.id = p_source_id) then
    raise exception 'scrapeguard: unknown source % (no event_sources row)', p_source_id
      using errcode = 'SG001', hint = 'Breakers exist only for rows of public.event_sources.';
  end if;
exception
  -- The source was deleted between the read and the insert's foreign-key check.
  when foreign_key_violation then
    raise exception 'scrapeguard: unknown source % (no event_sources row)', p_source_id
      using errcode = 'SG001', hint = 'Breakers exist only for rows of public.event_sources.';
end
$$;
comment on function scrapeguard.breaker_ensure(uuid) is
  'Creates a source''s breaker row with default settings if missing; SG001 if the source does not exist.';

-- When an open breaker may be probed: base × multiplier^(level−1), capped, then
-- scaled by a random factor in [1 − jitter, 1 + jitter]. The cap applies before
-- the jitter so capped breakers still spread out instead of re-probing together.
create or replace function scrapeguard.breaker_open_until(
  p_now timestamptz, p_base interval, p_multiplier numeric, p_cap interval, p_jitter numeric, p_level integer
) returns timestamptz
  language sql
  volatile
  set search_path = ''
as $$
  select p_now + pg_catalog.make_interval(secs => (
    least(
      extract(epoch from p_base) * pg_catalog.power(p_multiplier, least(greatest(p_level - 1, 0), 100)),
      extract(epoch from p_cap)
    )::double precision
    * (1 + p_jitter::double precision * (2 * pg_catalog.random() - 1))))
$$;
comment on function scrapeguard.breaker_open_until(timestamptz, interval, numeric, interval, numeric, integer) is
  'End of an open period at back-off level p_level: min(base × multiplier^(level−1), cap) ± jitter.';

-- Writes the transitions row and the notification of a transition just made.
create or replace function scrapeguard.breaker_log(
  p_row public.circuit_breaker_state, p_from text, p_reason text, p_probe_id uuid, p_worker text
) returns void
  language plpgsql
  volatile
  set search_path = ''
as $$
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
$$;
comment on function scrapeguard.breaker_log(public.circuit_breaker_state, text, text, uuid, text) is
  'Records a breaker transition: a circuit_breaker_transitions row and a notification on channel scrapeguard_breaker.';

-- Who caused a transition, when the call has no worker argument: the SDK may set
-- the transaction setting scrapeguard.worker.
create or replace function scrapeguard.breaker_worker() returns text
  language sql
  stable
  set search_path = ''
as $$
  select nullif(pg_catalog.current_setting('scrapeguard.worker', true), '')
$$;
comment on function scrapeguard.breaker_worker() is 'The scrapeguard.worker setting of the transaction, if any.';

-- ---------------------------------------------------------------------------------
-- RPCs. SECURITY INVOKER: the service role calls them and has the table
-- privileges they need; anon/authenticated may not execute them at all.
-- ---------------------------------------------------------------------------------

-- Ask before a scrape. Closed/disabled: allowed, read only. Open before open_until:
-- denied with retry_at = open_until. Open after it: this caller becomes the one
-- half-open probe (allowed, probe_id set). Half-open with a live lease: denied with
-- retry_at = lease end; with an expired lease: a new probe to this caller.
-- forced_open: denied (retry_at null: it stays open until an operator says so).
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
  'Ask the source''s breaker before a scrape: (allowed, state, probe_id, retry_at). A granted probe_id must be passed to record_success/record_failure.';

-- Report a successful scrape. Closed/disabled/forced_open: failures reset to 0
-- (nothing is written when already 0). Half-open with the probe's id: closed,
-- back-off reset. Open, or half-open without the probe's id: a late result of an
-- old call — last_success_at is recorded, the state does not change.
create or replace function public.record_success(source_id uuid, probe_id uuid default null)
  returns public.circuit_breaker_state
  language plpgsql
  volatile
  set search_path = ''
as $$
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
$$;
comment on function public.record_success(uuid, uuid) is
  'Report a successful scrape (pass the probe_id if acquire_permit granted one). Returns the breaker row.';

-- Report a failed scrape. Closed: failures + 1, and the failure that reaches the
-- threshold opens the breaker. Half-open with the probe's id: open again, one
-- back-off level longer. Disabled/forced_open, open, or half-open without the
-- probe's id: counted and recorded, no transition.
create or replace function public.record_failure(source_id uuid, error text default null, probe_id uuid default null)
  returns public.circuit_breaker_state
  language plpgsql
  volatile
  set search_path = ''
as $$
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
$$;
comment on function public.record_failure(uuid, text, uuid) is
  'Report a failed scrape (error text optional; pass the probe_id if acquire_permit granted one). Returns the breaker row.';

-- Operator modes. forced_open: deny every permit until an operator changes it.
-- disabled: permit every scrape and never trip (failures are still counted).
-- auto: leave an operator mode for a fresh closed breaker (no-op otherwise).
create or replace function public.force_breaker(source_id uuid, mode text)
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
$$;
comment on function public.force_breaker(uuid, text) is
  'Operator mode of a source''s breaker: forced_open (deny all), disabled (permit all, never trip) or auto (back to a fresh closed breaker).';

-- Back to a fresh closed breaker from any state (operator modes included): failures
-- and back-off forgotten, any probe invalidated. Settings are kept.
create or replace function public.reset_breaker(source_id uuid)
  returns public.circuit_breaker_state
  language plpgsql
  volatile
  set search_path = ''
as $$
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
$$;
comment on function public.reset_breaker(uuid) is
  'Closes a source''s breaker and forgets its failures and back-off (from any state, operator modes included).';

-- Settings of one breaker; a null argument keeps the current value. Validated here
-- so a bad value is a clear 22023 naming the setting, not a bare CHECK violation.
-- Applies from the next transition (an open period already running keeps its end).
create or replace function public.configure_breaker(
  source_id uuid,
  failure_threshold integer default null,
  open_duration interval default null,
  backoff_multiplier numeric default null,
  max_open_duration interval default null,
  jitter numeric default null,
  probe_lease interval default null
) returns public.circuit_breaker_state
  language plpgsql
  volatile
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
$$;
comment on function public.configure_breaker(uuid, integer, interval, numeric, interval, numeric, interval) is
  'Per-source breaker settings (null keeps the current value); 22023 for an out-of-range value.';

-- Execute rights: the service role only (Supabase's default privileges would give
-- anon/authenticated EXECUTE on every new function in public).
revoke all on function scrapeguard.breaker_ensure(uuid) from public, anon, authenticated;
revoke all on function scrapeguard.breaker_open_until(timestamptz, interval, numeric, interval, numeric, integer) from public, anon, authenticated;
revoke all on function scrapeguard.breaker_log(public.circuit_breaker_state, text, text, uuid, text) from public, anon, authenticated;
revoke all on function scrapeguard.breaker_worker() from public, anon, authenticated;
revoke all on function public.acquire_permit(uuid, text) from public, anon, authenticated;
revoke all on function public.record_success(uuid, uuid) from public, anon, authenticated;
revoke all on function public.record_failure(uuid, text, uuid) from public, anon, authenticated;
revoke all on function public.force_breaker(uuid, text) from public, anon, authenticated;
revoke all on function public.reset_breaker(uuid) from public, anon, authenticated;
revoke all on function public.configure_breaker(uuid, integer, interval, numeric, interval, numeric, interval) from public, anon, authenticated;
grant execute on function scrapeguard.breaker_ensure(uuid) to service_role;
grant execute on function scrapeguard.breaker_open_until(timestamptz, interval, numeric, interval, numeric, integer) to service_role;
grant execute on function scrapeguard.breaker_log(public.circuit_breaker_state, text, text, uuid, text) to service_role;
grant execute on function scrapeguard.breaker_worker() to service_role;
grant execute on function public.acquire_permit(uuid, text) to service_role;
grant execute on function public.record_success(uuid, uuid) to service_role;
grant execute on function public.record_failure(uuid, text, uuid) to service_role;
grant execute on function public.force_breaker(uuid, text) to service_role;
grant execute on function public.reset_breaker(uuid) to service_role;
grant execute on function public.configure_breaker(uuid, integer, interval, numeric, interval, numeric, interval) to service_role;
