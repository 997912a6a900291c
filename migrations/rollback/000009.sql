-- Down script of 000009 (event revisions): removes the revision triggers from
-- public.events (leaving the table exactly as it was) and everything the draft
-- created. The foreign key from run_id to scraping_runs goes with the table,
-- whichever of the two migrations added it.
drop trigger if exists scrapeguard_event_revisions_update on public.events;
drop trigger if exists scrapeguard_event_revisions_insert_delete on public.events;
drop trigger if exists scrapeguard_event_revisions_truncate on public.events;

do $realtime$
begin
  if to_regclass('public.event_revisions') is not null
     and exists (select from pg_catalog.pg_publication_rel pr
                   join pg_catalog.pg_publication p on p.oid = pr.prpubid
                  where p.pubname = 'supabase_realtime'
                    and pr.prrelid = 'public.event_revisions'::regclass) then
    alter publication supabase_realtime drop table public.event_revisions;
  end if;
end
$realtime$;

drop function if exists public.prune_event_revisions(integer, interval);
drop function if exists public.events_as_of(timestamptz);
drop function if exists public.event_as_of(uuid, timestamptz);
drop function if exists public.event_history(uuid);
drop function if exists public.set_change_context(uuid, text);
drop function if exists scrapeguard.event_revisions_on_update();
drop function if exists scrapeguard.event_revisions_on_insert_delete();
drop function if exists scrapeguard.event_revisions_on_truncate();
drop function if exists scrapeguard.current_change_actor();
drop function if exists scrapeguard.current_change_run_id();
drop table if exists scrapeguard.revision_noise_columns;
drop function if exists scrapeguard.revision_noise_columns_changed();
drop function if exists scrapeguard.refresh_event_revision_trigger();
drop function if exists scrapeguard.sql_function_expression(regprocedure);
drop function if exists scrapeguard.event_revision_columns();
drop function if exists scrapeguard.type_has_equality(oid);
drop table if exists public.event_revisions;
