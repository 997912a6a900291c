-- Supabase-compatibility shim for a plain PostgreSQL (>= 15).
--
-- Never part of a committed migration and never run on Supabase: the project's
-- scripts skip it when the database already has Supabase's own pieces, and every
-- statement below creates something only where it is missing, so even a stray
-- run on a Supabase-like database replaces nothing.
--
-- It reproduces what scrapeguard's migrations and tests depend on:
--   * roles anon, authenticated, service_role (BYPASSRLS) and authenticator;
--   * schema auth with a minimal auth.users and auth.uid()/auth.role()/auth.jwt(),
--     which read the request.jwt.claims setting the way PostgREST sets it;
--   * schema extensions (Supabase installs extensions there);
--   * Supabase's default privileges: anon/authenticated/service_role get ALL on
--     new tables and sequences and EXECUTE on new functions in public. This is
--     the real risk scrapeguard must defend against, so the shim must have it;
--   * the supabase_realtime publication.
--
-- Must be run by a superuser (it creates roles with BYPASSRLS). It is also
-- graphile-migrate's afterReset action (root: true), so the shadow database used
-- by `graphile-migrate watch`/`commit` looks like Supabase.

do $shim$
begin
  if to_regrole('anon') is null then
    create role anon nologin noinherit;
  end if;
  if to_regrole('authenticated') is null then
    create role authenticated nologin noinherit;
  end if;
  if to_regrole('service_role') is null then
    create role service_role nologin noinherit bypassrls;
  end if;
  if to_regrole('authenticator') is null then
    create role authenticator login noinherit;
  end if;
end
$shim$;

-- PostgREST switches from authenticator into these roles.
grant anon, authenticated, service_role to authenticator;


create schema if not exists auth;
create schema if not exists extensions;
grant usage on schema public to anon, authenticated, service_role;
grant usage on schema auth to anon, authenticated, service_role;
grant usage on schema extensions to anon, authenticated, service_role;

create table if not exists auth.users (
  id uuid primary key default gen_random_uuid(),
  email text unique,
  raw_app_meta_data jsonb not null default '{}'::jsonb,
  raw_user_meta_data jsonb not null default '{}'::jsonb,
  created_at timestamptz not null default now()
);

do $shim$
begin
  -- The claims PostgREST puts in request.jwt.claims for the current request.
  if to_regprocedure('auth.jwt()') is null then
    create function auth.jwt() returns jsonb
      language sql stable
      set search_path = ''
    as $fn$
      select coalesce(
        nullif(current_setting('request.jwt.claim', true), ''),
        nullif(current_setting('request.jwt.claims', true), '')
      )::jsonb
    $fn$;
  end if;
  if to_regprocedure('auth.uid()') is null then
    create function auth.uid() returns uuid
      language sql stable
      set search_path = ''
    as $fn$
      select coalesce(
        nullif(current_setting('request.jwt.claim.sub', true), ''),
        nullif(current_setting('request.jwt.claims', true), '')::jsonb ->> 'sub'
      )::uuid
    $fn$;
  end if;
  if to_regprocedure('auth.role()') is null then
    create function auth.role() returns text
      language sql stable
      set search_path = ''
    as $fn$
      select coalesce(
        nullif(current_setting('request.jwt.claim.role', true), ''),
        nullif(current_setting('request.jwt.claims', true), '')::jsonb ->> 'role'
      )
    $fn$;
  end if;
end
$shim$;

-- On Supabase the `postgres` role (dashboard, migrations) may assume the API roles
-- and reads and references auth.users (e.g. profiles.id -> auth.users.id).
do $shim$
begin
  if to_regrole('postgres') is not null then
    grant anon, authenticated, service_role to postgres;
    grant usage on schema auth to postgres;
    grant all on table auth.users to postgres;
  end if;
end
$shim$;

-- Supabase's default privileges for objects the migration role creates in public.
alter default privileges in schema public grant all on tables to anon, authenticated, service_role;
alter default privileges in schema public grant all on sequences to anon, authenticated, service_role;
alter default privileges in schema public grant all on functions to anon, authenticated, service_role;

do $shim$
begin
  -- The shim runs as a superuser; migrations run as `postgres` where that role
  -- exists, so the same defaults must hold for objects `postgres` creates.
  if to_regrole('postgres') is not null and current_user <> 'postgres' then
    execute 'alter default privileges for role postgres in schema public grant all on tables to anon, authenticated, service_role';
    execute 'alter default privileges for role postgres in schema public grant all on sequences to anon, authenticated, service_role';
    execute 'alter default privileges for role postgres in schema public grant all on functions to anon, authenticated, service_role';
  end if;
  if not exists (select from pg_catalog.pg_publication where pubname = 'supabase_realtime') then
    create publication supabase_realtime;
    -- On Supabase the migration role owns it, so migrations can add their tables.
    if to_regrole('postgres') is not null then
      alter publication supabase_realtime owner to postgres;
    end if;
  end if;
end
$shim$;
