-- Down script of 000010 (cheaper revision writes): the four CHECKs of 000009
-- instead of event_revisions_well_formed, and the 000009 trigger generator (with
-- sql_function_expression), run again so that the triggers are 000009's.

do $checks$
begin
  if not exists (select from pg_catalog.pg_constraint c
                  where c.conrelid = 'public.event_revisions'::regclass
                    and c.conname = 'event_revisions_whole_row_shape') then
    alter table public.event_revisions
      add constraint event_revisions_revision_positive check (revision >= 1) not valid,
      add constraint event_revisions_operation_known
        check (operation in ('insert', 'update', 'delete', 'baseline')) not valid,
      add constraint event_revisions_update_names_a_field
        check ((field_name is null) = (operation <> 'update')) not valid,
      add constraint event_revisions_whole_row_shape check (
        operation = 'update'
        or ((old_value is null) = (operation <> 'delete') and (new_value is null) = (operation = 'delete'))) not valid;
  end if;
end
$checks$;
alter table public.event_revisions validate constraint event_revisions_revision_positive;
alter table public.event_revisions validate constraint event_revisions_operation_known;
alter table public.event_revisions validate constraint event_revisions_update_names_a_field;
alter table public.event_revisions validate constraint event_revisions_whole_row_shape;
alter table public.event_revisions drop constraint if exists event_revisions_well_formed;
drop function if exists scrapeguard.event_revision_is_well_formed(public.event_revisions);

-- The expression of a zero-argument LANGUAGE sql function whose body is a single
-- `select <expression>`, parenthesised, or null when it is not of that shape.
--
-- Why: functions with a SET clause (every scrapeguard function pins search_path)
-- are never inlined, and PostgreSQL 15–17 parses and plans the body of a
-- non-inlined SQL function again at every executor start. Called from a trigger,
-- the SQL version of scrapeguard.clock() measured ~150 µs per transaction (a
-- single-row UPDATE costs ~100 µs; 000006 has since made the clock PL/pgSQL, which
-- keeps its plans). The generated trigger code therefore embeds the bodies of
-- current_change_run_id() and current_change_actor() (one definition each, re-read
-- by every refresh) where PL/pgSQL keeps the plans for the session; a helper that is
-- not a one-SELECT SQL function (the clock now) is called instead.
create or replace function scrapeguard.sql_function_expression(fn regprocedure) returns text
  language plpgsql
  stable
  set search_path = ''
as $$
declare
  p pg_catalog.pg_proc;
  v_body text;
  v_type regtype;
begin
  select * into p from pg_catalog.pg_proc where oid = fn;
  if not found or p.pronargs <> 0 or p.proretset or p.prosqlbody is not null
     or p.prolang <> (select l.oid from pg_catalog.pg_language l where l.lanname = 'sql') then
    return null;
  end if;
  v_body := pg_catalog.btrim(p.prosrc, E' \t\r\n;');
  if v_body !~* '^select\s' then
    return null;
  end if;
  v_body := '(' || pg_catalog.regexp_replace(v_body, '^select\s+', '', 'i') || E'\n)';
  -- It must be one expression of the function's type (not "a from t", not a row,
  -- not two statements): anything else fails here and the caller calls the function.
  begin
    execute pg_catalog.format('select pg_catalog.pg_typeof(%s)', v_body) into v_type;
  exception when others then
    return null;
  end;
  if v_type is distinct from p.prorettype::regtype then
    return null;
  end if;
  return v_body;
end
$$;
comment on function scrapeguard.sql_function_expression(regprocedure) is
  'The body of a zero-argument single-SELECT SQL function as an expression to embed in generated code (null if it is not of that shape).';
revoke all on function scrapeguard.sql_function_expression(regprocedure) from public, anon, authenticated;
grant execute on function scrapeguard.sql_function_expression(regprocedure) to service_role;

-- Builds scrapeguard.event_revisions_on_update() and the WHEN clause of its
-- trigger from the columns public.events has now, minus the noise columns, and
-- scrapeguard.event_revisions_on_insert_delete(). Run it after the app adds,
-- renames or drops a column of events, or after a migration changes
-- current_change_actor() / current_change_run_id() (or scrapeguard.clock()), whose
-- bodies it embeds when they are one-SELECT SQL functions (it also runs by itself
-- when revision_noise_columns changes).
--
-- SECURITY DEFINER: replacing a trigger on public.events needs its owner (the
-- migration role), and the service role must be able to apply a new noise-column
-- setting. It takes no input; the code it generates is built only from catalog
-- identifiers quoted with %I / %L and from the bodies of scrapeguard's own
-- functions, so a caller cannot inject anything.
create or replace function scrapeguard.refresh_event_revision_trigger() returns boolean
  language plpgsql
  volatile
  security definer
  set search_path = ''
