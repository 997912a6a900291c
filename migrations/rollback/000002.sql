-- Down script of 000002 (access helpers).
drop function if exists scrapeguard.is_admin();
revoke usage on schema scrapeguard from authenticated, service_role;
