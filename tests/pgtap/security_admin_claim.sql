-- Where the admin claim may come from: only app_metadata.role, exactly the string 'admin',
-- in the request's JWT. app_metadata is written with the service key only; everything
-- else in a JWT a signed-in user can shape (user_metadata is theirs to edit) or is not the
-- admin rule (the top-level role claim names the database role). So a JWT claiming
-- admin any other way reads nothing of scrapeguard's: every table in public shows no row,
-- the read functions return nothing, scrapeguard.is_admin() is false. The real admin
-- claim, checked the same way, sees everything (so "sees nothing" is not vacuous).
begin;
set local search_path = public, extensions;

-- Rows everywhere, written as the owner (RLS does not apply), so "no row" means hidden.
insert into public.event_sources (id, name, base_url)
values ('ad000000-0000-4000-8000-000000000001', 'Claim Source', 'https://claims.example');
insert into public.events (id, title, start_time, status)
values ('ad000000-0000-4000-8000-0000000000e1', 'Claim Event', '2026-12-24 20:00+08', 'draft');
select public.set_change_context(null, 'claim-seed');
update public.events set status = 'published' where id = 'ad000000-0000-4000-8000-0000000000e1';
select public.record_failure('ad000000-0000-4000-8000-000000000001', 'seed failure') from generate_series(1, 3);
select public.append_logs(public.start_run('ad000000-0000-4000-8000-000000000001', 'api'),
                          '[{"level": "info", "message": "seed"}]');
insert into public.event_source_keys (source_id, key, event_id, first_seen_at, last_seen_at)
values ('ad000000-0000-4000-8000-000000000001', 'https://claims.example/e1',
        'ad000000-0000-4000-8000-0000000000e1', now(), now());

