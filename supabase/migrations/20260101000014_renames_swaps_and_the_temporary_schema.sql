-- scrapeguard migration 000014 (exported from migrations/committed/000014-renames-swaps-and-the-temporary-schema.sql by npm run export:supabase).
-- Down script: migrations/rollback/000014.sql

-- Renames, swaps and the temporary schema, once more.
--
--   1. scrapeguard.is_admin() reads the JWT claims itself instead of calling
--      auth.jwt(), whose body casts to an unqualified jsonb: called from the SECURITY
--      DEFINER fleet_sources(), a caller's pg_temp.jsonb domain ran as its owner.
--   2. "record" is a type name like any other: the SECURITY DEFINER
--      refresh_event_revision_trigger() and drop_expired_logs() declare their record
--      variables as pg_catalog.record.
--   3. Renamed columns (carry_over_renamed_event_columns):
--      * a swap or a chain of renames no longer fails on the unique
--        (event_id, revision, field_name) index when one revision changed both columns
--        (the rows move through names no column has);
--      * a rename onto the name of a column dropped earlier sets that column's update
--        rows aside as "<name> (dropped)" instead of reading them as the renamed
--        column's values;
--      * the noise setting follows the renamed column (a stale entry left for a dropped
--        column of the new name no longer turns a tracked column into noise);
--      * names recorded for another events table (dropped and created again, or a dump
--        restored, which numbers the columns afresh) are not read as renames;
--      * it takes pruning's lock, so a pruning cannot write images under old names
--        meanwhile, and two refreshes wait for each other instead of the second
--        failing; the names are rewritten only when they changed.
--   4. An array of arrays (a domain over an array type, in an array) is recorded as
--      its text form: to_jsonb nests it and the reads cannot give it back.
--   5. A request JWT whose sub is empty attributes the change to the role, as one
--      without a sub does.

create or replace function scrapeguard.is_admin() returns boolean
  language sql
  stable
  set search_path = ''
as $$
  select coalesce(
    (coalesce(nullif(pg_catalog.current_setting('request.jwt.claim', true), ''),
              nullif(pg_catalog.current_setting('request.jwt.claims', true), ''))::pg_catalog.jsonb
       -> 'app_metadata' ->> 'role') = 'admin',
    false)
$$;
comment on function scrapeguard.is_admin() is
  'True when the request''s JWT has app_metadata.role = ''admin'' (read from the claims as auth.jwt() reads them). Use in policies as (select scrapeguard.is_admin()) so it is evaluated once per statement.';

create or replace function scrapeguard.drop_expired_logs(
  keep interval default interval '30 days',
  detach_only boolean default false
) returns integer
  language plpgsql
  security definer
  set search_path = ''
  set lock_timeout = '5s'
as $$
declare
  cutoff pg_catalog.timestamptz;
  p pg_catalog.record;
  dropped integer := 0;
  stray bigint;
begin
  if keep is null or detach_only is null then
    raise exception 'drop_expired_logs: keep and detach_only must not be null' using errcode = '22004';
  end if;
  if keep <= interval '0' then
    raise exception 'drop_expired_logs: keep must be positive (got %)', keep using errcode = '22023';
  end if;
  cutoff := scrapeguard.clock() - keep;
  for p in
    select lp.partition from scrapeguard.log_partitions() lp
     where not lp.is_default and lp.upper_bound <= cutoff
     order by lp.lower_bound
  loop
    if detach_only then
      -- Left in schema scrapeguard (RLS on, no grants) for archiving; dropping it is up to the operator.
      execute pg_catalog.format('alter table public.scraping_logs detach partition %s', p.partition);
    else
      execute pg_catalog.format('drop table %s', p.partition);
    end if;
    dropped := dropped + 1;
  end loop;
  delete from scrapeguard.scraping_logs_default l where l.logged_at < cutoff;
  get diagnostics stray = row_count;
  if stray > 0 then
    raise notice 'drop_expired_logs: deleted % expired rows from the default partition', stray;
  end if;
  return dropped;
end
$$;


create or replace function scrapeguard.type_recorded_as_text(type_oid oid) returns boolean
  language plpgsql
  stable
  set search_path = ''
