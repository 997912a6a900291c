-- scrapeguard migration 000002 (exported from migrations/committed/000002-admin-rule-for-scrapeguard-reads.sql by npm run export:supabase).
-- Down script: migrations/rollback/000002.sql

-- Access helpers shared by every scrapeguard table.
--
-- Who may read scrapeguard data: the service role (bypasses RLS, does everything)
-- and admins, who only read. An admin is a signed-in user whose JWT carries
-- app_metadata.role = 'admin'. app_metadata is writable only with the service
-- key (unlike user_metadata, which users edit themselves), and profiles has no
-- role column (and scrapeguard never alters app tables), so the JWT is the one
-- place this can live.

grant usage on schema scrapeguard to authenticated, service_role;

create or replace function scrapeguard.is_admin() returns boolean
  language sql
  stable
  set search_path = ''
as $$
  select coalesce((auth.jwt() -> 'app_metadata' ->> 'role') = 'admin', false)
$$;

comment on function scrapeguard.is_admin() is
  'True when the request''s JWT has app_metadata.role = ''admin''. Use in policies as (select scrapeguard.is_admin()) so it is evaluated once per statement.';

-- Functions are executable by PUBLIC unless revoked; only policies (evaluated as
-- the querying role) and the service role need this one.
revoke all on function scrapeguard.is_admin() from public;
grant execute on function scrapeguard.is_admin() to authenticated, service_role;