-- scrapeguard's tables in public: everything there but the app's own objects (the base
-- tables, and the app stand-in's neighbours and view).
create temp table claim_tables on commit drop as
  select c.oid::regclass as tbl, c.relname::text as name
    from pg_catalog.pg_class c
   where c.relnamespace = 'public'::regnamespace and c.relkind in ('r', 'p', 'v')
     and c.relname not in ('events', 'event_sources', 'scrape_jobs', 'profiles',
                           'venues', 'categories', 'organizers', 'upcoming_events', 'event_favorites',
                           'event_status_log');

-- What a signed-in user's request sees: how many rows `query` returns run as
-- authenticated with these JWT claims (as PostgREST sets them), back as the owner after.
create function pg_temp.rows_seen(claims jsonb, query text) returns bigint language plpgsql as $$
declare
  n bigint;
begin
  perform pg_catalog.set_config('request.jwt.claims', claims::text, true);
  set local role authenticated;
  execute format('select count(*) from (%s) q', query) into n;
  reset role;
  perform pg_catalog.set_config('request.jwt.claims', '', true);
  return n;
end
$$;

-- The reads an admin may call, each as a query returning a row per thing seen.
create temp table claim_reads (label text, query text) on commit drop;
insert into claim_reads values
  ('scrapeguard.is_admin()', 'select where scrapeguard.is_admin()'),
  ('event_history', $$select * from public.event_history('ad000000-0000-4000-8000-0000000000e1')$$),
  ('event_as_of', $$select where (public.event_as_of('ad000000-0000-4000-8000-0000000000e1', scrapeguard.clock())).id is not null$$),
  ('events_as_of', $$select * from public.events_as_of(scrapeguard.clock())$$),
  ('fleet_health', $$select * from public.fleet_health()$$);

-- JWTs that must not make an admin. Each carries a sub, as a signed-in user's does.
create temp table forged (label text, claims jsonb) on commit drop;
insert into forged (label, claims) values
  ('user_metadata.role = admin',
   '{"role": "authenticated", "app_metadata": {"provider": "email"}, "user_metadata": {"role": "admin"}}'),
  ('user_metadata.role = admin, no app_metadata',
   '{"role": "authenticated", "user_metadata": {"role": "admin"}}'),
  ('user_metadata.app_metadata.role = admin',
   '{"role": "authenticated", "user_metadata": {"app_metadata": {"role": "admin"}}}'),
  ('top-level role = admin',
   '{"role": "admin", "app_metadata": {"provider": "email"}}'),
  ('top-level role = service_role',
   '{"role": "service_role", "app_metadata": {"provider": "email"}}'),
  ('top-level admin = true',
   '{"role": "authenticated", "admin": true, "is_admin": true}'),
  ('app_metadata.role = ["admin"]',
   '{"role": "authenticated", "app_metadata": {"role": ["admin"]}}'),
  ('app_metadata.role = {"admin": true}',
   '{"role": "authenticated", "app_metadata": {"role": {"admin": true}}}'),
  ('app_metadata.role = {"role": "admin"}',
   '{"role": "authenticated", "app_metadata": {"role": {"role": "admin"}}}'),
  ('app_metadata.role = 1',
   '{"role": "authenticated", "app_metadata": {"role": 1}}'),
  ('app_metadata.role = true',
   '{"role": "authenticated", "app_metadata": {"role": true}}'),
  ('app_metadata.role = "Admin"',
   '{"role": "authenticated", "app_metadata": {"role": "Admin"}}'),
  ('app_metadata.role = "ADMIN"',
   '{"role": "authenticated", "app_metadata": {"role": "ADMIN"}}'),
  ('app_metadata.role = " admin "',
   '{"role": "authenticated", "app_metadata": {"role": " admin "}}'),
  ('app_metadata.roles = ["admin"]',
   '{"role": "authenticated", "app_metadata": {"roles": ["admin"]}}'),
  ('app_metadata.admin = true',
   '{"role": "authenticated", "app_metadata": {"admin": true}}'),
  ('app_metadata.claims.role = admin (nested)',
   '{"role": "authenticated", "app_metadata": {"claims": {"role": "admin"}}}'),
  ('app_metadata = "admin"',
   '{"role": "authenticated", "app_metadata": "admin"}'),
  ('app_metadata = [{"role": "admin"}]',
   '{"role": "authenticated", "app_metadata": [{"role": "admin"}]}'),
  ('App_Metadata.role = admin (another key)',
   '{"role": "authenticated", "App_Metadata": {"role": "admin"}}'),
  ('app_metadata missing',
   '{"role": "authenticated"}'),
  ('app_metadata = null',
   '{"role": "authenticated", "app_metadata": null}'),
  ('no claims at all',
   '{}');
update forged set claims = claims || '{"sub": "0d9c1a52-7f3e-4d6b-9a41-5b8e2c7f0a11"}' where claims <> '{}';

-- The admin claim as Supabase issues it (app_metadata also holds the provider).
create temp table admin_claims (label text, claims jsonb) on commit drop;
insert into admin_claims values
  ('app_metadata.role = admin',
   '{"role": "authenticated", "sub": "6f1c4c46-3b1a-4f0e-9a57-0c7f5c2e9d11",
     "app_metadata": {"provider": "email", "providers": ["email"], "role": "admin"}}');

select plan(
  1
  + (select count(*)::int from forged) * ((select count(*)::int from claim_tables) + (select count(*)::int from claim_reads))
  + (select count(*)::int from admin_claims) * ((select count(*)::int from claim_tables) + (select count(*)::int from claim_reads))
);

select ok((select count(*) from claim_tables) >= 5, 'the checks cover the scrapeguard tables');

-- Forged: nothing.
select is(pg_temp.rows_seen(f.claims, format('select 1 from %s', t.tbl)), 0::bigint,
          format('%s: %s shows no row', f.label, t.name))
  from forged f cross join claim_tables t;
select is(pg_temp.rows_seen(f.claims, r.query), 0::bigint, format('%s: %s gives nothing', f.label, r.label))
  from forged f cross join claim_reads r;

-- The real claim: everything.
select cmp_ok(pg_temp.rows_seen(a.claims, format('select 1 from %s', t.tbl)), '>', 0::bigint,
              format('%s: %s shows its rows', a.label, t.name))
  from admin_claims a cross join claim_tables t;
select cmp_ok(pg_temp.rows_seen(a.claims, r.query), '>', 0::bigint, format('%s: %s gives its rows', a.label, r.label))
  from admin_claims a cross join claim_reads r;

select * from finish();
rollback;
