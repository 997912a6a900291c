-- Down script of 000015: carry_over_renamed_event_columns() as 000014 wrote it.
-- History already set aside as "<name> (dropped <id>)" keeps that name.

create or replace function scrapeguard.carry_over_renamed_event_columns() returns integer
  language plpgsql
  volatile
  set search_path = ''
as $$
declare
  v_events pg_catalog.oid := 'public.events'::pg_catalog.regclass;
  v_renames pg_catalog.jsonb;
  v_from pg_catalog.text[];
  v_to pg_catalog.text[];
  v_noise pg_catalog.jsonb;
  v_count pg_catalog.int4;
begin
  -- One at a time, and never next to a pruning (which rewrites whole-row images by
  -- name): the same lock as prune_event_revisions.
  perform pg_catalog.pg_advisory_xact_lock(pg_catalog.hashtextextended('scrapeguard.prune_event_revisions', 0));

  -- Renamed: the same attribute number of the same table under another name. Names
  -- recorded for another table (events dropped and created again, or a dump restored,
  -- which numbers the columns afresh) say nothing about renames.
  select pg_catalog.jsonb_object_agg(s.column_name, a.attname::pg_catalog.text),
         pg_catalog.array_agg(s.column_name), pg_catalog.array_agg(a.attname::pg_catalog.text)
    into v_renames, v_from, v_to
    from scrapeguard.event_column_names s
    join pg_catalog.pg_attribute a
      on a.attrelid = v_events and a.attnum = s.attnum and not a.attisdropped
   where s.events_oid = v_events
     and a.attname::pg_catalog.text <> s.column_name;
  v_count := coalesce(pg_catalog.cardinality(v_from), 0);

  if v_count > 0 then
    -- Update rows under a new name that no renamed column had are the history of a
    -- dropped column that had that name: set aside under "<name> (dropped)", so that
    -- they neither read as the renamed column's values nor collide with its rows.
    update public.event_revisions r
       set field_name = r.field_name || ' (dropped)'
     where r.operation = 'update'
       and r.field_name = any (v_to)
       and not r.field_name = any (v_from);
    -- Then the renamed columns' rows, through names no column has (a swap or a chain
    -- would otherwise meet itself in the unique (event_id, revision, field_name) index
    -- when one revision changed both columns).
    update public.event_revisions r
       set field_name = pg_catalog.chr(1) || (v_renames ->> r.field_name)
     where r.operation = 'update' and r.field_name = any (v_from);
    update public.event_revisions r
       set field_name = pg_catalog.substr(r.field_name, 2)
     where r.operation = 'update'
       and pg_catalog.left(r.field_name, 1) = pg_catalog.chr(1)
       and pg_catalog.substr(r.field_name, 2) = any (v_to);
    update public.event_revisions r
       set old_value = scrapeguard.renamed_keys(r.old_value, v_renames),
           new_value = scrapeguard.renamed_keys(r.new_value, v_renames)
     where r.operation <> 'update'
       and (r.old_value ?| v_from or r.new_value ?| v_from);
  end if;

  -- Record the names when they changed (not at every refresh: concurrent refreshes
  -- would rewrite the same rows), before the noise setting below runs the refresh
  -- again (its statement trigger), which must then find nothing to carry.
  if exists (select from scrapeguard.event_column_names s
              where s.events_oid is distinct from v_events
                 or not exists (select from pg_catalog.pg_attribute a
                                 where a.attrelid = v_events and a.attnum = s.attnum and not a.attisdropped
                                   and a.attname::pg_catalog.text = s.column_name))
     or exists (select from pg_catalog.pg_attribute a
                 where a.attrelid = v_events and a.attnum > 0 and not a.attisdropped
                   and not exists (select from scrapeguard.event_column_names s
                                    where s.events_oid = v_events and s.attnum = a.attnum)) then
    delete from scrapeguard.event_column_names;
    insert into scrapeguard.event_column_names (attnum, column_name, events_oid)
    select a.attnum, a.attname::pg_catalog.text, v_events
      from pg_catalog.pg_attribute a
     where a.attrelid = v_events and a.attnum > 0 and not a.attisdropped;
  end if;

  -- Noise follows the column: a renamed noise column stays noise under its new name,
  -- and a renamed tracked column stays tracked even where an entry for its new name
  -- was left behind by a column dropped under that name. (Each statement on the
  -- noise table runs the refresh again through its statement trigger.)
  if v_count > 0 and exists (select from scrapeguard.revision_noise_columns n
                              where n.column_name = any (v_from) or n.column_name = any (v_to)) then
    select pg_catalog.jsonb_object_agg(v_renames ->> n.column_name, n.reason)
      into v_noise
      from scrapeguard.revision_noise_columns n
     where n.column_name = any (v_from);
    delete from scrapeguard.revision_noise_columns n
     where n.column_name = any (v_from) or n.column_name = any (v_to);
    insert into scrapeguard.revision_noise_columns (column_name, reason)
    select e.key, e.value from pg_catalog.jsonb_each_text(coalesce(v_noise, '{}'::pg_catalog.jsonb)) e;
  end if;
  return v_count;
end
$$;
comment on function scrapeguard.carry_over_renamed_event_columns() is
  'Moves the revision history (and noise setting) of columns of public.events renamed since the last refresh to their new names; returns how many were renamed.';

select scrapeguard.refresh_event_revision_trigger();
