-- scrapeguard migration 000001 (exported from migrations/committed/000001-foundation.sql by npm run export:supabase).
-- Down script: migrations/rollback/000001.sql

-- Foundation: the scrapeguard schema, the app's base tables where missing, the
-- admin rule and the clock that every later feature uses.
--
-- Base schema adoption.
--
-- The event-calendar app already owns events, event_sources, scrape_jobs and
-- profiles. scrapeguard never alters them: each one is created here only when it
-- is missing (a bare database, the test fixture), with everything that belongs to
-- it (RLS, indexes, the updated_at trigger) created in the same branch. Where a
-- table exists nothing about it is touched; instead the columns scrapeguard relies
-- on are verified, and a missing or mistyped one stops the migration with a
-- message naming it.

create schema if not exists scrapeguard;

comment on schema scrapeguard is
  'scrapeguard internals (helpers, settings, clock). Not exposed through the API.';

revoke all on schema scrapeguard from public;

-- Which base objects this migration created (as opposed to found), so that its
-- down script removes only those and never an app table that existed before.
create table if not exists scrapeguard.created_base_objects (
  object_kind text not null check (object_kind in ('table', 'function')),
  object_name text not null,
  created_at timestamptz not null default now(),
  primary key (object_kind, object_name)
);

comment on table scrapeguard.created_base_objects is
  'Base-schema objects that scrapeguard created because the database lacked them; its rollback drops only these.';

alter table scrapeguard.created_base_objects enable row level security;

-- Internal tables are closed to every role that does not bypass RLS. RLS alone (with
-- no policy) already denies them every row, but says so only by omission: Supabase's
-- linter reports such a table ("RLS enabled, no policy") and a reader cannot tell a
-- forgotten policy from a deliberate none. A RESTRICTIVE policy that is always false
-- states it, and keeps denying even if a permissive policy is added later by mistake.
-- The service role (BYPASSRLS) and scrapeguard's SECURITY DEFINER functions (run as
-- the table owner) are not subject to it.
drop policy if exists "internal: no direct access" on scrapeguard.created_base_objects;
create policy "internal: no direct access" on scrapeguard.created_base_objects
  as restrictive for all to public using (false) with check (false);

