--! Previous: sha1:8cb61ff8c4f44a635be641293e4e6a38953ec4d4
--! Hash: sha1:9f4106a82746ea38764f3b854c0c87abfa8d66c8
--! Message: cheaper revision writes

-- Cheaper revision writes.
--
-- The revision trigger of 000009 cost ~100 µs per changed event on a bulk UPDATE
-- (7× a bare UPDATE of the base events table) and ~240 µs per single-row UPDATE.
-- Profiles showed where it went, per changed event:
--   * four SPI queries: the clock (scrapeguard.clock() is PL/pgSQL with a query
--     inside, so calling it runs one), the next revision number, the INSERT, and
--     PERFORM pg_notify (PERFORM always runs a query);
--   * the four CHECKs of event_revisions: PostgreSQL reads every CHECK back from
--     its stored node tree and plans it at the start of each INSERT statement
--     (ExecRelCheck: stringToNode + expression_planner), and the row trigger runs
--     one INSERT per changed event — ~4,200 characters of node text parsed per
--     event.
-- This migration:
--   1. replaces the four CHECKs with one, event_revisions_well_formed, that calls
--      scrapeguard.event_revision_is_well_formed(row): the same invariants, ~290
--      characters of node text to read per INSERT instead of ~4,200;
--   2. regenerates the triggers so that each changed event costs two queries (the
--      next revision number together with the time, then the INSERT): the clock's
--      body is embedded like the attribution helpers' (function_body_expression
--      now also reads a PL/pgSQL body that is a single RETURN), the attribution
--      expressions move into the INSERT, and pg_notify is evaluated as a PL/pgSQL
--      simple expression instead of a PERFORM.
-- Behaviour is unchanged: the same rows, values, attribution, times and
-- notifications.

-- ---------------------------------------------------------------------------
-- One CHECK for the shape of a revision row
-- ---------------------------------------------------------------------------

create or replace function scrapeguard.event_revision_is_well_formed(r public.event_revisions) returns boolean
  language plpgsql
  immutable
  set search_path = ''
as $$
begin
  -- One RETURN expression: PL/pgSQL evaluates it without starting a query.
  return coalesce(
    r.revision >= 1
    and case r.operation
          -- An update row names the one field it describes; its values may be null
          -- (a column set to or from null).
          when 'update' then r.field_name is not null
          -- Whole-row rows name no field and carry exactly one row: a delete the
          -- row before, an insert or a baseline the row after.
          when 'delete' then r.field_name is null and r.old_value is not null and r.new_value is null
          when 'insert' then r.field_name is null and r.old_value is null and r.new_value is not null
          when 'baseline' then r.field_name is null and r.old_value is null and r.new_value is not null
          else false
        end,
    false);
end
$$;
comment on function scrapeguard.event_revision_is_well_formed(public.event_revisions) is
  'The invariants of an event_revisions row (CHECK event_revisions_well_formed): revision >= 1, a known operation, update rows name a field, whole-row rows (insert, delete, baseline) name none and carry exactly the row after (insert, baseline) or before (delete).';
revoke all on function scrapeguard.event_revision_is_well_formed(public.event_revisions) from public, anon, authenticated;
grant execute on function scrapeguard.event_revision_is_well_formed(public.event_revisions) to service_role;

-- Why one CHECK through a function: PostgreSQL re-reads each CHECK of a table from
-- its stored node tree at the start of every INSERT statement, and the revision
-- trigger runs an INSERT for each changed event. The four CHECKs of 000009 were
-- ~4,200 characters of node text; this one is ~290 (a function call on the whole
-- row), measured ~6 µs less per changed event. Added NOT VALID and then validated,
-- so that the check of existing rows does not hold the stronger lock.
do $check$
begin
  if not exists (select from pg_catalog.pg_constraint c
                  where c.conrelid = 'public.event_revisions'::regclass
                    and c.conname = 'event_revisions_well_formed') then
    alter table public.event_revisions
      add constraint event_revisions_well_formed
      check (scrapeguard.event_revision_is_well_formed(event_revisions)) not valid;
  end if;
end
$check$;
alter table public.event_revisions validate constraint event_revisions_well_formed;
alter table public.event_revisions
  drop constraint if exists event_revisions_revision_positive,
  drop constraint if exists event_revisions_operation_known,
  drop constraint if exists event_revisions_update_names_a_field,
  drop constraint if exists event_revisions_whole_row_shape;

-- ---------------------------------------------------------------------------
-- Embedding helper bodies in generated code
-- ---------------------------------------------------------------------------

-- The expression of a zero-argument function whose body is a single expression,
-- parenthesised, or null when it is not of that shape: a LANGUAGE sql function
-- whose body is `select <expression>`, or a PL/pgSQL function whose body is
-- `begin return <expression>; end`.
--
-- Why: the generated trigger code embeds the bodies of the clock and the
-- attribution helpers instead of calling them. A non-inlined SQL function (every
-- scrapeguard function pins search_path, which prevents inlining) is parsed and
-- planned again at every executor start in PostgreSQL 15–17; a PL/pgSQL function
-- whose expression holds a query (the clock reads clock_control) runs that query
-- through SPI at every call. Embedded, the expression becomes part of the
-- trigger's own cached plan. One definition each still: every refresh re-reads
-- the bodies, and a helper of any other shape is called instead.
create or replace function scrapeguard.function_body_expression(fn regprocedure) returns text
  language plpgsql
  stable
  set search_path = ''