as $$
declare
  t pg_catalog.pg_type;
  e pg_catalog.pg_type;
  v_json pg_catalog.oid[] := array['pg_catalog.json'::pg_catalog.regtype, 'pg_catalog.jsonb'::pg_catalog.regtype]::pg_catalog.oid[];
begin
  select * into t from pg_catalog.pg_type where oid = type_oid;
  while t.typtype = 'd' loop
    select * into t from pg_catalog.pg_type where oid = t.typbasetype;
  end loop;
  if t.oid = any (v_json) then
    return false;
  end if;
  if t.typcategory = 'A' and t.typelem <> 0 then
    select * into e from pg_catalog.pg_type where oid = t.typelem;
    while e.typtype = 'd' loop
      select * into e from pg_catalog.pg_type where oid = e.typbasetype;
    end loop;
    -- An array of arrays (through a domain over an array type): to_jsonb nests them,
    -- and populate reads the nesting as one array of more dimensions.
    return e.oid = any (v_json) or (e.typcategory = 'A' and e.typelem <> 0)
        or scrapeguard.type_recorded_as_text(e.oid);
  end if;
  if t.typtype = 'c' then
    return exists (select from pg_catalog.pg_attribute a
                    where a.attrelid = t.typrelid and a.attnum > 0 and not a.attisdropped
                      and scrapeguard.type_recorded_as_text(a.atttypid));
  end if;
  return exists (select from pg_catalog.pg_cast c where c.castsource = t.oid and c.casttarget = any (v_json));
end
$$;
comment on function scrapeguard.type_recorded_as_text(oid) is
  'Whether event revisions record values of the type as their text form: to_jsonb of them would not read back as the same value (types with a cast to json such as hstore, arrays of json/jsonb, arrays and composites containing those).';

create or replace function scrapeguard.current_change_actor() returns text
  language sql
  stable
  set search_path = ''
as $$
  select coalesce(
    nullif(pg_catalog.current_setting('scrapeguard.actor', true), ''),
    nullif(pg_catalog.current_setting('request.jwt.claim.sub', true), ''),
    nullif(nullif(pg_catalog.current_setting('request.jwt.claims', true), '')::pg_catalog.jsonb ->> 'sub', ''),
    nullif(pg_catalog.current_setting('role'), 'none'),
    session_user)
$$;
comment on function scrapeguard.current_change_actor() is
  'Who is changing events: set_change_context''s actor, else the JWT''s sub (as text: any auth provider), else the role in effect.';

