-- Down script of 000004 (event revisions): removes the revision triggers from
-- public.events (leaving the table exactly as it was) and everything 000004
-- created. The foreign key from run_id to scraping_runs goes with the table.
drop trigger if exists _scrapeguard_event_revisions_update on public.events;
drop trigger if exists _scrapeguard_event_revisions_insert_delete on public.events;
drop trigger if exists _scrapeguard_event_revisions_truncate on public.events;

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
drop function if exists scrapeguard.revision_truncate_body(text[]);
drop function if exists scrapeguard.revision_update_body(text[], text[], text[], text[], text, text, text);
drop function if exists scrapeguard.revision_insert_delete_body(text[], text, text, text);
drop function if exists scrapeguard.revision_snapshot_sql(text, text, text, text, text, text, text);
drop function if exists scrapeguard.revision_field_check_sql(text, boolean, boolean);
drop function if exists scrapeguard.revision_when_sql(text[], text[]);
drop function if exists scrapeguard.revision_changed_sql(text, boolean);
drop function if exists scrapeguard.carry_over_renamed_event_columns();
drop function if exists scrapeguard.renamed_keys(jsonb, jsonb);
drop table if exists scrapeguard.event_column_names;
drop function if exists scrapeguard.function_body_expression(regprocedure);
drop function if exists scrapeguard.event_revision_columns();
drop function if exists scrapeguard.event_row_image_sql(text, text[]);
drop function if exists scrapeguard.type_recorded_as_text(oid);
drop function if exists scrapeguard.type_has_equality(oid);
-- The CHECK, then the function it calls (which takes the table's row type), then the table.
do $check$
begin
  if to_regclass('public.event_revisions') is not null then
    alter table public.event_revisions drop constraint if exists event_revisions_well_formed;
  end if;
end
$check$;
drop function if exists scrapeguard.event_revision_is_well_formed(public.event_revisions);
drop table if exists public.event_revisions;
