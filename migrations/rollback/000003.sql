-- Down script of 000003 (scraping runs and logs): removes everything it created, so the
-- catalog is exactly as before it ran. Tables detached by
-- drop_expired_logs(detach_only => true) are archives and are left alone.

-- pg_cron jobs (only where pg_cron exists and the jobs were scheduled).
do $cron$
declare
  job text;
begin
  if to_regclass('cron.job') is not null and to_regprocedure('cron.unschedule(text)') is not null then
    for job in
      execute $q$select jobname from cron.job
                  where jobname in ('scrapeguard-ensure-log-partitions', 'scrapeguard-drop-expired-logs',
                                    'scrapeguard-prune-runs')$q$
    loop
      execute 'select cron.unschedule($1)' using job;
    end loop;
  end if;
end
$cron$;

drop function if exists public.fleet_health(integer, interval, timestamptz);
drop function if exists scrapeguard.fleet_sources();
drop function if exists public.append_logs(uuid, jsonb);
drop function if exists public.finish_run(uuid, text, numeric, integer, integer, integer, integer, integer, text, text, jsonb);
drop function if exists public.start_run(uuid, text, uuid, text, jsonb);
drop function if exists scrapeguard.schedule_maintenance();
drop function if exists scrapeguard.prune_runs(interval);
drop function if exists scrapeguard.drop_expired_logs(interval, boolean);
drop function if exists scrapeguard.ensure_log_partitions(interval);
drop function if exists scrapeguard.is_timestamptz(text);

-- Dropping the parent drops every partition with it, wherever it lives.
drop table if exists public.scraping_logs;
drop function if exists scrapeguard.log_partitions();

do $pub$
begin
  if exists (
    select from pg_catalog.pg_publication_rel pr
      join pg_catalog.pg_publication p on p.oid = pr.prpubid
     where p.pubname = 'supabase_realtime' and pr.prrelid = to_regclass('public.scraping_runs'))
  then
    alter publication supabase_realtime drop table public.scraping_runs;
  end if;
end
$pub$;

drop table if exists public.scraping_runs;
drop function if exists scrapeguard.check_run_job_source();
