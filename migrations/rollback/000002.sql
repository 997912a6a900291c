-- Down script of 000002 (circuit breaker): removes everything it created, so the
-- catalog is exactly as before. The functions go first (they use the state table's
-- row type), then the realtime membership, then the tables, then the domains.
drop function if exists public.configure_breaker(uuid, integer, interval, numeric, interval, numeric, interval);
drop function if exists public.reset_breaker(uuid);
drop function if exists public.force_breaker(uuid, text);
drop function if exists public.record_failure(uuid, text, uuid);
drop function if exists public.record_success(uuid, uuid);
drop function if exists public.acquire_permit(uuid, text);
drop function if exists scrapeguard.breaker_worker();
drop function if exists scrapeguard.breaker_log(public.circuit_breaker_state, text, text, uuid, text);
drop function if exists scrapeguard.breaker_open_until(timestamptz, interval, numeric, interval, numeric, integer);
drop function if exists scrapeguard.breaker_ensure(uuid);

do $publication$
begin
  if to_regclass('public.circuit_breaker_state') is not null and exists (
       select
         from pg_catalog.pg_publication_rel pr
         join pg_catalog.pg_publication p on p.oid = pr.prpubid
        where p.pubname = 'supabase_realtime'
          and pr.prrelid = 'public.circuit_breaker_state'::pg_catalog.regclass)
  then
    alter publication supabase_realtime drop table public.circuit_breaker_state;
  end if;
end
$publication$;

drop table if exists public.circuit_breaker_transitions;
drop table if exists public.circuit_breaker_state;

drop domain if exists scrapeguard.breaker_lease;
drop domain if exists scrapeguard.breaker_jitter;
drop domain if exists scrapeguard.breaker_multiplier;
drop domain if exists scrapeguard.breaker_duration;
drop domain if exists scrapeguard.breaker_threshold;
drop domain if exists scrapeguard.breaker_error;
drop domain if exists scrapeguard.breaker_count;
drop domain if exists scrapeguard.breaker_state;