do $base$
begin
  if to_regprocedure('public.update_updated_at_column()') is null then
    create function public.update_updated_at_column() returns trigger
      language plpgsql
      set search_path = ''
    as $fn$
    begin
      new.updated_at := pg_catalog.now();
      return new;
    end
    $fn$;
    comment on function public.update_updated_at_column() is
      'Keeps updated_at current on app tables (created by scrapeguard only where the app lacks it).';
    insert into scrapeguard.created_base_objects values ('function', 'public.update_updated_at_column()');
  end if;

  if to_regclass('public.event_sources') is null then
    create table public.event_sources (
      id uuid primary key default gen_random_uuid(),
      name text not null,
      base_url text not null,
      source_type text not null default 'website'
        check (source_type in ('website', 'api', 'manual')),
      scrape_config jsonb not null default '{}'::jsonb,
      last_scraped_at timestamptz,
      next_scrape_at timestamptz,
      scrape_frequency_hours integer not null default 24 check (scrape_frequency_hours > 0),
      is_active boolean not null default true,
      error_count integer not null default 0 check (error_count >= 0),
      last_error text,
      created_at timestamptz not null default now(),
      updated_at timestamptz not null default now()
    );
    alter table public.event_sources enable row level security;
    create trigger update_event_sources_updated_at before update on public.event_sources
      for each row execute function public.update_updated_at_column();
    insert into scrapeguard.created_base_objects values ('table', 'public.event_sources');
  end if;

  if to_regclass('public.events') is null then
    create table public.events (
      id uuid primary key default gen_random_uuid(),
      title text not null,
      description text,
      start_time timestamptz not null,
      end_time timestamptz,
      timezone text not null default 'Asia/Macau',
      venue_id uuid,
      organizer_id uuid,
      category_id uuid,
      status text not null default 'draft'
        check (status in ('draft', 'pending', 'published', 'cancelled', 'completed')),
      source_url text,
      source_type text not null default 'manual' check (source_type in ('manual', 'scraped', 'api')),
      last_scraped_at timestamptz,
      scrape_hash text,
      event_type text not null default 'event' check (event_type in ('event', 'attraction', 'invalid')),
      price_range integer[],
      tags text[] not null default '{}',
      created_at timestamptz not null default now(),
      updated_at timestamptz not null default now(),
      check (end_time is null or end_time >= start_time)
    );
    alter table public.events enable row level security;
    create index events_start_time_idx on public.events (start_time);
    create index events_source_url_idx on public.events (source_url);
    create trigger update_events_updated_at before update on public.events
      for each row execute function public.update_updated_at_column();
    create policy "published events are public" on public.events
      for select to anon, authenticated using (status = 'published');
    insert into scrapeguard.created_base_objects values ('table', 'public.events');
  end if;

  if to_regclass('public.scrape_jobs') is null then
    create table public.scrape_jobs (
      id uuid primary key default gen_random_uuid(),
      source_id uuid not null references public.event_sources (id) on delete cascade,
      status text not null default 'running' check (status in ('running', 'completed', 'failed')),
      started_at timestamptz not null default now(),
      completed_at timestamptz,
      events_found integer not null default 0,
      events_created integer not null default 0,
      events_updated integer not null default 0,
      events_skipped integer not null default 0,
      error_message text,
      retry_count integer not null default 0,
      job_metadata jsonb not null default '{}'::jsonb
    );
    alter table public.scrape_jobs enable row level security;
    create index scrape_jobs_source_id_idx on public.scrape_jobs (source_id, started_at desc);
    insert into scrapeguard.created_base_objects values ('table', 'public.scrape_jobs');
  end if;

  if to_regclass('public.profiles') is null then
    create table public.profiles (
      id uuid primary key references auth.users (id) on delete cascade,
      display_name text,
      created_at timestamptz not null default now(),
      updated_at timestamptz not null default now()
    );
    alter table public.profiles enable row level security;
    create trigger update_profiles_updated_at before update on public.profiles
      for each row execute function public.update_updated_at_column();
    create policy "users read their own profile" on public.profiles
      for select to authenticated using (id = (select auth.uid()));
    insert into scrapeguard.created_base_objects values ('table', 'public.profiles');
  end if;
end
$base$;

-- Verify what scrapeguard relies on, whoever created the tables.
do $verify$
declare
  missing text;
begin
  select string_agg(format('%s.%s (%s)', r.tbl, r.col, r.typ), ', ' order by r.tbl, r.col)
    into missing
    from (values
      ('event_sources', 'id', 'uuid'),
      ('event_sources', 'name', 'text'),
      ('event_sources', 'is_active', 'boolean'),
      ('events', 'id', 'uuid'),
      ('events', 'title', 'text'),
      ('events', 'start_time', 'timestamp with time zone'),
      ('events', 'status', 'text'),
      ('events', 'updated_at', 'timestamp with time zone'),
      ('scrape_jobs', 'id', 'uuid'),
      ('scrape_jobs', 'source_id', 'uuid'),
      ('profiles', 'id', 'uuid')
    ) as r (tbl, col, typ)
    where not exists (
      select
        from pg_catalog.pg_attribute a
       where a.attrelid = pg_catalog.to_regclass('public.' || r.tbl)
         and a.attname = r.col
         and not a.attisdropped
         and pg_catalog.format_type(a.atttypid, a.atttypmod) = r.typ
    );
  if missing is not null then
    raise exception 'scrapeguard: the app schema lacks columns it relies on: %', missing
      using errcode = 'undefined_column',
            hint = 'scrapeguard never alters app tables; add these columns (with these types) in the app first.';
  end if;