-- Which events table the names were recorded for.
-- (0, no table, for rows of an older scrapeguard; the names now are events' own.)
alter table scrapeguard.event_column_names add column if not exists events_oid oid not null default 0;
update scrapeguard.event_column_names set events_oid = 'public.events'::pg_catalog.regclass where events_oid = 0;
comment on column scrapeguard.event_column_names.events_oid is
  'The public.events table the names were recorded for; names recorded for another (recreated, restored) table are not renames.';

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

create or replace function scrapeguard.refresh_event_revision_trigger() returns boolean
  language plpgsql
  volatile
  security definer
  set search_path = ''
as $$
declare
  c pg_catalog.record;
  v_cond pg_catalog.text;
  v_conds pg_catalog.text[] := array['old.id is distinct from new.id'];
  v_checks pg_catalog.text := '';
  v_tracked pg_catalog.text[] := '{}';
  v_noise pg_catalog.text[] := '{}';
  v_text_form pg_catalog.text[] := '{}';
  v_clock pg_catalog.text;
  v_run pg_catalog.text;
  v_actor pg_catalog.text;
  v_snapshot pg_catalog.text;
  v_update_body pg_catalog.text;
  v_insert_delete_body pg_catalog.text;
  v_truncate_body pg_catalog.text;
  v_renamed integer;
begin
  if pg_catalog.to_regclass('public.events') is null then
    raise exception 'scrapeguard: public.events does not exist' using errcode = '42P01';
  end if;

  v_renamed := scrapeguard.carry_over_renamed_event_columns();

  v_clock := coalesce(scrapeguard.function_body_expression('scrapeguard.clock()'), 'scrapeguard.clock()');
  v_run := coalesce(scrapeguard.function_body_expression('scrapeguard.current_change_run_id()'),
                    'scrapeguard.current_change_run_id()');
  v_actor := coalesce(scrapeguard.function_body_expression('scrapeguard.current_change_actor()'),
                      'scrapeguard.current_change_actor()');

  for c in select * from scrapeguard.event_revision_columns() loop
    if c.recorded_as_text then
      v_text_form := v_text_form || c.column_name;
    end if;
    if c.column_name = 'id' then
      continue;
    end if;
    if not c.tracked then
      v_noise := v_noise || c.column_name;
      continue;
    end if;
    v_tracked := v_tracked || c.column_name;
    v_cond := case when c.compare_as_text
                   then pg_catalog.format('old.%1$I::pg_catalog.text is distinct from new.%1$I::pg_catalog.text', c.column_name)
                   else pg_catalog.format('old.%1$I is distinct from new.%1$I', c.column_name) end;
    v_conds := v_conds || v_cond;
    v_checks := v_checks || pg_catalog.format($chk$
  if %1$s then
    v_fields := v_fields || %2$L::pg_catalog.text;
    v_old := v_old || pg_catalog.to_jsonb(old.%3$I%4$s);
    v_new := v_new || pg_catalog.to_jsonb(new.%3$I%4$s);
  end if;$chk$,
      v_cond, c.column_name, c.column_name, case when c.recorded_as_text then '::pg_catalog.text' else '' end);
  end loop;

  -- A whole-row revision of record %1$s (old or new) as operation %2$s; %3$s and
  -- %4$s say where the row goes (old_value, new_value); %5$s is the clock, %6$s
  -- and %7$s the attribution expressions.
  v_snapshot := $snap$
    select coalesce(max(r.revision), 0) + 1, %5$s
      into v_rev, v_at
      from public.event_revisions r where r.event_id = %1$s.id;
    insert into public.event_revisions (event_id, revision, operation, old_value, new_value, changed_at, run_id, actor)
    values (%1$s.id, v_rev, %2$L, %3$s, %4$s, v_at, %6$s, %7$s);
    if pg_catalog.pg_notify('scrapeguard_event_changes',
         pg_catalog.format('{"event_id":"%%s","revision":%%s,"operation":"%2$s","fields":null}', %1$s.id, v_rev)) is null then
      null;  -- never: the IF only makes pg_notify a simple expression
    end if;$snap$;

  v_insert_delete_body := pg_catalog.format($tmpl$
-- Generated by scrapeguard.refresh_event_revision_trigger(); do not edit.
-- One whole-row revision per inserted or deleted event, so that a deleted event's
-- history keeps its last state. SECURITY DEFINER: see event_revisions_on_truncate().
declare
  v_rev pg_catalog.int4;
  v_at pg_catalog.timestamptz;
begin
  if tg_op = 'INSERT' then%1$s
  else%2$s
  end if;
  return null;
end
$tmpl$,
    pg_catalog.format(v_snapshot, 'new', 'insert', 'null', scrapeguard.event_row_image_sql('new', v_text_form),
                      v_clock, v_run, v_actor),
    pg_catalog.format(v_snapshot, 'old', 'delete', scrapeguard.event_row_image_sql('old', v_text_form), 'null',
                      v_clock, v_run, v_actor));

  v_update_body := pg_catalog.format($tmpl$
-- Generated by scrapeguard.refresh_event_revision_trigger() from the columns of
-- public.events; do not edit. After the app changes the columns of events, or
-- after editing scrapeguard.revision_noise_columns, the refresh regenerates it.
--   tracked: %1$s
--   noise (not recorded): %2$s
--   recorded as text: %9$s
-- SECURITY DEFINER: see event_revisions_on_truncate().
declare
  v_fields pg_catalog.text[];
  v_old pg_catalog.jsonb[];
  v_new pg_catalog.jsonb[];
  v_rev pg_catalog.int4;
  v_at pg_catalog.timestamptz;
  v_field_list pg_catalog.text;
begin
  if old.id is distinct from new.id then
    -- A new identity: the old id's history ends with a delete, the new id's
    -- starts with an insert, each with the whole row.%3$s%4$s
    return null;
  end if;
  -- Only the real columns are compared, and only changed ones become jsonb.%5$s
  if v_fields is null then
    return null;
  end if;
  -- Race-free: the UPDATE that fired this holds the event row's lock until it
  -- commits, so a concurrent writer of the same event waits and then sees this
  -- revision. max() is one backward descent of the (event_id, revision, …) index;
  -- the time is read once, so every row of the revision has the same changed_at.
  select coalesce(max(r.revision), 0) + 1, %6$s
    into v_rev, v_at
    from public.event_revisions r where r.event_id = new.id;
  if v_rev = 1 then
    -- The event predates its history (it existed before scrapeguard was installed,
    -- or was written with triggers disabled): keep the state before this change.
    insert into public.event_revisions (event_id, revision, operation, new_value, changed_at)
    values (old.id, 1, 'baseline', %10$s, v_at);
    v_rev := 2;
  end if;
  insert into public.event_revisions
    (event_id, revision, operation, field_name, old_value, new_value, changed_at, run_id, actor)
  select new.id, v_rev, 'update', u.f, u.o, u.n, v_at, %7$s, %8$s
    from rows from (pg_catalog.unnest(v_fields), pg_catalog.unnest(v_old), pg_catalog.unnest(v_new)) as u (f, o, n);
  -- pg_notify refuses payloads of 8,000 bytes or more: a field list that long
  -- (only with very many long column names) is sent as null; event_history has it.
  v_field_list := pg_catalog.array_to_json(v_fields)::pg_catalog.text;
  if pg_catalog.pg_notify('scrapeguard_event_changes',
       pg_catalog.format('{"event_id":"%%s","revision":%%s,"operation":"update","fields":%%s}',
                         new.id, v_rev,
                         case when pg_catalog.octet_length(v_field_list) <= 7000 then v_field_list else 'null' end)) is null then
    null;  -- never: the IF only makes pg_notify a simple expression
  end if;
  return null;
end
$tmpl$,
    coalesce(nullif(pg_catalog.array_to_string(v_tracked, ', '), ''), '(none)'),
    coalesce(nullif(pg_catalog.array_to_string(v_noise, ', '), ''), '(none)'),
    pg_catalog.format(v_snapshot, 'old', 'delete', scrapeguard.event_row_image_sql('old', v_text_form), 'null',
                      v_clock, v_run, v_actor),
    pg_catalog.format(v_snapshot, 'new', 'insert', 'null', scrapeguard.event_row_image_sql('new', v_text_form),
                      v_clock, v_run, v_actor),
    v_checks, v_clock, v_run, v_actor,
    coalesce(nullif(pg_catalog.array_to_string(v_text_form, ', '), ''), '(none)'),
    scrapeguard.event_row_image_sql('old', v_text_form));

  v_truncate_body := pg_catalog.format($tmpl$
-- Generated by scrapeguard.refresh_event_revision_trigger(); do not edit.
-- TRUNCATE fires no row triggers; record it as a delete of every event so that no
-- history silently ends without its last state.
--
-- SECURITY DEFINER (the three trigger functions): an authenticated user whom the
-- app's policies allow to edit an event must still get the change recorded, but may
-- neither write nor read event_revisions. They run as their owner, the migration
-- role, which owns event_revisions; they only write rows built from the event and
-- the attribution settings, with search_path = ''.
declare
  v_at pg_catalog.timestamptz := scrapeguard.clock();
  v_run pg_catalog.uuid := scrapeguard.current_change_run_id();
  v_actor pg_catalog.text := scrapeguard.current_change_actor();
  v_count pg_catalog.int8;
begin
  with gone as (
    insert into public.event_revisions (event_id, revision, operation, old_value, changed_at, run_id, actor)
    select e.id,
           coalesce((select max(r.revision) from public.event_revisions r where r.event_id = e.id), 0) + 1,
           'delete', %1$s, v_at, v_run, v_actor
      from public.events e
    returning event_id, revision
  )
  select count(pg_catalog.pg_notify('scrapeguard_event_changes',
           pg_catalog.format('{"event_id":"%%s","revision":%%s,"operation":"delete","fields":null}', g.event_id, g.revision)))
    into v_count
    from gone g;
  return null;
end
$tmpl$,
    scrapeguard.event_row_image_sql('e', v_text_form));

  -- Nothing to do when the generated code is what is installed and the triggers
  -- exist under their names (the WHEN clause derives from the same columns as the
  -- update body): no DDL, no lock on events.
  if exists (select from pg_catalog.pg_proc p
              where p.oid = pg_catalog.to_regprocedure('scrapeguard.event_revisions_on_update()')
                and p.prosrc = v_update_body)
     and exists (select from pg_catalog.pg_proc p
                  where p.oid = pg_catalog.to_regprocedure('scrapeguard.event_revisions_on_insert_delete()')
                    and p.prosrc = v_insert_delete_body)
     and exists (select from pg_catalog.pg_proc p
                  where p.oid = pg_catalog.to_regprocedure('scrapeguard.event_revisions_on_truncate()')
                    and p.prosrc = v_truncate_body)
     and (select count(*) from pg_catalog.pg_trigger t
           where t.tgrelid = 'public.events'::pg_catalog.regclass
             and t.tgname in ('_scrapeguard_event_revisions_update', '_scrapeguard_event_revisions_insert_delete',
                              '_scrapeguard_event_revisions_truncate')) = 3 then
    return v_renamed > 0;
  end if;

  execute pg_catalog.format(
    'create or replace function scrapeguard.event_revisions_on_update() returns trigger '
    'language plpgsql volatile security definer set search_path = '''' as %L', v_update_body);
  comment on function scrapeguard.event_revisions_on_update() is
    'AFTER UPDATE row trigger on public.events (generated): one revision row per changed tracked column.';
  revoke all on function scrapeguard.event_revisions_on_update() from public, anon, authenticated;
  grant execute on function scrapeguard.event_revisions_on_update() to service_role;

  execute pg_catalog.format(
    'create or replace function scrapeguard.event_revisions_on_insert_delete() returns trigger '
    'language plpgsql volatile security definer set search_path = '''' as %L', v_insert_delete_body);
  comment on function scrapeguard.event_revisions_on_insert_delete() is
    'AFTER INSERT OR DELETE row trigger on public.events (generated): one whole-row revision.';
  revoke all on function scrapeguard.event_revisions_on_insert_delete() from public, anon, authenticated;
  grant execute on function scrapeguard.event_revisions_on_insert_delete() to service_role;

  execute pg_catalog.format(
    'create or replace function scrapeguard.event_revisions_on_truncate() returns trigger '
    'language plpgsql volatile security definer set search_path = '''' as %L', v_truncate_body);
  comment on function scrapeguard.event_revisions_on_truncate() is
    'BEFORE TRUNCATE statement trigger on public.events (generated): a delete revision (whole row) for every event.';
  revoke all on function scrapeguard.event_revisions_on_truncate() from public, anon, authenticated;
  grant execute on function scrapeguard.event_revisions_on_truncate() to service_role;

  -- The names of 000009/000010, replaced by the ones that fire first (dropped only
  -- where present: "if exists" would say so in a notice at every refresh).
  for c in select t.tgname from pg_catalog.pg_trigger t
            where t.tgrelid = 'public.events'::pg_catalog.regclass
              and t.tgname in ('scrapeguard_event_revisions_update', 'scrapeguard_event_revisions_insert_delete',
                               'scrapeguard_event_revisions_truncate') loop
    execute pg_catalog.format('drop trigger %I on public.events', c.tgname);
  end loop;

  drop trigger if exists _scrapeguard_event_revisions_update on public.events;
  -- The WHEN clause is evaluated before the row is queued: an update that changes
  -- only noise columns (a re-scrape of an unchanged page) or nothing costs one
  -- comparison per column and no function call.
  execute pg_catalog.format(
    'create trigger _scrapeguard_event_revisions_update after update on public.events '
    'for each row when (%s) execute function scrapeguard.event_revisions_on_update()',
    pg_catalog.array_to_string(v_conds, ' or '));
  drop trigger if exists _scrapeguard_event_revisions_insert_delete on public.events;
  create trigger _scrapeguard_event_revisions_insert_delete after insert or delete on public.events
    for each row execute function scrapeguard.event_revisions_on_insert_delete();
  drop trigger if exists _scrapeguard_event_revisions_truncate on public.events;
  create trigger _scrapeguard_event_revisions_truncate before truncate on public.events
    for each statement execute function scrapeguard.event_revisions_on_truncate();
  return true;
end
$$;
comment on function scrapeguard.refresh_event_revision_trigger() is
  'Regenerates the revision triggers of public.events from its current columns, the noise-column setting and the clock/attribution helpers, after carrying the history of renamed columns to their new names. Returns false when nothing changed. Run after ALTER TABLE public.events.';

select scrapeguard.refresh_event_revision_trigger();
