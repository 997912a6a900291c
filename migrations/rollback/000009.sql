-- Down script of the migration in migrations/current.sql: no ingest_events, no source
-- keys, runs without counts while running, finish_run overwriting the counts, and the
-- run of a change from the change context only. The functions come back exactly as
-- they were before (schema/ before this migration).

drop function if exists public.ingest_events(uuid, jsonb, boolean, text);
drop function if exists scrapeguard.ingest_item_error(text);
drop table if exists public.event_source_keys;

-- A running run had no counts before this migration: counts ingest_events gave running
-- runs are cleared so that the constraint holds again (finished runs keep theirs).
update public.scraping_runs
   set events_found = 0, events_created = 0, events_updated = 0, events_skipped = 0, events_failed = 0
 where status = 'running'
   and (events_found, events_created, events_updated, events_skipped, events_failed) <> (0, 0, 0, 0, 0);
alter table public.scraping_runs drop constraint if exists scraping_runs_running_has_no_outcome;
alter table public.scraping_runs
  add constraint scraping_runs_running_has_no_outcome
    check (status <> 'running'
           or (field_coverage is null and error_code is null and error_message is null
               and events_found = 0 and events_created = 0 and events_updated = 0
               and events_skipped = 0 and events_failed = 0));

CREATE OR REPLACE FUNCTION public.finish_run(run_id uuid, status text, field_coverage numeric DEFAULT NULL::numeric, events_found integer DEFAULT 0, events_created integer DEFAULT 0, events_updated integer DEFAULT 0, events_skipped integer DEFAULT 0, events_failed integer DEFAULT 0, error_code text DEFAULT NULL::text, error_message text DEFAULT NULL::text, metadata jsonb DEFAULT NULL::jsonb)
 RETURNS public.scraping_runs
 LANGUAGE plpgsql
 SET search_path TO ''
AS $function$
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
$function$;
comment on function public.finish_run(uuid,text,numeric,integer,integer,integer,integer,integer,text,text,jsonb) is
  'Closes a running run once: status, counts, coverage, error; finished_at = clock(); metadata merged into start_run''s. Notifies channel scrapeguard_runs.';

CREATE OR REPLACE FUNCTION scrapeguard.current_change_run_id()
 RETURNS uuid
 LANGUAGE sql
 STABLE
 SET search_path TO ''
AS $function$
  select nullif(pg_catalog.current_setting('scrapeguard.run_id', true), '')::pg_catalog.uuid
$function$;
comment on function scrapeguard.current_change_run_id() is
  'The scraping run set by set_change_context for this transaction, or null.';

-- The revision triggers embed current_change_run_id()'s body: regenerate them.
select scrapeguard.refresh_event_revision_trigger();