end
$verify$;

-- ---------------------------------------------------------------------------
-- The admin rule
-- ---------------------------------------------------------------------------
-- Who may read scrapeguard data: the service role (bypasses RLS, does everything)
-- and admins, who only read. An admin is a signed-in user whose JWT carries
-- app_metadata.role = 'admin'. app_metadata is writable only with the service
-- key (unlike user_metadata, which users edit themselves), and profiles has no
-- role column (and scrapeguard never alters app tables), so the JWT is the one
-- place this can live.
--
-- The claims are read from the request settings directly rather than through
-- auth.jwt(): that function's body casts to an unqualified jsonb, so called from
-- a SECURITY DEFINER function it would resolve a type in the caller's temporary
-- schema with the owner's rights.

grant usage on schema scrapeguard to authenticated, service_role;

create or replace function scrapeguard.is_admin() returns boolean
  language sql
  stable
  set search_path = ''
as $$
  select coalesce(
    (coalesce(nullif(pg_catalog.current_setting('request.jwt.claim', true), ''),
              nullif(pg_catalog.current_setting('request.jwt.claims', true), ''))::pg_catalog.jsonb
       -> 'app_metadata' ->> 'role') = 'admin',
    false)
$$;
comment on function scrapeguard.is_admin() is
  'True when the request''s JWT has app_metadata.role = ''admin'' (read from the claims as auth.jwt() reads them). Use in policies as (select scrapeguard.is_admin()) so it is evaluated once per statement.';
revoke all on function scrapeguard.is_admin() from public;
grant execute on function scrapeguard.is_admin() to authenticated, service_role;

-- ---------------------------------------------------------------------------
-- One clock for every scrapeguard time (breaker transitions, runs, logs, revisions)
-- ---------------------------------------------------------------------------
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

-- The service role moves the shared clock (tests and the accelerated demo run as it);
-- the clock functions run as their caller, so it needs UPDATE on the row. Signed-in
-- users read it: the read functions they call stamp times with the clock.
revoke all on table scrapeguard.clock_control from public;
grant select, update on table scrapeguard.clock_control to service_role;
grant select on table scrapeguard.clock_control to authenticated;

drop policy if exists "the clock is readable" on scrapeguard.clock_control;
create policy "the clock is readable" on scrapeguard.clock_control
  for select to authenticated using (true);

insert into scrapeguard.clock_control (id) values (true) on conflict (id) do nothing;

-- plpgsql rather than SQL: a LANGUAGE sql function with a pinned search_path cannot
-- be inlined and, before PostgreSQL 18, is parsed and planned again in every
-- transaction, which made the clock the main cost of every breaker write; plpgsql
-- keeps its plan for the session (bench/RESULTS.md has the figures).
create or replace function scrapeguard.clock() returns timestamptz
  language plpgsql
  volatile
  set search_path = ''
as $$
begin
  return coalesce(
    nullif(pg_catalog.current_setting('scrapeguard.now', true), '')::pg_catalog.timestamptz,
    (select coalesce(c.frozen_at, pg_catalog.clock_timestamp() + c.offset_by)
       from scrapeguard.clock_control c where c.id),
    pg_catalog.clock_timestamp()
  );
end
$$;
comment on function scrapeguard.clock() is
  'The time scrapeguard records and compares against: wall clock, unless frozen/offset for tests or demos.';
revoke all on function scrapeguard.clock() from public;
grant execute on function scrapeguard.clock() to authenticated, service_role;

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
revoke all on function scrapeguard.advance_clock(interval) from public;
grant execute on function scrapeguard.advance_clock(interval) to service_role;

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
revoke all on function scrapeguard.freeze_clock(timestamptz) from public;
grant execute on function scrapeguard.freeze_clock(timestamptz) to service_role;

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
revoke all on function scrapeguard.reset_clock() from public;
grant execute on function scrapeguard.reset_clock() to service_role;
