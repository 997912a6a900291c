--! Previous: sha1:53a3f70e50a7f3fdf7423c25bc2e2f10a48f1b3c
--! Hash: sha1:7f9d94e123122a4176e0080b43b3806e6427a470
--! Message: scraping runs and logs

-- Scraping runs and logs.
--
-- public.scraping_runs    one row per scraping run: engine, outcome, counts, coverage, timing.
-- public.scraping_logs    the runs' log lines, range-partitioned by day on logged_at; the
--                         partitions live in schema scrapeguard so the API cannot reach them.
-- RPCs                    start_run, finish_run, append_logs (public, service_role);
--                         fleet_health (public, SECURITY INVOKER, service_role + admins).
-- Maintenance             scrapeguard.ensure_log_partitions, drop_expired_logs, prune_runs,
--                         scheduled by pg_cron where it exists (schedule_maintenance).
--
-- Everything is idempotent: running this file twice leaves the same catalog.

------------------------------------------------------------------------------
-- scraping_runs
------------------------------------------------------------------------------

create table if not exists public.scraping_runs (
  id uuid primary key default gen_random_uuid(),
  -- A run belongs to its source: deleting the source deletes its runs (and, through
  -- scraping_logs' FK, their logs), like scrape_jobs does. event_revisions keep their
  -- history (their run_id is set null).
  source_id uuid not null
    constraint scraping_runs_source_id_fkey references public.event_sources (id) on delete cascade,
  -- Optional link to the app's own job record, which scrapeguard extends without
  -- altering. Deleting the job keeps the run (the metrics outlive the job record).
  scrape_job_id uuid
    constraint scraping_runs_scrape_job_id_fkey references public.scrape_jobs (id) on delete set null,
  engine text not null
    constraint scraping_runs_engine_check
      check (engine in ('firecrawl', 'devtools', 'playwright', 'api', 'feed')),
  status text not null default 'running'
    constraint scraping_runs_status_check
      check (status in ('running', 'succeeded', 'partial', 'failed', 'cancelled')),
  started_at timestamptz not null default scrapeguard.clock(),
  finished_at timestamptz,
  -- Derived, so it can never disagree with the two timestamps (null while running).
  duration_ms bigint generated always as
    ((round(extract(epoch from (finished_at - started_at)) * 1000))::bigint) stored,
  field_coverage numeric(5, 2)
    constraint scraping_runs_field_coverage_check check (field_coverage between 0 and 100),
  -- Per-run counts of events: integer like scrape_jobs' (far below 2^31 per run), and
  -- numbers, not strings, for JavaScript clients (node-pg returns bigint as a string).
  -- squawk-ignore prefer-bigint-over-int
  events_found integer not null default 0,
  -- squawk-ignore prefer-bigint-over-int
  events_created integer not null default 0,
  -- squawk-ignore prefer-bigint-over-int
  events_updated integer not null default 0,
  -- squawk-ignore prefer-bigint-over-int
  events_skipped integer not null default 0,
  -- squawk-ignore prefer-bigint-over-int
  events_failed integer not null default 0,
  error_code text,
  error_message text,
  metadata jsonb not null default '{}'::jsonb,
  worker text,
  constraint scraping_runs_finished_iff_not_running
    check ((status = 'running') = (finished_at is null)),
  constraint scraping_runs_finished_after_start
    check (finished_at >= started_at),
  constraint scraping_runs_counts_nonnegative
    check (events_found >= 0 and events_created >= 0 and events_updated >= 0
           and events_skipped >= 0 and events_failed >= 0),
  -- The outcome is written once, by finish_run: a running run has none yet.
  constraint scraping_runs_running_has_no_outcome
    check (status <> 'running'
           or (field_coverage is null and error_code is null and error_message is null
               and events_found = 0 and events_created = 0 and events_updated = 0
               and events_skipped = 0 and events_failed = 0)),
  constraint scraping_runs_metadata_check
    check (jsonb_typeof(metadata) = 'object' and octet_length(metadata::text) <= 65536),
  constraint scraping_runs_worker_length check (char_length(worker) <= 200),
  constraint scraping_runs_error_code_length check (char_length(error_code) <= 200)
);

comment on table public.scraping_runs is
  'One row per scraping run: engine, outcome, counts, field coverage and timing. Written by start_run/finish_run; kept 180 days (scrapeguard.prune_runs).';
comment on column public.scraping_runs.source_id is
  'The scraped source. ON DELETE CASCADE: a deleted source takes its runs and their logs with it.';
comment on column public.scraping_runs.scrape_job_id is
  'Optional app job record this run details. ON DELETE SET NULL: the run outlives the job row.';
comment on column public.scraping_runs.duration_ms is
  'finished_at - started_at in milliseconds, generated (null while running).';
comment on column public.scraping_runs.field_coverage is
  'Share of the expected fields the run filled, 0-100 (null: not measured).';
comment on column public.scraping_runs.metadata is
  'Free-form JSON object (<= 64 KiB as text); finish_run merges its metadata into start_run''s.';

-- Per-source history, newest first: fleet_health, the dashboard, and the FK on source_id.
create index if not exists scraping_runs_source_started_idx
  on public.scraping_runs (source_id, started_at desc);
-- The FK on scrape_job_id (ON DELETE SET NULL must find the runs of a deleted job).
create index if not exists scraping_runs_scrape_job_idx
  on public.scraping_runs (scrape_job_id) where scrape_job_id is not null;
-- prune_runs deletes by age across all sources.
create index if not exists scraping_runs_started_idx
  on public.scraping_runs (started_at);

alter table public.scraping_runs enable row level security;
revoke all on table public.scraping_runs from public, anon, authenticated;
grant select on table public.scraping_runs to authenticated;
grant all on table public.scraping_runs to service_role;
drop policy if exists "admins read scraping_runs" on public.scraping_runs;
create policy "admins read scraping_runs" on public.scraping_runs
  for select to authenticated using ((select scrapeguard.is_admin()));

-- A run may only point at a job of its own source. A composite FK would need a
-- unique (id, source_id) on scrape_jobs, and scrapeguard never alters app tables,
-- so a trigger checks it.
create or replace function scrapeguard.check_run_job_source() returns trigger
  language plpgsql
  set search_path = ''
as $$
begin
  if new.scrape_job_id is not null and not exists (
    select from public.scrape_jobs j where j.id = new.scrape_job_id and j.source_id = new.source_id
  ) then
    raise exception 'scrape job % does not exist or belongs to another source than %',
      new.scrape_job_id, new.source_id
      using errcode = '22023';
  end if;
  return new;
end
$$;
comment on function scrapeguard.check_run_job_source() is
  'Trigger: scraping_runs.scrape_job_id must be a job of the same source (no composite FK without altering scrape_jobs).';
revoke all on function scrapeguard.check_run_job_source() from public, anon, authenticated;

drop trigger if exists scrapeguard_run_job_source on public.scraping_runs;
create trigger scrapeguard_run_job_source
  before insert or update of scrape_job_id, source_id on public.scraping_runs
  for each row execute function scrapeguard.check_run_job_source();

-- Live dashboards: runs are low-volume, so Supabase Realtime may stream them
-- (RLS still decides who receives what). Logs are not published (volume).
do $pub$
begin
  if exists (select from pg_catalog.pg_publication where pubname = 'supabase_realtime')
     and not exists (
       select from pg_catalog.pg_publication_rel pr
         join pg_catalog.pg_publication p on p.oid = pr.prpubid
        where p.pubname = 'supabase_realtime' and pr.prrelid = 'public.scraping_runs'::regclass)
     and not (select puballtables from pg_catalog.pg_publication where pubname = 'supabase_realtime')
  then
    alter publication supabase_realtime add table public.scraping_runs;
  end if;
end
$pub$;

------------------------------------------------------------------------------
-- scraping_logs: daily range partitions on logged_at, in schema scrapeguard
------------------------------------------------------------------------------

create table if not exists public.scraping_logs (
  -- Insertion order within a run (logged_at can repeat). The key is (id, logged_at)
  -- because a partitioned table's key must contain the partition key.
  id bigint generated always as identity,
  run_id uuid not null
    constraint scraping_logs_run_id_fkey references public.scraping_runs (id) on delete cascade,
  level text not null
    constraint scraping_logs_level_check check (level in ('debug', 'info', 'warn', 'error')),
  message text not null
    constraint scraping_logs_message_length check (char_length(message) <= 16384),
  metadata jsonb not null default '{}'::jsonb
    constraint scraping_logs_metadata_check
      check (jsonb_typeof(metadata) = 'object' and octet_length(metadata::text) <= 8192),
  logged_at timestamptz not null default scrapeguard.clock(),
  constraint scraping_logs_pkey primary key (id, logged_at)
) partition by range (logged_at);

comment on table public.scraping_logs is
  'Log lines of scraping runs (append_logs). Daily range partitions (UTC days) in schema scrapeguard, plus a default partition; kept 30 days (scrapeguard.drop_expired_logs drops whole partitions).';
comment on column public.scraping_logs.id is 'Insertion order (identity); with logged_at the primary key.';
comment on column public.scraping_logs.run_id is
  'The run. ON DELETE CASCADE: pruning a run removes whatever logs it still has.';
comment on column public.scraping_logs.metadata is 'JSON object, at most 8 KiB as JSON text.';
comment on column public.scraping_logs.logged_at is 'When the line was logged (partition key).';

-- Logs of a run by level (also serves the FK's ON DELETE CASCADE).
create index if not exists scraping_logs_run_level_idx on public.scraping_logs (run_id, level);
-- Time-range reads inside a partition: logs arrive in time order, so a BRIN is a
-- few pages where a btree would be as large as the (run_id, level) index.
create index if not exists scraping_logs_logged_at_brin on public.scraping_logs using brin (logged_at);

-- Rows whose logged_at has no partition (far past/future, or before
-- ensure_log_partitions ran) land here, so an insert never fails for lack of one.
create table if not exists scrapeguard.scraping_logs_default
  partition of public.scraping_logs default;
comment on table scrapeguard.scraping_logs_default is
  'Catch-all partition of public.scraping_logs. Normally empty: ensure_log_partitions moves its rows into new partitions, drop_expired_logs deletes its expired rows.';

alter table public.scraping_logs enable row level security;
revoke all on table public.scraping_logs from public, anon, authenticated;
grant select on table public.scraping_logs to authenticated;
grant all on table public.scraping_logs to service_role;
revoke all on sequence public.scraping_logs_id_seq from public, anon, authenticated;
drop policy if exists "admins read scraping_logs" on public.scraping_logs;
create policy "admins read scraping_logs" on public.scraping_logs
  for select to authenticated using ((select scrapeguard.is_admin()));

-- Partitions are reached only through the parent (whose grants and policy apply).
-- Directly they are closed: RLS on, no grants, and the always-false restrictive policy
-- of scrapeguard's internal tables (000001 says why), which ensure_log_partitions
-- gives every daily partition too.
alter table scrapeguard.scraping_logs_default enable row level security;
revoke all on table scrapeguard.scraping_logs_default from public, anon, authenticated;
drop policy if exists "internal: no direct access" on scrapeguard.scraping_logs_default;
create policy "internal: no direct access" on scrapeguard.scraping_logs_default
  as restrictive for all to public using (false) with check (false);

-- The partitions of scraping_logs with their bounds.
create or replace function scrapeguard.log_partitions()
  returns table (partition regclass, lower_bound timestamptz, upper_bound timestamptz, is_default boolean)
  language sql
  stable
  -- pg_get_expr prints bounds with the session's DateStyle; pin it so they parse back.
  set datestyle = 'ISO, YMD'
  set search_path = ''
as $$
  select c.oid::pg_catalog.regclass,
         case when b.m[1] = 'MINVALUE' then '-infinity'::pg_catalog.timestamptz
              else pg_catalog.btrim(b.m[1], '''')::pg_catalog.timestamptz end,
         case when b.m[2] = 'MAXVALUE' then 'infinity'::pg_catalog.timestamptz
              else pg_catalog.btrim(b.m[2], '''')::pg_catalog.timestamptz end,
         b.m is null
    from pg_catalog.pg_inherits i
    join pg_catalog.pg_class c on c.oid = i.inhrelid
    cross join lateral (
      select pg_catalog.regexp_match(pg_catalog.pg_get_expr(c.relpartbound, c.oid),
                                     '^FOR VALUES FROM \((.*)\) TO \((.*)\)$') as m
    ) b
   where i.inhparent = 'public.scraping_logs'::pg_catalog.regclass
   order by 2 nulls first
$$;
comment on function scrapeguard.log_partitions() is
  'The partitions of public.scraping_logs with their [lower, upper) bounds; is_default for the catch-all.';
revoke all on function scrapeguard.log_partitions() from public, anon, authenticated;
grant execute on function scrapeguard.log_partitions() to service_role;

-- Creates the daily partitions from today (UTC, by scrapeguard.clock()) through
-- clock() + ahead. Rows already caught by the default partition for a new day
-- are moved into it. Returns how many partitions it created.
--
-- SECURITY DEFINER: creating and attaching partitions needs ownership of
-- public.scraping_logs, and the service role (an external scheduler where
-- pg_cron is missing) must be able to run it. It takes only an interval.
create or replace function scrapeguard.ensure_log_partitions(ahead interval default interval '3 days')
  returns integer
  language plpgsql
  security definer
  set search_path = ''
  -- Never queue behind a long query holding the parent: fail and retry next time.
  set lock_timeout = '5s'
as $$
declare
  now_ pg_catalog.timestamptz := scrapeguard.clock();
  d pg_catalog.date;
  lo pg_catalog.timestamptz;
  hi pg_catalog.timestamptz;
  part pg_catalog.text;
  created integer := 0;
begin
  if ahead is null then
    raise exception 'ensure_log_partitions: ahead must not be null' using errcode = '22004';
  end if;
  if ahead < interval '0' or ahead > interval '366 days' then
    raise exception 'ensure_log_partitions: ahead must be between 0 and 366 days (got %)', ahead
      using errcode = '22023';
  end if;
  for d in
    select g::pg_catalog.date
      from pg_catalog.generate_series((now_ at time zone 'UTC')::pg_catalog.date::timestamp,
                                      ((now_ + ahead) at time zone 'UTC')::pg_catalog.date::timestamp,
                                      interval '1 day') g
  loop
    lo := d::timestamp at time zone 'UTC';
    hi := (d + 1)::timestamp at time zone 'UTC';
    part := 'scraping_logs_p' || pg_catalog.to_char(d, 'YYYYMMDD');
    -- Skip days already covered (by our partition or any other, e.g. a monthly one).
    continue when exists (
      select from scrapeguard.log_partitions() p
       where not p.is_default and p.lower_bound < hi and p.upper_bound > lo);
    -- Writes to scraping_logs pause until commit (reads go on): an INSERT that routed a
    -- row of this day to the default partition before the ATTACH would fail the default
    -- partition's new constraint after it, and a row added between the move below and
    -- ATTACH would make ATTACH fail. This also serializes concurrent callers; look again.
    lock table public.scraping_logs in share row exclusive mode;
    continue when exists (
      select from scrapeguard.log_partitions() p
       where not p.is_default and p.lower_bound < hi and p.upper_bound > lo);
    -- Create detached, move the default partition's rows of that day, then ATTACH
    -- (CREATE … PARTITION OF would take ACCESS EXCLUSIVE on the parent and block
    -- readers too).
    execute pg_catalog.format(
      'create table scrapeguard.%I (like public.scraping_logs including constraints)', part);
    execute pg_catalog.format(
      'with moved as (delete from scrapeguard.scraping_logs_default
                       where logged_at >= $1 and logged_at < $2 returning *)
       insert into scrapeguard.%I overriding system value select * from moved', part)
      using lo, hi;
    execute pg_catalog.format(
      'alter table public.scraping_logs attach partition scrapeguard.%I for values from (%L) to (%L)',
      part, lo, hi);
    execute pg_catalog.format('alter table scrapeguard.%I enable row level security', part);
    execute pg_catalog.format('revoke all on table scrapeguard.%I from public, anon, authenticated', part);
    execute pg_catalog.format(
      'create policy "internal: no direct access" on scrapeguard.%I as restrictive for all to public using (false) with check (false)',
      part);
    execute pg_catalog.format(
      'comment on table scrapeguard.%I is %L', part,
      'Daily partition of public.scraping_logs (one UTC day). Created by ensure_log_partitions, dropped by drop_expired_logs. Not reachable through the API.');
    created := created + 1;
  end loop;
  return created;
end
$$;
comment on function scrapeguard.ensure_log_partitions(interval) is
  'Creates the daily scraping_logs partitions from today (UTC) through clock() + ahead, moving matching rows out of the default partition. Returns the number created.';
revoke all on function scrapeguard.ensure_log_partitions(interval) from public, anon, authenticated;
grant execute on function scrapeguard.ensure_log_partitions(interval) to service_role;

-- Drops (or detaches) every partition whose whole range is older than
-- clock() - keep, and deletes expired rows from the default partition (which
-- holds only stray rows). A partition that still holds one row younger than the
-- cutoff is kept whole. Returns the number of partitions dropped or detached.
--
-- SECURITY DEFINER for the same reason as ensure_log_partitions (DDL on the
-- table owner's partitions by the service role).
create or replace function scrapeguard.drop_expired_logs(
  keep interval default interval '30 days',
  detach_only boolean default false
) returns integer
  language plpgsql
  security definer
  set search_path = ''
  set lock_timeout = '5s'
as $$
declare
  cutoff pg_catalog.timestamptz;
  p pg_catalog.record;
  dropped integer := 0;
  stray bigint;
begin
  if keep is null or detach_only is null then
    raise exception 'drop_expired_logs: keep and detach_only must not be null' using errcode = '22004';
  end if;
  if keep <= interval '0' then
    raise exception 'drop_expired_logs: keep must be positive (got %)', keep using errcode = '22023';
  end if;
  cutoff := scrapeguard.clock() - keep;
  for p in
    select lp.partition from scrapeguard.log_partitions() lp
     where not lp.is_default and lp.upper_bound <= cutoff
     order by lp.lower_bound
  loop
    if detach_only then
      -- Left in schema scrapeguard (RLS on, no grants) for archiving; dropping it is up to the operator.
      execute pg_catalog.format('alter table public.scraping_logs detach partition %s', p.partition);
    else
      execute pg_catalog.format('drop table %s', p.partition);
    end if;
    dropped := dropped + 1;
  end loop;
  delete from scrapeguard.scraping_logs_default l where l.logged_at < cutoff;
  get diagnostics stray = row_count;
  if stray > 0 then
    raise notice 'drop_expired_logs: deleted % expired rows from the default partition', stray;
  end if;
  return dropped;
end
$$;
comment on function scrapeguard.drop_expired_logs(interval, boolean) is
  'Drops (detach_only: detaches) scraping_logs partitions entirely older than clock() - keep, and deletes expired rows of the default partition. Returns the number of partitions removed.';
revoke all on function scrapeguard.drop_expired_logs(interval, boolean) from public, anon, authenticated;
grant execute on function scrapeguard.drop_expired_logs(interval, boolean) to service_role;

-- Deletes runs that started more than keep ago (their remaining logs go by
-- cascade; event_revisions keep their rows with run_id set null). Returns the
-- number of runs deleted.
create or replace function scrapeguard.prune_runs(keep interval default interval '180 days')
  returns integer
  language plpgsql
  set search_path = ''
as $$
declare
  n integer;
begin
  if keep is null then
    raise exception 'prune_runs: keep must not be null' using errcode = '22004';
  end if;
  if keep <= interval '0' then
    raise exception 'prune_runs: keep must be positive (got %)', keep using errcode = '22023';
  end if;
  delete from public.scraping_runs r where r.started_at < scrapeguard.clock() - keep;
  get diagnostics n = row_count;
  return n;
end
$$;
comment on function scrapeguard.prune_runs(interval) is
  'Deletes scraping runs started more than keep ago (default 180 days); returns how many.';
revoke all on function scrapeguard.prune_runs(interval) from public, anon, authenticated;
grant execute on function scrapeguard.prune_runs(interval) to service_role;

-- pg_cron, where the database has it (Supabase: enable the pg_cron extension).
-- cron.schedule(name, …) replaces a job of the same name, so this is idempotent.
-- Without pg_cron it does nothing and returns 0: run the three functions from any
-- scheduler instead (docs/database.md).
create or replace function scrapeguard.schedule_maintenance() returns integer
  language plpgsql
  set search_path = ''
as $$
begin
  if to_regprocedure('cron.schedule(text,text,text)') is null then
    return 0;
  end if;
  execute 'select cron.schedule($1, $2, $3)'
    using 'scrapeguard-ensure-log-partitions', '7 * * * *',
          'select scrapeguard.ensure_log_partitions()';
  execute 'select cron.schedule($1, $2, $3)'
    using 'scrapeguard-drop-expired-logs', '17 3 * * *',
          'select scrapeguard.drop_expired_logs()';
  execute 'select cron.schedule($1, $2, $3)'
    using 'scrapeguard-prune-runs', '27 3 * * *',
          'select scrapeguard.prune_runs()';
  return 3;
end
$$;
comment on function scrapeguard.schedule_maintenance() is
  'Schedules partition creation (hourly), log retention and run retention (daily) with pg_cron when cron.schedule exists; returns the number of jobs scheduled (0 without pg_cron).';
revoke all on function scrapeguard.schedule_maintenance() from public, anon, authenticated;

-- No daily partition is created here: the catalog a migration builds does not depend
-- on the day it runs (a re-run after midnight would otherwise add a partition). Until
-- the first scheduled ensure_log_partitions() (hourly with pg_cron; docs/database.md
-- for other schedulers), lines land in the default partition, which that call
-- empties into the new daily partitions.
select scrapeguard.schedule_maintenance();

------------------------------------------------------------------------------
-- RPCs
------------------------------------------------------------------------------

-- Opens a run for a source and returns its id.
-- Errors: 22004 null source_id/engine/metadata; 22023 unknown engine, metadata not
-- a JSON object or over 64 KiB, scrape job unknown or of another source; SG001
-- unknown source.
create or replace function public.start_run(
  source_id uuid,
  engine text,
  scrape_job_id uuid default null,
  worker text default null,
  metadata jsonb default '{}'::jsonb
) returns uuid
  language plpgsql
  set search_path = ''
as $$
declare
  new_id uuid;
begin
  if start_run.source_id is null or start_run.engine is null or start_run.metadata is null then
    raise exception 'start_run: source_id, engine and metadata must not be null' using errcode = '22004';
  end if;
  if start_run.engine not in ('firecrawl', 'devtools', 'playwright', 'api', 'feed') then
    raise exception 'start_run: unknown engine "%" (expected firecrawl, devtools, playwright, api or feed)',
      start_run.engine using errcode = '22023';
  end if;
  if pg_catalog.jsonb_typeof(start_run.metadata) <> 'object'
     or pg_catalog.octet_length(start_run.metadata::text) > 65536 then
    raise exception 'start_run: metadata must be a JSON object of at most 64 KiB' using errcode = '22023';
  end if;
  if pg_catalog.char_length(start_run.worker) > 200 then
    raise exception 'start_run: worker must be at most 200 characters' using errcode = '22023';
  end if;
  if not exists (select from public.event_sources s where s.id = start_run.source_id) then
    raise exception 'start_run: unknown source %', start_run.source_id using errcode = 'SG001';
  end if;
  -- (scrape_job_id is checked by the scrapeguard_run_job_source trigger.)
  insert into public.scraping_runs (source_id, scrape_job_id, engine, started_at, metadata, worker)
  values (start_run.source_id, start_run.scrape_job_id, start_run.engine, scrapeguard.clock(),
          start_run.metadata, start_run.worker)
  returning id into new_id;
  perform pg_catalog.pg_notify('scrapeguard_runs', pg_catalog.json_build_object(
    'run_id', new_id, 'source_id', start_run.source_id, 'status', 'running')::text);
  return new_id;
end
$$;
comment on function public.start_run(uuid, text, uuid, text, jsonb) is
  'Opens a scraping run (status running, started_at = clock()) and returns its id. Notifies channel scrapeguard_runs.';
revoke all on function public.start_run(uuid, text, uuid, text, jsonb) from public, anon, authenticated;
grant execute on function public.start_run(uuid, text, uuid, text, jsonb) to service_role;

-- Closes a run once with its outcome; returns the finished row.
-- Errors: 22004 null run_id/status/count; 22023 status not a final one, coverage
-- outside 0-100, a negative count, metadata not an object or over 64 KiB merged;
-- SG002 unknown run; SG003 run already finished.
create or replace function public.finish_run(
  run_id uuid,
  status text,
  field_coverage numeric default null,
  events_found integer default 0,
  events_created integer default 0,
  events_updated integer default 0,
  events_skipped integer default 0,
  events_failed integer default 0,
  error_code text default null,
  error_message text default null,
  metadata jsonb default null
) returns public.scraping_runs
  language plpgsql
  set search_path = ''
as $$
declare
  result public.scraping_runs;
  current_status text;
begin
  if finish_run.run_id is null or finish_run.status is null
     or finish_run.events_found is null or finish_run.events_created is null
     or finish_run.events_updated is null or finish_run.events_skipped is null
     or finish_run.events_failed is null then
    raise exception 'finish_run: run_id, status and the counts must not be null' using errcode = '22004';
  end if;
  if finish_run.status not in ('succeeded', 'partial', 'failed', 'cancelled') then
    raise exception 'finish_run: status must be succeeded, partial, failed or cancelled (got "%")',
      finish_run.status using errcode = '22023';
  end if;
  if finish_run.field_coverage < 0 or finish_run.field_coverage > 100 then
    raise exception 'finish_run: field_coverage must be between 0 and 100 (got %)', finish_run.field_coverage
      using errcode = '22023';
  end if;
  if least(finish_run.events_found, finish_run.events_created, finish_run.events_updated,
           finish_run.events_skipped, finish_run.events_failed) < 0 then
    raise exception 'finish_run: counts must not be negative' using errcode = '22023';
  end if;
  if finish_run.metadata is not null and pg_catalog.jsonb_typeof(finish_run.metadata) <> 'object' then
    raise exception 'finish_run: metadata must be a JSON object' using errcode = '22023';
  end if;
  if pg_catalog.char_length(finish_run.error_code) > 200 then
    raise exception 'finish_run: error_code must be at most 200 characters' using errcode = '22023';
  end if;

  -- One statement: a concurrent second finish waits for the row lock, then sees
  -- status <> 'running' and updates nothing.
  update public.scraping_runs r
     set status = finish_run.status,
         -- greatest(): never before the start, even if a test moved the clock back.
         finished_at = greatest(scrapeguard.clock(), r.started_at),
         field_coverage = finish_run.field_coverage,
         events_found = finish_run.events_found,
         events_created = finish_run.events_created,
         events_updated = finish_run.events_updated,
         events_skipped = finish_run.events_skipped,
         events_failed = finish_run.events_failed,
         error_code = finish_run.error_code,
         error_message = finish_run.error_message,
         metadata = r.metadata || coalesce(finish_run.metadata, '{}'::jsonb)
   where r.id = finish_run.run_id and r.status = 'running'
  returning r.* into result;

  if result.id is null then
    select r.status into current_status from public.scraping_runs r where r.id = finish_run.run_id;
    if current_status is null then
      raise exception 'finish_run: unknown run %', finish_run.run_id using errcode = 'SG002';
    end if;
    raise exception 'finish_run: run % is already finished (status %)', finish_run.run_id, current_status
      using errcode = 'SG003';
  end if;
  perform pg_catalog.pg_notify('scrapeguard_runs', pg_catalog.json_build_object(
    'run_id', result.id, 'source_id', result.source_id, 'status', result.status)::text);
  return result;
exception
  when check_violation then
    -- Only the merged metadata can still break a CHECK here (all else is validated above).
    raise exception 'finish_run: %', sqlerrm using errcode = '22023';
end
$$;
comment on function public.finish_run(uuid, text, numeric, integer, integer, integer, integer, integer, text, text, jsonb) is
  'Closes a running run once: status, counts, coverage, error; finished_at = clock(); metadata merged into start_run''s. Notifies channel scrapeguard_runs.';
revoke all on function public.finish_run(uuid, text, numeric, integer, integer, integer, integer, integer, text, text, jsonb)
  from public, anon, authenticated;
grant execute on function public.finish_run(uuid, text, numeric, integer, integer, integer, integer, integer, text, text, jsonb)
  to service_role;

-- True when s is null or casts to timestamptz (append_logs' error path only: one
-- subtransaction per call, so never on the hot path).
create or replace function scrapeguard.is_timestamptz(s text) returns boolean
  language plpgsql
  stable
  set search_path = ''
as $$
begin
  perform s::timestamptz;
  return true;
exception
  when others then
    return false;
end
$$;
comment on function scrapeguard.is_timestamptz(text) is
  'Whether a text casts to timestamptz (used to name the bad entry of an append_logs batch).';
revoke all on function scrapeguard.is_timestamptz(text) from public, anon, authenticated;
grant execute on function scrapeguard.is_timestamptz(text) to service_role;

-- Appends a batch of log lines to a run in one INSERT; returns the rows written.
-- entries: JSON array (at most 10,000) of objects
--   {"level": "debug|info|warn|error", "message": "…", "metadata": {…}?, "at": "ISO-8601 with offset"?}
-- The whole batch is validated before anything is written; the first bad entry
-- is named by its 0-based index. Errors: 22004 null run_id/entries; 22023 bad
-- batch or entry; SG002 unknown run.
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
    when invalid_datetime_format or datetime_field_overflow then
      -- The shape passed the check above but a field is out of range (month 13…):
      -- find which entry, only on this error path.
      select e.ord - 1 into n
        from pg_catalog.jsonb_array_elements(append_logs.entries) with ordinality as e (entry, ord)
       where not scrapeguard.is_timestamptz(e.entry ->> 'at')
       order by e.ord
       limit 1;
      raise exception 'append_logs: entry % has an "at" that is not a valid timestamp', coalesce(n, -1)
        using errcode = '22023';
  end;
  return n;
end
$$;
comment on function public.append_logs(uuid, jsonb) is
  'Appends up to 10000 log lines [{level, message, metadata?, at?}] to a run in one INSERT, after validating the whole batch; returns the number of rows.';
revoke all on function public.append_logs(uuid, jsonb) from public, anon, authenticated;
grant execute on function public.append_logs(uuid, jsonb) to service_role;

------------------------------------------------------------------------------
-- fleet_health
------------------------------------------------------------------------------

-- The sources fleet_health reports on. Admins read fleet health through the API, but
-- event_sources belongs to the app and its own RLS may hide sources from them (and
-- scrapeguard never adds a policy to an app table). So this one helper runs as its
-- owner and returns only id, name and is_active, and only to callers allowed to read
-- scrapeguard data: admins, the service role and direct (non-API) connections. Other
-- API callers get no row, as RLS would give them. It lives in schema scrapeguard, which
-- the API does not expose; anon may not execute it.
create or replace function scrapeguard.fleet_sources()
  returns table (id uuid, name text, is_active boolean)
  language plpgsql
  stable
  security definer
  set search_path = ''
as $$
begin
  -- Inside a SECURITY DEFINER function current_user is the owner, but the role setting
  -- still names the role the caller switched to (PostgREST: SET LOCAL ROLE).
  if pg_catalog.current_setting('role') in ('anon', 'authenticated') and not scrapeguard.is_admin() then
    return;
  end if;
  return query select s.id, s.name, s.is_active from public.event_sources s;
end
$$;
comment on function scrapeguard.fleet_sources() is
  'id, name, is_active of every event source, for fleet_health: to admins, the service role and direct connections only (SECURITY DEFINER, so the app''s RLS on event_sources does not hide sources from admins).';
revoke all on function scrapeguard.fleet_sources() from public, anon, authenticated;
grant execute on function scrapeguard.fleet_sources() to authenticated, service_role;

-- Per source: breaker state, last run, success rates, durations, coverage.
-- Every run read is an index range scan of scraping_runs_source_started_idx for
-- one source (LATERAL … ORDER BY started_at DESC LIMIT n, or a started_at
-- range), so the cost grows with sources × last_n, not with the runs kept.
--
-- Definitions (docs/database.md):
--   success rate  = succeeded / (succeeded + partial + failed), in %, 2 decimals;
--                   running and cancelled runs are not counted (null: none finished)
--   recent_*      = runs started in (now - recent, now]
--   last_n_*      = the last_n runs started at or before now (running included)
--   p50/p95       = percentile_cont of duration_ms over the finished, not
--                   cancelled runs among the last_n
--   mean coverage = avg(field_coverage) over the last_n runs that reported one
--   breaker       = public.circuit_breaker_state; no row yet means closed, 0 failures
-- "now" is as_of, else scrapeguard.clock().
--
-- SECURITY INVOKER: RLS on event_sources, scraping_runs and the breaker table
-- decides what the caller sees (service_role all; admins read).
create or replace function public.fleet_health(
  last_n integer default 20,
  recent interval default interval '24 hours',
  as_of timestamptz default null
) returns table (
  source_id uuid,
  source_name text,
  is_active boolean,
  breaker_state text,
  breaker_failure_count integer,
  breaker_open_until timestamptz,
  last_run_id uuid,
  last_run_status text,
  last_run_started_at timestamptz,
  last_run_finished_at timestamptz,
  last_run_error_code text,
  recent_runs integer,
  recent_success_rate numeric,
  last_n_runs integer,
  last_n_success_rate numeric,
  p50_duration_ms double precision,
  p95_duration_ms double precision,
  mean_field_coverage numeric
)
  language plpgsql
  set search_path = ''
as $$
#variable_conflict use_column
declare
  now_ timestamptz;
begin
  if last_n is null or recent is null then
    raise exception 'fleet_health: last_n and recent must not be null' using errcode = '22004';
  end if;
  if last_n < 1 or last_n > 10000 then
    raise exception 'fleet_health: last_n must be between 1 and 10000 (got %)', last_n using errcode = '22023';
  end if;
  if recent <= interval '0' then
    raise exception 'fleet_health: recent must be positive (got %)', recent using errcode = '22023';
  end if;
  -- The caller's clock (signed-in users may read it): tests freeze it, production runs on
  -- the wall clock.
  now_ := coalesce(as_of, scrapeguard.clock());

  return query
  select s.id,
         s.name,
         s.is_active,
         coalesce(b.state, 'closed'),
         coalesce(b.failure_count, 0),
         b.open_until,
         lr.id,
         lr.status,
         lr.started_at,
         lr.finished_at,
         lr.error_code,
         rc.runs,
         rc.success_rate,
         ln.runs,
         ln.success_rate,
         ln.p50,
         ln.p95,
         ln.mean_coverage
    from scrapeguard.fleet_sources() s
    left join public.circuit_breaker_state b on b.source_id = s.id
    left join lateral (
      select r.id, r.status, r.started_at, r.finished_at, r.error_code
        from public.scraping_runs r
       where r.source_id = s.id and r.started_at <= now_
       order by r.started_at desc
       limit 1
    ) lr on true
    cross join lateral (
      select count(*)::integer as runs,
             round(100.0 * count(*) filter (where r.status = 'succeeded')
                   / nullif(count(*) filter (where r.status in ('succeeded', 'partial', 'failed')), 0), 2)
               as success_rate
        from public.scraping_runs r
       where r.source_id = s.id and r.started_at > now_ - recent and r.started_at <= now_
    ) rc
    cross join lateral (
      select count(*)::integer as runs,
             round(100.0 * count(*) filter (where x.status = 'succeeded')
                   / nullif(count(*) filter (where x.status in ('succeeded', 'partial', 'failed')), 0), 2)
               as success_rate,
             percentile_cont(0.5) within group (order by x.duration_ms)
               filter (where x.status in ('succeeded', 'partial', 'failed')) as p50,
             percentile_cont(0.95) within group (order by x.duration_ms)
               filter (where x.status in ('succeeded', 'partial', 'failed')) as p95,
             round(avg(x.field_coverage), 2) as mean_coverage
        from (
          select r.status, r.duration_ms, r.field_coverage
            from public.scraping_runs r
           where r.source_id = s.id and r.started_at <= now_
           order by r.started_at desc
           limit last_n
        ) x
    ) ln
   order by s.name, s.id;
end
$$;
comment on function public.fleet_health(integer, interval, timestamptz) is
  'Per source: breaker state, last run, success rate over the recent window and the last_n runs, p50/p95 duration, mean field coverage. SECURITY INVOKER; index range scans per source.';
revoke all on function public.fleet_health(integer, interval, timestamptz) from public, anon, authenticated;
grant execute on function public.fleet_health(integer, interval, timestamptz) to authenticated, service_role;