as $$
declare
  p pg_catalog.pg_proc;
  v_body text;
  v_match text[];
  v_type regtype;
begin
  select * into p from pg_catalog.pg_proc where oid = fn;
  if not found or p.pronargs <> 0 or p.proretset or p.prosqlbody is not null then
    return null;
  end if;
  v_body := pg_catalog.btrim(p.prosrc, E' \t\r\n;');
  case (select l.lanname from pg_catalog.pg_language l where l.oid = p.prolang)
    when 'sql' then
      v_match := pg_catalog.regexp_match(v_body, '^select\s+(.*)$', 'i');
    when 'plpgsql' then
      -- No DECLARE section, nothing before the RETURN; anything after it makes
      -- the expression check below fail.
      v_match := pg_catalog.regexp_match(v_body, '^begin\s+return\s+(.*?)\s*;\s*end$', 'i');
    else
      return null;
  end case;
  if v_match is null then
    return null;
  end if;
  v_body := '(' || v_match[1] || E'\n)';
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
comment on function scrapeguard.function_body_expression(regprocedure) is
  'The body of a zero-argument function that is a single expression (SQL: one SELECT; PL/pgSQL: one RETURN) as an expression to embed in generated code, or null if it is not of that shape.';
revoke all on function scrapeguard.function_body_expression(regprocedure) from public, anon, authenticated;
grant execute on function scrapeguard.function_body_expression(regprocedure) to service_role;

-- ---------------------------------------------------------------------------
-- The generated row triggers, regenerated
-- ---------------------------------------------------------------------------

-- Builds scrapeguard.event_revisions_on_update() and the WHEN clause of its
-- trigger from the columns public.events has now, minus the noise columns, and
-- scrapeguard.event_revisions_on_insert_delete(). Run it after the app adds,
-- renames or drops a column of events, or after a migration changes
-- current_change_actor(), current_change_run_id() or scrapeguard.clock(), whose
-- bodies it embeds when they are single expressions (function_body_expression;
-- it also runs by itself when revision_noise_columns changes).
--
-- The generated code spends two queries per changed event: one reads the next
-- revision number and the time, one INSERT writes the rows (the attribution
-- expressions inside it); pg_notify is evaluated as a PL/pgSQL simple expression
-- (an IF on it), since PERFORM would run a query for every event.
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
  v_run text;
  v_actor text;
  v_snapshot text;
  v_update_body text;
  v_insert_delete_body text;
begin
  if pg_catalog.to_regclass('public.events') is null then
    raise exception 'scrapeguard: public.events does not exist' using errcode = '42P01';
  end if;

  v_clock := coalesce(scrapeguard.function_body_expression('scrapeguard.clock()'), 'scrapeguard.clock()');
  v_run := coalesce(scrapeguard.function_body_expression('scrapeguard.current_change_run_id()'),
                    'scrapeguard.current_change_run_id()');
  v_actor := coalesce(scrapeguard.function_body_expression('scrapeguard.current_change_actor()'),
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
  v_rev integer;
  v_at timestamptz;
begin
  if tg_op = 'INSERT' then%1$s
  else%2$s
  end if;
  return null;
end
$tmpl$,
    pg_catalog.format(v_snapshot, 'new', 'insert', 'null', 'pg_catalog.to_jsonb(new)', v_clock, v_run, v_actor),
    pg_catalog.format(v_snapshot, 'old', 'delete', 'pg_catalog.to_jsonb(old)', 'null', v_clock, v_run, v_actor));

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
    values (old.id, 1, 'baseline', pg_catalog.to_jsonb(old), v_at);
    v_rev := 2;
  end if;
  insert into public.event_revisions
    (event_id, revision, operation, field_name, old_value, new_value, changed_at, run_id, actor)
  select new.id, v_rev, 'update', u.f, u.o, u.n, v_at, %7$s, %8$s
    from rows from (pg_catalog.unnest(v_fields), pg_catalog.unnest(v_old), pg_catalog.unnest(v_new)) as u (f, o, n);
  if pg_catalog.pg_notify('scrapeguard_event_changes',
       pg_catalog.format('{"event_id":"%%s","revision":%%s,"operation":"update","fields":%%s}',
                         new.id, v_rev, pg_catalog.array_to_json(v_fields))) is null then
    null;  -- never: the IF only makes pg_notify a simple expression
  end if;
  return null;
end
$tmpl$,
    coalesce(nullif(pg_catalog.array_to_string(v_tracked, ', '), ''), '(none)'),
    coalesce(nullif(pg_catalog.array_to_string(v_noise, ', '), ''), '(none)'),
    pg_catalog.format(v_snapshot, 'old', 'delete', 'pg_catalog.to_jsonb(old)', 'null', v_clock, v_run, v_actor),
    pg_catalog.format(v_snapshot, 'new', 'insert', 'null', 'pg_catalog.to_jsonb(new)', v_clock, v_run, v_actor),
    v_checks, v_clock, v_run, v_actor);

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

-- Replaced by function_body_expression (the refresh above no longer calls it).
drop function if exists scrapeguard.sql_function_expression(regprocedure);
