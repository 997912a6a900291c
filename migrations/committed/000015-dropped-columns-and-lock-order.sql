--! Previous: sha1:9d99b7d938668cdcdb8854d913d93a3c3a742a5e
--! Hash: sha1:20e1b14b51b7b329a7367ffe4f7417dbf4316962
--! Message: dropped columns and lock order

-- Renamed and dropped columns, once more (carry_over_renamed_event_columns, which
-- every refresh runs first):
--   * a dropped column's history is set aside at the next refresh (update rows renamed
--     "<name> (dropped <row id>)", its key removed from whole-row images), so a column
--     added or renamed later under its name starts without it; the row id keeps the
--     names unique however often a name is reused (a second reuse failed on the unique
--     index);
--   * locks in one order, events then the pruning lock, and only when there is
--     something to carry: a refresh holding the pruning lock while waiting for events
--     deadlocked with a rename holding events while waiting for the pruning lock;
--   * refuses (55000) to carry history in a REPEATABLE READ or SERIALIZABLE
--     transaction, whose snapshot would miss revisions committed while it waited;
--   * noise entries under a renamed column's new name stay unless a dropped column
--     left them (an operator's own entry was deleted).

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
  v_dropped pg_catalog.text[];
  v_noise pg_catalog.jsonb;
  v_count pg_catalog.int4;
  v_names_changed boolean;
begin
  for v_pass in 1..2 loop
    -- Renamed: the same attribute number of the same table under another name.
    -- Dropped: a recorded attribute number the table no longer has. Names recorded
    -- for another events table (dropped and created again, or a dump restored, which
    -- numbers the columns afresh) say nothing about either.
    select pg_catalog.jsonb_object_agg(s.column_name, a.attname::pg_catalog.text),
           pg_catalog.array_agg(s.column_name), pg_catalog.array_agg(a.attname::pg_catalog.text)
      into v_renames, v_from, v_to
      from scrapeguard.event_column_names s
      join pg_catalog.pg_attribute a
        on a.attrelid = v_events and a.attnum = s.attnum and not a.attisdropped
     where s.events_oid = v_events
       and a.attname::pg_catalog.text <> s.column_name;
    select pg_catalog.array_agg(s.column_name)
      into v_dropped
      from scrapeguard.event_column_names s
     where s.events_oid = v_events
       and not exists (select from pg_catalog.pg_attribute a
                        where a.attrelid = v_events and a.attnum = s.attnum and not a.attisdropped);
    v_count := coalesce(pg_catalog.cardinality(v_from), 0);
    v_names_changed := v_count > 0 or v_dropped is not null
      or exists (select from scrapeguard.event_column_names s where s.events_oid is distinct from v_events)
      or exists (select from pg_catalog.pg_attribute a
                  where a.attrelid = v_events and a.attnum > 0 and not a.attisdropped
                    and not exists (select from scrapeguard.event_column_names s
                                     where s.events_oid = v_events and s.attnum = a.attnum));
    if not v_names_changed then
      return 0;  -- the common case: nothing to carry, nothing locked
    end if;
    exit when v_pass = 2;
    -- Work to do: lock in one order, events first (a rename holds it already), then
    -- the pruning lock (prune_event_revisions rewrites whole-row images by name), so
    -- that a refresh never waits for events while holding the pruning lock; then look
    -- again under the locks.
    lock table public.events in share row exclusive mode;
    perform pg_catalog.pg_advisory_xact_lock(pg_catalog.hashtextextended('scrapeguard.prune_event_revisions', 0));
  end loop;

  if (v_count > 0 or v_dropped is not null)
     and pg_catalog.current_setting('transaction_isolation') <> 'read committed' then
    -- A snapshot older than the locks would miss revisions committed while waiting.
    raise exception 'scrapeguard: carrying revision history over renamed or dropped columns needs a READ COMMITTED transaction (this one is %)',
      pg_catalog.current_setting('transaction_isolation')
      using errcode = '55000',
            hint = 'Run the ALTER TABLE and refresh_event_revision_trigger() at READ COMMITTED, the default.';
  end if;

  -- A dropped column's history is set aside, so that a column added or renamed later
  -- under its name does not read it as its own: its update rows get a name no column
  -- has ("<name> (dropped <row id>)", unique however often the name is reused), and
  -- its key leaves the whole-row images.
  if v_dropped is not null then
    update public.event_revisions r
       set field_name = pg_catalog.format('%s (dropped %s)', r.field_name, r.id)
     where r.operation = 'update' and r.field_name = any (v_dropped);
    update public.event_revisions r
       set old_value = r.old_value - v_dropped,
           new_value = r.new_value - v_dropped
     where r.operation <> 'update'
       and (r.old_value ?| v_dropped or r.new_value ?| v_dropped);
  end if;

  if v_count > 0 then
    -- Update rows under a new name that no renamed column had (a column dropped before
    -- the names were recorded): set aside the same way.
    update public.event_revisions r
       set field_name = pg_catalog.format('%s (dropped %s)', r.field_name, r.id)
     where r.operation = 'update'
       and r.field_name = any (v_to)
       and not r.field_name = any (v_from);
    -- The renamed columns' rows, through names no column has (a swap or a chain would
    -- otherwise meet itself in the unique (event_id, revision, field_name) index when
    -- one revision changed both columns).
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
       and (r.old_value ?| v_from or r.new_value ?| v_from or r.old_value ?| v_to or r.new_value ?| v_to);
  end if;

  -- Record the names, before the noise setting below runs the refresh again (its
  -- statement trigger), which must then find nothing to carry.
  delete from scrapeguard.event_column_names;
  insert into scrapeguard.event_column_names (attnum, column_name, events_oid)
  select a.attnum, a.attname::pg_catalog.text, v_events
    from pg_catalog.pg_attribute a
   where a.attrelid = v_events and a.attnum > 0 and not a.attisdropped;

  -- Noise follows the column: a renamed noise column's entry moves to its new name,
  -- and an entry left under the new name by a dropped column goes (a renamed tracked
  -- column stays tracked). Other entries are the operator's and stay.
  if v_count > 0 and exists (select from scrapeguard.revision_noise_columns n
                              where n.column_name = any (v_from)
                                 or (n.column_name = any (v_to) and n.column_name = any (coalesce(v_dropped, '{}')))) then
    select pg_catalog.jsonb_object_agg(v_renames ->> n.column_name, n.reason)
      into v_noise
      from scrapeguard.revision_noise_columns n
     where n.column_name = any (v_from);
    delete from scrapeguard.revision_noise_columns n
     where n.column_name = any (v_from)
        or (n.column_name = any (v_to) and n.column_name = any (coalesce(v_dropped, '{}')));
    insert into scrapeguard.revision_noise_columns (column_name, reason)
    select e.key, e.value from pg_catalog.jsonb_each_text(coalesce(v_noise, '{}'::pg_catalog.jsonb)) e
    on conflict (column_name) do nothing;
  end if;
  return v_count;
end
$$;
comment on function scrapeguard.carry_over_renamed_event_columns() is
  'Moves the revision history (and noise setting) of columns of public.events renamed since the last refresh to their new names, and sets aside the history of dropped columns; returns how many were renamed.';

select scrapeguard.refresh_event_revision_trigger();