as $$
declare
  c record;
  v_cond text;
  v_conds text[] := array['old.id is distinct from new.id'];
  v_checks text := '';
  v_tracked text[] := '{}';
  v_noise text[] := '{}';
  v_clock text;
  v_run_expr text;
  v_actor_expr text;
  v_snapshot text;
  v_update_body text;
  v_insert_delete_body text;
begin
  if pg_catalog.to_regclass('public.events') is null then
    raise exception 'scrapeguard: public.events does not exist' using errcode = '42P01';
  end if;

  v_clock := coalesce(scrapeguard.sql_function_expression('scrapeguard.clock()'), 'scrapeguard.clock()');
  v_run_expr := coalesce(scrapeguard.sql_function_expression('scrapeguard.current_change_run_id()'),
                         'scrapeguard.current_change_run_id()');
  v_actor_expr := coalesce(scrapeguard.sql_function_expression('scrapeguard.current_change_actor()'),
                           'scrapeguard.current_change_actor()');

  for c in select * from scrapeguard.event_revision_columns() loop
    if c.column_name = 'id' then
      continue;
    end if;
    if not c.tracked then
      v_noise := v_noise || c.column_name;
      continue;
    end if;
    v_tracked := v_tracked || c.column_name;
    v_cond := case when c.compare_as_text
                   then pg_catalog.format('old.%1$I::text is distinct from new.%1$I::text', c.column_name)
                   else pg_catalog.format('old.%1$I is distinct from new.%1$I', c.column_name) end;
    v_conds := v_conds || v_cond;
    v_checks := v_checks || pg_catalog.format($chk$
  if %1$s then
    v_fields := v_fields || %2$L::text;
    v_old := v_old || pg_catalog.to_jsonb(old.%3$I);
    v_new := v_new || pg_catalog.to_jsonb(new.%3$I);
  end if;$chk$,
      v_cond, c.column_name, c.column_name);
  end loop;

  -- A whole-row revision of record %1$s (old or new) as operation %2$s; %3$s and
  -- %4$s say where the row goes (old_value, new_value).
  v_snapshot := $snap$
    select coalesce(max(r.revision), 0) + 1, %5$s
      into v_rev, v_at
      from public.event_revisions r where r.event_id = %1$s.id;
    insert into public.event_revisions (event_id, revision, operation, old_value, new_value, changed_at, run_id, actor)
    values (%1$s.id, v_rev, %2$L, %3$s, %4$s, v_at, v_run, v_actor);
    perform pg_catalog.pg_notify('scrapeguard_event_changes',
      pg_catalog.format('{"event_id":"%%s","revision":%%s,"operation":"%2$s","fields":null}', %1$s.id, v_rev));$snap$;

  v_insert_delete_body := pg_catalog.format($tmpl$
-- Generated by scrapeguard.refresh_event_revision_trigger(); do not edit.
-- One whole-row revision per inserted or deleted event, so that a deleted event's
-- history keeps its last state. SECURITY DEFINER: see event_revisions_on_truncate().
declare
  v_rev integer;
  v_at timestamptz;
  v_run uuid;
  v_actor text;
begin
  v_run := %1$s;
  v_actor := %2$s;
  if tg_op = 'INSERT' then%3$s
  else%4$s
  end if;
  return null;
end
$tmpl$,
    v_run_expr, v_actor_expr,
    pg_catalog.format(v_snapshot, 'new', 'insert', 'null', 'pg_catalog.to_jsonb(new)', v_clock),
    pg_catalog.format(v_snapshot, 'old', 'delete', 'pg_catalog.to_jsonb(old)', 'null', v_clock));

  v_update_body := pg_catalog.format($tmpl$
-- Generated by scrapeguard.refresh_event_revision_trigger() from the columns of
-- public.events; do not edit. After the app changes the columns of events, or
-- after editing scrapeguard.revision_noise_columns, the refresh regenerates it.
--   tracked: %1$s
--   noise (not recorded): %2$s
-- SECURITY DEFINER: see event_revisions_on_truncate().
declare
  v_fields text[];
  v_old jsonb[];
  v_new jsonb[];
  v_rev integer;
  v_at timestamptz;
  v_run uuid;
  v_actor text;
begin
  v_run := %3$s;
  v_actor := %4$s;
  if old.id is distinct from new.id then
    -- A new identity: the old id's history ends with a delete, the new id's
    -- starts with an insert, each with the whole row.%5$s%6$s
    return null;
  end if;
  -- Only the real columns are compared, and only changed ones become jsonb.%7$s
  if v_fields is null then
    return null;
  end if;
  -- Race-free: the UPDATE that fired this holds the event row's lock until it
  -- commits, so a concurrent writer of the same event waits and then sees this
  -- revision. max() is one backward descent of the (event_id, revision, …) index.
  select coalesce(max(r.revision), 0) + 1, %8$s
    into v_rev, v_at
    from public.event_revisions r where r.event_id = new.id;
  if v_rev = 1 then
    -- The event predates its history (it existed before scrapeguard was installed,
    -- or was written with triggers disabled): keep the state before this change.
    insert into public.event_revisions (event_id, revision, operation, new_value, changed_at)
    values (old.id, 1, 'baseline', pg_catalog.to_jsonb(old), v_at);
    v_rev := 2;
  end if;
  insert into public.event_revisions
    (event_id, revision, operation, field_name, old_value, new_value, changed_at, run_id, actor)
  select new.id, v_rev, 'update', u.f, u.o, u.n, v_at, v_run, v_actor
    from rows from (pg_catalog.unnest(v_fields), pg_catalog.unnest(v_old), pg_catalog.unnest(v_new)) as u (f, o, n);
  perform pg_catalog.pg_notify('scrapeguard_event_changes',
    pg_catalog.format('{"event_id":"%%s","revision":%%s,"operation":"update","fields":%%s}',
                      new.id, v_rev, pg_catalog.array_to_json(v_fields)));
  return null;
end
$tmpl$,
    coalesce(nullif(pg_catalog.array_to_string(v_tracked, ', '), ''), '(none)'),
    coalesce(nullif(pg_catalog.array_to_string(v_noise, ', '), ''), '(none)'),
    v_run_expr, v_actor_expr,
    pg_catalog.format(v_snapshot, 'old', 'delete', 'pg_catalog.to_jsonb(old)', 'null', v_clock),
    pg_catalog.format(v_snapshot, 'new', 'insert', 'null', 'pg_catalog.to_jsonb(new)', v_clock),
    v_checks, v_clock);

  -- Nothing to do when the generated code is what is installed and the triggers
  -- exist (the WHEN clause derives from the same columns as the update body): no
  -- DDL, no lock on events.
  if exists (select from pg_catalog.pg_proc p
              where p.oid = pg_catalog.to_regprocedure('scrapeguard.event_revisions_on_update()')
                and p.prosrc = v_update_body)
     and exists (select from pg_catalog.pg_proc p
                  where p.oid = pg_catalog.to_regprocedure('scrapeguard.event_revisions_on_insert_delete()')
                    and p.prosrc = v_insert_delete_body)
     and (select count(*) from pg_catalog.pg_trigger t
           where t.tgrelid = 'public.events'::regclass
             and t.tgname in ('scrapeguard_event_revisions_update', 'scrapeguard_event_revisions_insert_delete',
                              'scrapeguard_event_revisions_truncate')) = 3 then
    return false;
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

  drop trigger if exists scrapeguard_event_revisions_update on public.events;
  -- The WHEN clause is evaluated before the row is queued: an update that changes
  -- only noise columns (a re-scrape of an unchanged page) or nothing costs one
  -- comparison per column and no function call.
  execute pg_catalog.format(
    'create trigger scrapeguard_event_revisions_update after update on public.events '
    'for each row when (%s) execute function scrapeguard.event_revisions_on_update()',
    pg_catalog.array_to_string(v_conds, ' or '));
  drop trigger if exists scrapeguard_event_revisions_insert_delete on public.events;
  create trigger scrapeguard_event_revisions_insert_delete after insert or delete on public.events
    for each row execute function scrapeguard.event_revisions_on_insert_delete();
  drop trigger if exists scrapeguard_event_revisions_truncate on public.events;
  create trigger scrapeguard_event_revisions_truncate before truncate on public.events
    for each statement execute function scrapeguard.event_revisions_on_truncate();
  return true;
end
$$;
comment on function scrapeguard.refresh_event_revision_trigger() is
  'Regenerates the revision triggers of public.events from its current columns, the noise-column setting and the clock/attribution helpers. Returns false when already current. Run after ALTER TABLE public.events.';

select scrapeguard.refresh_event_revision_trigger();

drop function if exists scrapeguard.function_body_expression(regprocedure);
