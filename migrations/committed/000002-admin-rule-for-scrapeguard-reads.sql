--! Previous: sha1:f37791f3c3e3d714480cf75318c0230dba00e916
--! Hash: sha1:b79eac29bffef7ae192ef7f55a17796fc86a28ed
--! Message: admin rule for scrapeguard reads

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
