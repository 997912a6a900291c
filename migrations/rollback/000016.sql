-- Down script of the migration in migrations/current.sql: header_run_id() and
-- current_change_run_id() as they were (schema/ before this migration: both VOLATILE, the
-- per-statement cache in scrapeguard.header_run, the role tested in the rule), then the
-- revision triggers regenerated with that rule (they embed current_change_run_id()'s body);
-- ingest_events without its own enable_memoize.

alter function public.ingest_events(uuid, jsonb, boolean, text) reset enable_memoize;

CREATE OR REPLACE FUNCTION scrapeguard.header_run_id()
 RETURNS uuid
 LANGUAGE plpgsql
 SET search_path TO ''
AS $function$
declare
  -- Types schema-qualified: the revision triggers (SECURITY DEFINER) call this, and an
  -- unqualified type name is looked up in the caller's temporary schema first.
  v_headers pg_catalog.text := pg_catalog.current_setting('request.headers', true);
  v_at pg_catalog.text := pg_catalog.statement_timestamp()::pg_catalog.text;
  v_cache pg_catalog.text := pg_catalog.current_setting('scrapeguard.header_run', true);
  v_rest pg_catalog.text;
  v_id pg_catalog.text;
  v_running boolean;
begin
  v_rest := pg_catalog.ltrim(pg_catalog.substr(v_headers, pg_catalog.strpos(v_headers, '"x-scrapeguard-run-id"') + 22, 64), ' ');
  if coalesce(pg_catalog.strpos(v_headers, '"x-scrapeguard-run-id"'), 0) = 0
     or pg_catalog.left(v_rest, 1) is distinct from ':' then
    return null;
  end if;
  v_rest := pg_catalog.ltrim(pg_catalog.substr(v_rest, 2), ' ');
  v_id := pg_catalog.substr(v_rest, 2, 36);
  if not coalesce(v_rest like '"________-____-____-____-____________"%'
                  and v_id operator(pg_catalog.~) '^[0-9A-Fa-f-]+$'
                  and pg_catalog.length(pg_catalog.replace(v_id, '-', '')) = 32, false) then
    return null;
  end if;
  if v_cache = v_id || '+' || v_at then
    return v_id::pg_catalog.uuid;
  end if;
  if v_cache = v_id || '-' || v_at then
    return null;
  end if;
  v_running := exists (select from public.scraping_runs r where r.id = v_id::pg_catalog.uuid and r.status = 'running');
  perform pg_catalog.set_config('scrapeguard.header_run', v_id || case when v_running then '+' else '-' end || v_at, true);
  return case when v_running then v_id::pg_catalog.uuid end;
end
$function$;
comment on function scrapeguard.header_run_id() is
  'The running run named by the request header x-scrapeguard-run-id, else null (malformed, unknown or finished); looked up once per statement. Used by current_change_run_id(), which checks the role first.';
revoke all on function scrapeguard.header_run_id() from public, anon, authenticated;
grant execute on function scrapeguard.header_run_id() to service_role;

CREATE OR REPLACE FUNCTION scrapeguard.current_change_run_id()
 RETURNS uuid
 LANGUAGE sql
 SET search_path TO ''
AS $function$
  select coalesce(
    nullif(pg_catalog.current_setting('scrapeguard.run_id', true), '')::pg_catalog.uuid,
    case
      when pg_catalog.strpos(pg_catalog.current_setting('request.headers', true), '"x-scrapeguard-run-id"') > 0
       and pg_catalog.current_setting('role') in ('service_role', 'none')
      then scrapeguard.header_run_id()
    end)
$function$;
comment on function scrapeguard.current_change_run_id() is
  'The scraping run of the current change: set_change_context''s run for this transaction, else (requests as service_role) the running run named by the request header x-scrapeguard-run-id (looked up once per statement), else null. An unknown, malformed or finished run in the header is ignored.';
revoke all on function scrapeguard.current_change_run_id() from public, anon, authenticated;
grant execute on function scrapeguard.current_change_run_id() to service_role;

select scrapeguard.refresh_event_revision_trigger();
