--! Previous: sha1:becc4fdbe457a77451e28da38d8945e4b8d52b3c
--! Hash: sha1:d9323358d2e3843892c6e3f7d84de9897a7009af
--! Message: revision triggers for real app columns, users and triggers

-- Revision triggers for the app's real columns, users and triggers.
--
-- The events table of a live project is not the brief's: it grows columns of
-- extension types, arrays of jsonb, renamed columns; its users may sign in through
-- a third-party provider; it has AFTER triggers of its own. This migration makes
-- the generated revision triggers handle them:
--   1. Equality that works with search_path = ''. A type whose "=" lives in another
--      schema (hstore, ltree, vector… in Supabase's extensions schema) made the
--      generated WHEN clause fail to parse, and an array of a type without any
--      equality (xml[]) failed at run time on every UPDATE. Such columns are now
--      compared through their text form, like json and point already were.
--   2. Values that to_jsonb cannot give back. A type with a cast to json (hstore)
--      became a JSON object that its input function cannot read, and an array of
--      json/jsonb whose elements are JSON arrays came back with extra dimensions.
--      Such columns are now recorded as their text form (a JSON string), which
--      jsonb_populate_record reads back exactly through the type's input function.
--   3. The actor of a request is its JWT's sub as text: auth.uid() casts it to uuid,
--      which made every recorded write of a user of a third-party auth provider
--      (Clerk, Firebase, Auth0: non-uuid subs) fail.
--   4. The triggers are named _scrapeguard_event_revisions_* so that they fire
--      before the app's own AFTER triggers (PostgreSQL fires them in name order):
--      an app trigger that updates the same event again (fills a slug after insert)
--      made the nested change be recorded before the change that caused it, and
--      the history rebuilt a stale row.
--   5. A notification whose field list would pass 7,000 bytes carries "fields":null
--      instead of failing the UPDATE (pg_notify refuses payloads of 8,000 bytes).
--   6. A renamed column keeps its history: the refresh after the rename moves the
--      old name's revisions to the new one (and a renamed noise column stays noise).
--   7. Every type name in the code the triggers run (the generated functions, the
--      attribution helpers and the clock they embed) is schema-qualified. With
--      search_path = '' PostgreSQL still looks up unqualified type and table names in
--      the session's temporary schema first, so a session could shadow "text" or
--      "timestamptz" with a domain of its own whose CHECK then ran inside these
--      SECURITY DEFINER functions, as their owner.

-- ---------------------------------------------------------------------------
-- 1. Equality, as generated code with search_path = '' sees it
-- ---------------------------------------------------------------------------

-- Whether the type's values can be compared with IS DISTINCT FROM in code that runs
-- with search_path = '' (the generated triggers), at parse time and at run time.
--   * enums, ranges, multiranges: pg_catalog's polymorphic "=", always usable;
--   * arrays: pg_catalog's anyarray "=", which at run time needs the element type's
--     default btree or hash equality (found by operator class, in any schema);
--   * composites: false (their "=" fails at run time if any field lacks one);
--   * other types: an "=" that resolves from pg_catalog alone, tried by parsing.
create or replace function scrapeguard.type_has_equality(type_oid oid) returns boolean
  language plpgsql
  stable
  set search_path = ''
as $$
declare
  t pg_catalog.pg_type;
  e pg_catalog.pg_type;
begin
  select * into t from pg_catalog.pg_type where oid = type_oid;
  while t.typtype = 'd' loop
    select * into t from pg_catalog.pg_type where oid = t.typbasetype;
  end loop;
  if t.typtype in ('e', 'r', 'm') then
    return true;
  end if;
  if t.typcategory = 'A' and t.typelem <> 0 then
    select * into e from pg_catalog.pg_type where oid = t.typelem;
    while e.typtype = 'd' loop
      select * into e from pg_catalog.pg_type where oid = e.typbasetype;
    end loop;
    if e.typtype in ('e', 'r', 'm') then
      return true;
    end if;
    if e.typtype <> 'b' then
      return false;
    end if;
    -- What the type cache looks for: a default btree or hash operator class of
    -- the element type, or of a type it is binary-coercible to without a cast call
    -- (varchar uses text's).
    return exists (
      select
        from pg_catalog.pg_opclass c
        join pg_catalog.pg_am m on m.oid = c.opcmethod
       where m.amname in ('btree', 'hash')
         and c.opcdefault
         and (c.opcintype = e.oid
              or exists (select from pg_catalog.pg_cast k
                          where k.castsource = e.oid and k.casttarget = c.opcintype
                            and k.castmethod = 'b' and k.castcontext = 'i')));
  end if;
  if t.typtype <> 'b' then
    return false;
  end if;
  begin
    -- The name schema-qualified: an unqualified name would look in pg_temp first.
    execute pg_catalog.format('select null::%1$I.%2$I is distinct from null::%1$I.%2$I',
                              (select n.nspname from pg_catalog.pg_namespace n where n.oid = t.typnamespace), t.typname);
  exception when undefined_function or ambiguous_function then
    -- 42883: no "=" for the type in pg_catalog (xml, point, or one of an extension's).
    return false;
  end;
  return true;
end
$$;
comment on function scrapeguard.type_has_equality(oid) is
  'Whether values of the type can be compared with IS DISTINCT FROM by code running with search_path = '''' (an "=" in pg_catalog; for arrays, a default equality of the element type). Others (json, xml, point, extension types, composites) are compared through their text form.';
revoke all on function scrapeguard.type_has_equality(oid) from public, anon, authenticated;
grant execute on function scrapeguard.type_has_equality(oid) to service_role;

-- ---------------------------------------------------------------------------
-- 2. Values recorded as their text form
-- ---------------------------------------------------------------------------

-- Whether to_jsonb of a value of the type is not read back as the same value by
-- jsonb_populate_record (the as-of reads): a type with a cast to json or jsonb
-- (hstore: to_jsonb gives an object its input function cannot read), an array of
-- json/jsonb (elements that are JSON arrays read back as extra array dimensions),
-- or an array or composite containing such a type. Those are recorded as their
-- text form, a JSON string that populate reads through the type's input function.
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
    return e.oid = any (v_json) or scrapeguard.type_recorded_as_text(e.oid);
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
revoke all on function scrapeguard.type_recorded_as_text(oid) from public, anon, authenticated;
grant execute on function scrapeguard.type_recorded_as_text(oid) to service_role;

-- The column list gains recorded_as_text; its only caller is the refresh below.
drop function if exists scrapeguard.event_revision_columns();
create function scrapeguard.event_revision_columns()
  returns table (column_name text, column_type text, tracked boolean, compare_as_text boolean, recorded_as_text boolean)
  language sql
  stable
  set search_path = ''
as $$
  select a.attname::pg_catalog.text,
         pg_catalog.format_type(a.atttypid, a.atttypmod),
         not exists (select from scrapeguard.revision_noise_columns n where n.column_name = a.attname::pg_catalog.text),
         not scrapeguard.type_has_equality(a.atttypid),
         scrapeguard.type_recorded_as_text(a.atttypid)
    from pg_catalog.pg_attribute a
   where a.attrelid = 'public.events'::pg_catalog.regclass
     and a.attnum > 0
     and not a.attisdropped
   order by a.attnum
$$;
comment on function scrapeguard.event_revision_columns() is
  'The columns of public.events as the revision trigger sees them: tracked (not a noise column), compared through their text form, recorded as their text form.';
revoke all on function scrapeguard.event_revision_columns() from public, anon, authenticated;
grant execute on function scrapeguard.event_revision_columns() to service_role;

-- The jsonb image of a whole events row held in record variable `rec` (old, new,
-- or a query's alias), as an expression for generated code: to_jsonb(rec), with
-- the columns in text_form replaced by their text form. jsonb_build_object takes
-- at most 100 arguments, so the pairs go in groups of 50.
create or replace function scrapeguard.event_row_image_sql(rec text, text_form text[]) returns text
  language plpgsql
  immutable
  set search_path = ''
as $$
declare
  v_col pg_catalog.text;
  v_pairs pg_catalog.text[] := '{}';
  v_parts pg_catalog.text[] := '{}';
begin
  foreach v_col in array coalesce(text_form, '{}') loop
    v_pairs := v_pairs || pg_catalog.format('%L, %s.%I::pg_catalog.text', v_col, rec, v_col);
    if pg_catalog.cardinality(v_pairs) = 50 then
      v_parts := v_parts || pg_catalog.format('pg_catalog.jsonb_build_object(%s)', pg_catalog.array_to_string(v_pairs, ', '));
      v_pairs := '{}';
    end if;
  end loop;
  if pg_catalog.cardinality(v_pairs) > 0 then
    v_parts := v_parts || pg_catalog.format('pg_catalog.jsonb_build_object(%s)', pg_catalog.array_to_string(v_pairs, ', '));
  end if;
  if pg_catalog.cardinality(v_parts) = 0 then
    return pg_catalog.format('pg_catalog.to_jsonb(%s)', rec);
  end if;
  return pg_catalog.format('(pg_catalog.to_jsonb(%s) || %s)', rec, pg_catalog.array_to_string(v_parts, ' || '));
end
$$;
comment on function scrapeguard.event_row_image_sql(text, text[]) is
  'SQL expression for the jsonb image of a whole events row in record `rec`: to_jsonb, with the given columns as their text form.';
revoke all on function scrapeguard.event_row_image_sql(text, text[]) from public, anon, authenticated;
grant execute on function scrapeguard.event_row_image_sql(text, text[]) to service_role;

-- ---------------------------------------------------------------------------
-- 3. The actor of a request: its JWT's sub, as text
-- ---------------------------------------------------------------------------

-- Who is changing events, in this order: set_change_context's actor; the request
-- JWT's sub, read the way auth.uid() reads it but without its cast to uuid (a
-- third-party auth provider's sub is not a uuid, and the cast failed the write);
-- the role the session switched to (PostgREST: set local role ...), since inside
-- the SECURITY DEFINER trigger current_user is the owner; else the login role.
-- The generated triggers embed this body (function_body_expression), so keep it
-- one SELECT and refresh the triggers after changing it.
create or replace function scrapeguard.current_change_actor() returns text
  language sql
  stable
  set search_path = ''
as $$
  select coalesce(
    nullif(pg_catalog.current_setting('scrapeguard.actor', true), ''),
    nullif(pg_catalog.current_setting('request.jwt.claim.sub', true), ''),
    (nullif(pg_catalog.current_setting('request.jwt.claims', true), '')::pg_catalog.jsonb ->> 'sub'),
    nullif(pg_catalog.current_setting('role'), 'none'),
    session_user)
$$;
comment on function scrapeguard.current_change_actor() is
  'Who is changing events: set_change_context''s actor, else the JWT''s sub (as text: any auth provider), else the role in effect.';

create or replace function scrapeguard.current_change_run_id() returns uuid
  language sql
  stable
  set search_path = ''
as $$
  select nullif(pg_catalog.current_setting('scrapeguard.run_id', true), '')::pg_catalog.uuid
$$;

-- The clock, unchanged but for the schema of the type it casts to (see 7 below).
create or replace function scrapeguard.clock() returns timestamptz
  language plpgsql
  volatile
  set search_path = ''
as $$
begin
  return coalesce(
    nullif(pg_catalog.current_setting('scrapeguard.now', true), '')::pg_catalog.timestamptz,
    (select coalesce(c.frozen_at, pg_catalog.clock_timestamp() + c.offset_by)
       from scrapeguard.clock_control c where c.id),
    pg_catalog.clock_timestamp()
  );
end
$$;

-- Unchanged but for its type names (see 7 above): the refresh calls it.
create or replace function scrapeguard.function_body_expression(fn regprocedure) returns text
  language plpgsql
  stable
  set search_path = ''
as $$
declare
  p pg_catalog.pg_proc;
  v_body pg_catalog.text;
  v_match pg_catalog.text[];
  v_type pg_catalog.regtype;
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
  if v_type is distinct from p.prorettype::pg_catalog.regtype then
    return null;
  end if;
  return v_body;
end
$$;

-- ---------------------------------------------------------------------------
-- 6. Renamed columns keep their history
-- ---------------------------------------------------------------------------

-- The names the columns of public.events had at the last refresh, by attribute
-- number: a column renamed since then has the same number and a new name.
create table if not exists scrapeguard.event_column_names (
  attnum integer primary key,
  column_name text not null,
  constraint event_column_names_attnum_is_a_column check (attnum between 1 and 1600),
  constraint event_column_names_name_not_empty check (column_name <> '')
);
comment on table scrapeguard.event_column_names is
  'The column names of public.events at the last refresh_event_revision_trigger(), by attnum; how the refresh recognises a renamed column.';
alter table scrapeguard.event_column_names enable row level security;
revoke all on table scrapeguard.event_column_names from public, anon, authenticated;
grant select on table scrapeguard.event_column_names to service_role;

-- A whole-row image with its keys renamed (renames: {"old": "new", …}); a key that
-- a rename is about to take over (left by a column dropped earlier) gives way.
create or replace function scrapeguard.renamed_keys(image jsonb, renames jsonb) returns jsonb
  language sql
  immutable
  set search_path = ''
as $$
  select case when image is null then null
              else coalesce((select pg_catalog.jsonb_object_agg(coalesce(renames ->> e.key, e.key), e.value)
                               from pg_catalog.jsonb_each(image) e
                              where renames ? e.key
                                 or not exists (select from pg_catalog.jsonb_each_text(renames) r where r.value = e.key)),
                            '{}'::pg_catalog.jsonb) end
$$;
comment on function scrapeguard.renamed_keys(jsonb, jsonb) is
  'A jsonb object with keys renamed by a {"old": "new"} map (for history that follows a renamed column).';
revoke all on function scrapeguard.renamed_keys(jsonb, jsonb) from public, anon, authenticated;
grant execute on function scrapeguard.renamed_keys(jsonb, jsonb) to service_role;

-- Moves the history of the columns renamed since the last refresh to their new
-- names (update rows' field_name, the keys of whole-row images) and renames them in
-- revision_noise_columns, then records the current names. Returns how many columns
-- were renamed. Runs inside refresh_event_revision_trigger(), in the transaction of
-- the ALTER TABLE ... RENAME that holds events' lock: no event is written meanwhile.
-- One pass over event_revisions: renames are rare, schema-migration-time events.
create or replace function scrapeguard.carry_over_renamed_event_columns() returns integer
  language plpgsql
  volatile
  set search_path = ''
as $$
declare
  v_renames pg_catalog.jsonb;
  v_from pg_catalog.text[];
  v_count integer;
begin
  select pg_catalog.jsonb_object_agg(s.column_name, a.attname::pg_catalog.text), pg_catalog.array_agg(s.column_name)
    into v_renames, v_from
    from scrapeguard.event_column_names s
    join pg_catalog.pg_attribute a
      on a.attrelid = 'public.events'::pg_catalog.regclass and a.attnum = s.attnum and not a.attisdropped
   where a.attname::pg_catalog.text <> s.column_name;
  v_count := coalesce(pg_catalog.cardinality(v_from), 0);

  if v_count > 0 then
    update public.event_revisions r
       set field_name = v_renames ->> r.field_name
     where r.operation = 'update' and r.field_name = any (v_from);
    update public.event_revisions r
       set old_value = scrapeguard.renamed_keys(r.old_value, v_renames),
           new_value = scrapeguard.renamed_keys(r.new_value, v_renames)
     where r.operation <> 'update'
       and (r.old_value ?| v_from or r.new_value ?| v_from);
  end if;

  -- Record the names first: renaming noise columns below runs the refresh again
  -- (the noise table's statement trigger), which must then find nothing to carry.
  delete from scrapeguard.event_column_names;
  insert into scrapeguard.event_column_names (attnum, column_name)
  select a.attnum, a.attname::pg_catalog.text
    from pg_catalog.pg_attribute a
   where a.attrelid = 'public.events'::pg_catalog.regclass and a.attnum > 0 and not a.attisdropped;

  if v_count > 0 then
    update scrapeguard.revision_noise_columns n
       set column_name = v_renames ->> n.column_name
     where n.column_name = any (v_from)
       and not exists (select from scrapeguard.revision_noise_columns o
                        where o.column_name = v_renames ->> n.column_name);
  end if;
  return v_count;
end
$$;
comment on function scrapeguard.carry_over_renamed_event_columns() is
  'Moves the revision history (and noise setting) of columns of public.events renamed since the last refresh to their new names; returns how many were renamed.';
revoke all on function scrapeguard.carry_over_renamed_event_columns() from public, anon, authenticated;
grant execute on function scrapeguard.carry_over_renamed_event_columns() to service_role;

-- The names as they are now (an events table renamed between 000009 and this
-- migration cannot be told apart from one that was created that way).
insert into scrapeguard.event_column_names (attnum, column_name)
select a.attnum, a.attname::pg_catalog.text
  from pg_catalog.pg_attribute a
 where a.attrelid = 'public.events'::pg_catalog.regclass and a.attnum > 0 and not a.attisdropped
on conflict (attnum) do nothing;

-- ---------------------------------------------------------------------------
-- The generated triggers, regenerated
-- ---------------------------------------------------------------------------

-- Builds, from the columns public.events has now, the noise-column setting and the
-- clock/attribution helpers: scrapeguard.event_revisions_on_update() and the WHEN
-- clause of its trigger, scrapeguard.event_revisions_on_insert_delete(), and
-- scrapeguard.event_revisions_on_truncate(); first it carries the history of
-- renamed columns over to their new names. Run it after the app adds, renames,
-- retypes or drops a column of events, or after a migration changes
-- current_change_actor(), current_change_run_id() or scrapeguard.clock(), whose
-- bodies it embeds when they are single expressions (it also runs by itself when
-- revision_noise_columns changes).
--
-- Per changed event the generated code spends two queries: one reads the next
-- revision number and the time, one INSERT writes the rows (the attribution
-- expressions inside it); pg_notify is evaluated as a PL/pgSQL simple expression.
--
-- The triggers are named _scrapeguard_event_revisions_*: PostgreSQL fires the AFTER
-- triggers of a row in name order, and "_" sorts before the lower-case letters app
-- trigger names start with, so a change is recorded before an app trigger that
-- updates the same event again (whose change is then recorded after it).
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
