--! Previous: sha1:7f9d94e123122a4176e0080b43b3806e6427a470
--! Hash: sha1:7c1ab211cece98b70b797118060ed5cbc55d2d20
--! Message: event revisions

-- Event revisions: a field-level history of public.events.
--
--   * public.event_revisions: one row per changed field of an UPDATE, one row with
--     the whole row for an INSERT or a DELETE (so history survives the event), and
--     'baseline' rows (a whole-row state where older history is not kept: written at
--     install time for existing events and by pruning);
--   * triggers named _scrapeguard_* on public.events (the one allowed touch of an app
--     table). The trigger functions and the WHEN clause of the UPDATE trigger are
--     generated from the catalog by scrapeguard.refresh_event_revision_trigger(): the
--     WHEN clause compares every tracked column, so re-scrapes that only touch noise
--     columns (updated_at, last_scraped_at, scrape_hash, …) never call the function
--     at all, and the function compares the real columns instead of diffing
--     to_jsonb(old)/to_jsonb(new). The names start with an underscore so that they
--     fire before the app's own AFTER triggers (PostgreSQL fires them in name order)
--     and record the change the statement made, not what a later trigger did;
--   * columns of any type: a type whose "=" lives in another schema (hstore, ltree,
--     vector… in Supabase's extensions schema), or an array of a type without any
--     equality (xml[]), is compared through its text form; a value that to_jsonb
--     cannot give back (hstore, arrays of json) is recorded as its text form, which
--     jsonb_populate_record reads back exactly;
--   * renamed columns keep their history (scrapeguard.event_column_names), dropped
--     columns' history is set aside under "<name> (dropped)";
--   * attribution from public.set_change_context(run_id, actor) (transaction-local
--     settings), else the request JWT's sub as text (a third-party auth provider's
--     subs are not uuids), else the role;
--   * point-in-time reads public.event_history/event_as_of/events_as_of, a pg_notify
--     on channel 'scrapeguard_event_changes', membership of supabase_realtime, and
--     retention with public.prune_event_revisions.
--
-- Every statement is idempotent: running this file twice leaves the same catalog.

-- ---------------------------------------------------------------------------
-- The history table
-- ---------------------------------------------------------------------------

create table if not exists public.event_revisions (
  -- A global, increasing id: the primary key (field_name is null on whole-row rows,
  -- so it cannot be part of one) and a cheap "changes since id N" cursor.
  id bigint generated always as identity primary key,
  -- No foreign key to events: the history must outlive the event it describes.
  event_id uuid not null,
  -- Per event, 1, 2, 3 … with no gaps: all rows written by one change share it.
  revision integer not null,
  operation text not null,
  field_name text,
  old_value jsonb,
  new_value jsonb,
  changed_at timestamptz not null,
  -- The scraping run that made the change. ON DELETE SET NULL: pruning runs must
  -- not erase event history. Indexed (event_revisions_run_id_idx) for the key's checks.
  run_id uuid constraint event_revisions_run_id_fkey
    references public.scraping_runs (id) on delete set null,
  actor text,
  -- One row per field per revision, and one whole-row row per revision (nulls not
  -- distinct). Its index, scanned backward, is also "one event's history, newest
  -- first" and finds the next revision number (max(revision)) in one descent.
  constraint event_revisions_one_row_per_field unique nulls not distinct (event_id, revision, field_name)
);

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

-- The invariants of a row as one CHECK through a function rather than a CHECK per
-- invariant: PostgreSQL reads every CHECK of a table back from its stored node tree
-- and prepares it at the start of each INSERT statement, and the revision trigger
-- runs one INSERT per changed event; a single function call on the whole row is a
-- fraction of the node text of separate CHECKs (bench/RESULTS.md). The function takes
-- the table's row type, so the constraint is added once the table exists.
do $check$
begin
  if not exists (select from pg_catalog.pg_constraint c
                  where c.conrelid = 'public.event_revisions'::regclass
                    and c.conname = 'event_revisions_well_formed') then
    alter table public.event_revisions
      add constraint event_revisions_well_formed
      check (scrapeguard.event_revision_is_well_formed(event_revisions));
  end if;
end
$check$;

comment on table public.event_revisions is
  'Field-level history of public.events, written by the scrapeguard_* triggers on events. One row per changed field of an update; one whole-row row per insert, delete, or baseline (a state whose earlier history is not kept). Read with event_history / event_as_of / events_as_of.';
comment on column public.event_revisions.revision is
  'Per-event change number from 1 without gaps; every row of one change (one UPDATE of one event) shares it.';
comment on column public.event_revisions.operation is
  'insert | update | delete | baseline. baseline: the whole row as it was at this revision, standing in for older history that is not kept (install time, pruning).';
comment on column public.event_revisions.field_name is
  'The column changed (update rows); null on whole-row rows (insert, delete, baseline).';
comment on column public.event_revisions.old_value is
  'to_jsonb of the value before (update), the whole row before (delete); SQL null when the column was null.';
comment on column public.event_revisions.new_value is
  'to_jsonb of the value after (update), the whole row after (insert, baseline); SQL null when the column became null.';
comment on column public.event_revisions.changed_at is 'scrapeguard.clock() when the change was recorded.';
comment on column public.event_revisions.run_id is
  'The scraping run of the change (set_change_context); null for edits outside a run and for baselines.';
comment on column public.event_revisions.actor is
  'Who changed it: set_change_context''s actor, else the JWT''s sub (auth.uid()), else the database role. Null only on baselines.';

create index if not exists event_revisions_run_id_idx
  on public.event_revisions (run_id) where run_id is not null;
comment on index public.event_revisions_run_id_idx is
  'Revisions of a scraping run; also serves the foreign key to scraping_runs (its checks look up run_id = $1, which implies not null).';

-- changed_at grows with the insertion order, so a BRIN index is tiny and almost free
-- to maintain, and still lets pruning by age and "changes since" reads skip old pages.
create index if not exists event_revisions_changed_at_brin
  on public.event_revisions using brin (changed_at);

alter table public.event_revisions enable row level security;
revoke all on table public.event_revisions from public, anon, authenticated;
grant select on table public.event_revisions to authenticated;
grant all on table public.event_revisions to service_role;
revoke all on sequence public.event_revisions_id_seq from public, anon, authenticated;
grant usage, select on sequence public.event_revisions_id_seq to service_role;
drop policy if exists "admins read event_revisions" on public.event_revisions;
create policy "admins read event_revisions" on public.event_revisions
  for select to authenticated using ((select scrapeguard.is_admin()));

do $realtime$
begin
  if exists (select from pg_catalog.pg_publication p where p.pubname = 'supabase_realtime' and not p.puballtables)
     and not exists (select from pg_catalog.pg_publication_rel pr
                       join pg_catalog.pg_publication p on p.oid = pr.prpubid
                      where p.pubname = 'supabase_realtime'
                        and pr.prrelid = 'public.event_revisions'::regclass) then
    alter publication supabase_realtime add table public.event_revisions;
  end if;
end
$realtime$;

-- ---------------------------------------------------------------------------
-- Noise columns: changes to these alone are not history
-- ---------------------------------------------------------------------------

create table if not exists scrapeguard.revision_noise_columns (
  column_name text primary key,
  reason text not null,
  -- The primary key is the event's identity, never noise.
  constraint revision_noise_columns_not_id check (column_name <> 'id'),
  constraint revision_noise_columns_name_not_empty check (column_name <> '')
);
comment on table scrapeguard.revision_noise_columns is
  'Columns of public.events whose changes are not recorded. Editing this table regenerates the revision trigger (statement trigger below). Names that events lacks are ignored.';
alter table scrapeguard.revision_noise_columns enable row level security;
revoke all on table scrapeguard.revision_noise_columns from public, anon, authenticated;
grant select, insert, update, delete on table scrapeguard.revision_noise_columns to service_role;
-- Closed to roles that do not bypass RLS, explicitly (000001 says why).
drop policy if exists "internal: no direct access" on scrapeguard.revision_noise_columns;
create policy "internal: no direct access" on scrapeguard.revision_noise_columns
  as restrictive for all to public using (false) with check (false);

insert into scrapeguard.revision_noise_columns (column_name, reason) values
  ('updated_at', 'set by the app''s trigger on every write, real change or not'),
  ('last_scraped_at', 'changes on every re-scrape even when the event did not change'),
  ('scrape_hash', 'fingerprint of the scraped page: markup changes move it, not the event'),
  ('search_vector', 'derived from title/description by the app''s trigger; those columns are recorded'),
  ('view_count', 'a counter bumped by page views, not an edit of the event')
on conflict (column_name) do nothing;

-- ---------------------------------------------------------------------------
-- Renamed columns keep their history
-- ---------------------------------------------------------------------------

-- The names the columns of public.events had at the last refresh, by attribute
-- number: a column renamed since then has the same number and a new name.
create table if not exists scrapeguard.event_column_names (
  attnum integer primary key,
  column_name text not null,
  -- Which events table the names were recorded for: names recorded for another
  -- (dropped and created again, or restored from a dump, which numbers the columns
  -- afresh) say nothing about renames. 0 is no table.
  events_oid oid not null default 0,
  constraint event_column_names_attnum_is_a_column check (attnum between 1 and 1600),
  constraint event_column_names_name_not_empty check (column_name <> '')
);
comment on table scrapeguard.event_column_names is
  'The column names of public.events at the last refresh_event_revision_trigger(), by attnum; how the refresh recognises a renamed column.';
alter table scrapeguard.event_column_names enable row level security;
revoke all on table scrapeguard.event_column_names from public, anon, authenticated;
grant select on table scrapeguard.event_column_names to service_role;
drop policy if exists "internal: no direct access" on scrapeguard.event_column_names;
create policy "internal: no direct access" on scrapeguard.event_column_names
  as restrictive for all to public using (false) with check (false);
comment on column scrapeguard.event_column_names.events_oid is
  'The public.events table the names were recorded for; names recorded for another (recreated, restored) table are not renames.';

-- ---------------------------------------------------------------------------
-- Catalog helpers for the generated triggers
-- ---------------------------------------------------------------------------

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
revoke all on function scrapeguard.type_recorded_as_text(oid) from public, anon, authenticated;
grant execute on function scrapeguard.type_recorded_as_text(oid) to service_role;

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

create or replace function scrapeguard.event_revision_columns()
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
comment on function scrapeguard.function_body_expression(regprocedure) is
  'The body of a zero-argument function that is a single expression (SQL: one SELECT; PL/pgSQL: one RETURN) as an expression to embed in generated code, or null if it is not of that shape.';
revoke all on function scrapeguard.function_body_expression(regprocedure) from public, anon, authenticated;
grant execute on function scrapeguard.function_body_expression(regprocedure) to service_role;

-- ---------------------------------------------------------------------------
-- Carrying history across renames
-- ---------------------------------------------------------------------------

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
-- were renamed; the history of dropped columns is set aside under "<name> (dropped
-- <row id>)" so that a later column of the same name starts without it. Runs inside
-- refresh_event_revision_trigger(); when there is history to carry it locks events,
-- then pruning's lock, so that no event is written and no pruning rewrites images
-- meanwhile. One pass over event_revisions: renames are rare, schema-migration-time
-- events.
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
revoke all on function scrapeguard.carry_over_renamed_event_columns() from public, anon, authenticated;
grant execute on function scrapeguard.carry_over_renamed_event_columns() to service_role;

-- ---------------------------------------------------------------------------
-- Attribution
-- ---------------------------------------------------------------------------

create or replace function public.set_change_context(run_id uuid, actor text default null) returns void
  language plpgsql
  volatile
  set search_path = ''
as $$
begin
  if set_change_context.actor is not null
     and (set_change_context.actor = '' or pg_catalog.length(set_change_context.actor) > 200) then
    raise exception 'set_change_context: actor must be 1 to 200 characters (or null)'
      using errcode = '22023';
  end if;
  if set_change_context.run_id is not null
     and not exists (select from public.scraping_runs r where r.id = set_change_context.run_id) then
    raise exception 'set_change_context: unknown run %', set_change_context.run_id
      using errcode = 'SG002',
            hint = 'Pass the id returned by start_run(), or null for changes outside a run.';
  end if;
  -- is_local = true: the values end with the transaction, so a pooled connection
  -- (Supavisor in transaction mode) never carries them into someone else's work.
  -- (A SET clause on this function restores only search_path on exit; these stay.)
  perform pg_catalog.set_config('scrapeguard.run_id', coalesce(set_change_context.run_id::text, ''), true);
  perform pg_catalog.set_config('scrapeguard.actor', coalesce(set_change_context.actor, ''), true);
end
$$;
comment on function public.set_change_context(uuid, text) is
  'Attributes the event changes of the current transaction to a scraping run and/or an actor (transaction-local settings scrapeguard.run_id / scrapeguard.actor). Nulls clear them. SG002 for a run that does not exist.';
revoke all on function public.set_change_context(uuid, text) from public, anon, authenticated;
grant execute on function public.set_change_context(uuid, text) to service_role;

-- Who is changing events, in this order: set_change_context's actor; the request
-- JWT's sub, read from the request settings as auth.uid() reads it but kept as text
-- (a third-party auth provider's subs are not uuids, and auth.uid()'s cast would fail
-- the write); the role the session switched to (PostgREST: set local role ...),
-- since inside the SECURITY DEFINER trigger current_user is the owner; else the login
-- role. The generated triggers embed this body (function_body_expression), so keep it
-- one SELECT.
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
revoke all on function scrapeguard.current_change_actor() from public, anon, authenticated;
grant execute on function scrapeguard.current_change_actor() to service_role;

create or replace function scrapeguard.current_change_run_id() returns uuid
  language sql
  stable
  set search_path = ''
as $$
  select nullif(pg_catalog.current_setting('scrapeguard.run_id', true), '')::pg_catalog.uuid
$$;
comment on function scrapeguard.current_change_run_id() is
  'The scraping run set by set_change_context for this transaction, or null.';
revoke all on function scrapeguard.current_change_run_id() from public, anon, authenticated;
grant execute on function scrapeguard.current_change_run_id() to service_role;

-- ---------------------------------------------------------------------------
-- The generated triggers
-- ---------------------------------------------------------------------------

-- The generated trigger functions are SECURITY DEFINER: an authenticated user whom
-- the app's policies allow to edit an event must still get the change recorded, but
-- may neither write nor read event_revisions (RLS, revoked grants). They run as their
-- owner, the migration role (postgres on Supabase), which owns event_revisions; they
-- only write rows built from OLD/NEW and the attribution settings, with
-- search_path = ''.
--
-- The code is generated by small functions, each of one piece of text, so that a
-- change to one piece is a change to one function (tests/pgtap/revisions_generator.sql
-- compares each one's text): the condition "a column changed", the WHEN clause, the
-- per-column check of the update body, the whole-row revision (snapshot), and the
-- three bodies. They take what they need as arguments and read no catalog;
-- refresh_event_revision_trigger() reads the catalog, calls them and installs the
-- result. The expressions of the clock and the attribution helpers are passed in
-- (clock, run_id, actor): the refresh embeds those helpers' bodies when they are one
-- expression (function_body_expression), which saves a query per changed event.

-- "Column changed": IS DISTINCT FROM between old and new, through the text form for
-- a type whose equality code with search_path = '' cannot use (type_has_equality).
create or replace function scrapeguard.revision_changed_sql(column_name text, compare_as_text boolean)
  returns text
  language sql
  immutable
  set search_path = ''
as $$
  select case when compare_as_text
              then pg_catalog.format('old.%1$I::pg_catalog.text is distinct from new.%1$I::pg_catalog.text', column_name)
              else pg_catalog.format('old.%1$I is distinct from new.%1$I', column_name) end
$$;
comment on function scrapeguard.revision_changed_sql(text, boolean) is
  'Generated-code condition: the column differs between old and new (compared as text when compare_as_text).';
revoke all on function scrapeguard.revision_changed_sql(text, boolean) from public, anon, authenticated;
grant execute on function scrapeguard.revision_changed_sql(text, boolean) to service_role;

-- The WHEN clause of the update trigger: the id or any tracked column changed. It is
-- evaluated before the row is queued, so an update that changes only noise columns
-- (a re-scrape of an unchanged page) or nothing costs one comparison per column and
-- no function call.
create or replace function scrapeguard.revision_when_sql(tracked text[], compared_as_text text[])
  returns text
  language sql
  immutable
  set search_path = ''
as $$
  select pg_catalog.array_to_string(
    array['old.id is distinct from new.id']
      || array(select scrapeguard.revision_changed_sql(t.name, t.name = any (compared_as_text))
                 from pg_catalog.unnest(tracked) with ordinality as t (name, n)
                order by t.n),
    ' or ')
$$;
comment on function scrapeguard.revision_when_sql(text[], text[]) is
  'Generated-code WHEN clause of the update trigger: old.id or any tracked column differs from new.';
revoke all on function scrapeguard.revision_when_sql(text[], text[]) from public, anon, authenticated;
grant execute on function scrapeguard.revision_when_sql(text[], text[]) to service_role;

-- One tracked column in the update body: when it changed, append its name and its
-- old and new values (jsonb; the text form for a type recorded as text).
create or replace function scrapeguard.revision_field_check_sql(
  column_name text, compare_as_text boolean, recorded_as_text boolean
) returns text
  language sql
  immutable
  set search_path = ''
as $$
  select pg_catalog.format($chk$
  if %1$s then
    v_fields := v_fields || %2$L::pg_catalog.text;
    v_old := v_old || pg_catalog.to_jsonb(old.%3$I%4$s);
    v_new := v_new || pg_catalog.to_jsonb(new.%3$I%4$s);
  end if;$chk$,
    scrapeguard.revision_changed_sql(column_name, compare_as_text), column_name, column_name,
    case when recorded_as_text then '::pg_catalog.text' else '' end)
$$;
comment on function scrapeguard.revision_field_check_sql(text, boolean, boolean) is
  'Generated-code block of the update body for one tracked column: collect its name, old and new value when it changed.';
revoke all on function scrapeguard.revision_field_check_sql(text, boolean, boolean) from public, anon, authenticated;
grant execute on function scrapeguard.revision_field_check_sql(text, boolean, boolean) to service_role;

-- A whole-row revision of record `rec` (old or new) as `operation`; old_value and
-- new_value are the expressions stored in those columns (one of them 'null'). The
-- next revision number and the time come in one query; pg_notify is evaluated as a
-- PL/pgSQL simple expression (an IF) rather than a PERFORM, which would run a query.
create or replace function scrapeguard.revision_snapshot_sql(
  rec text, operation text, old_value text, new_value text, clock text, run_id text, actor text
) returns text
  language sql
  immutable
  set search_path = ''
as $$
  select pg_catalog.format($snap$
    select coalesce(max(r.revision), 0) + 1, %5$s
      into v_rev, v_at
      from public.event_revisions r where r.event_id = %1$s.id;
    insert into public.event_revisions (event_id, revision, operation, old_value, new_value, changed_at, run_id, actor)
    values (%1$s.id, v_rev, %2$L, %3$s, %4$s, v_at, %6$s, %7$s);
    if pg_catalog.pg_notify('scrapeguard_event_changes',
         pg_catalog.format('{"event_id":"%%s","revision":%%s,"operation":"%2$s","fields":null}', %1$s.id, v_rev)) is null then
      null;  -- never: the IF only makes pg_notify a simple expression
    end if;$snap$,
    rec, operation, old_value, new_value, clock, run_id, actor)
$$;
comment on function scrapeguard.revision_snapshot_sql(text, text, text, text, text, text, text) is
  'Generated-code block writing one whole-row revision (insert, delete) of record old or new, with its notification.';
revoke all on function scrapeguard.revision_snapshot_sql(text, text, text, text, text, text, text) from public, anon, authenticated;
grant execute on function scrapeguard.revision_snapshot_sql(text, text, text, text, text, text, text) to service_role;

-- The body of scrapeguard.event_revisions_on_insert_delete().
create or replace function scrapeguard.revision_insert_delete_body(
  text_form text[], clock text, run_id text, actor text
) returns text
  language sql
  immutable
  set search_path = ''
as $$
  select pg_catalog.format($tmpl$
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
    scrapeguard.revision_snapshot_sql('new', 'insert', 'null', scrapeguard.event_row_image_sql('new', text_form),
                                      clock, run_id, actor),
    scrapeguard.revision_snapshot_sql('old', 'delete', scrapeguard.event_row_image_sql('old', text_form), 'null',
                                      clock, run_id, actor))
$$;
comment on function scrapeguard.revision_insert_delete_body(text[], text, text, text) is
  'Generated-code body of the insert/delete row trigger: one whole-row revision per inserted or deleted event.';
revoke all on function scrapeguard.revision_insert_delete_body(text[], text, text, text) from public, anon, authenticated;
grant execute on function scrapeguard.revision_insert_delete_body(text[], text, text, text) to service_role;

-- The body of scrapeguard.event_revisions_on_update(): tracked, noise and text_form
-- name columns in column order (compared_as_text: the tracked ones compared through
-- their text form).
create or replace function scrapeguard.revision_update_body(
  tracked text[], noise text[], compared_as_text text[], text_form text[], clock text, run_id text, actor text
) returns text
  language sql
  immutable
  set search_path = ''
as $$
  select pg_catalog.format($tmpl$
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
    coalesce(nullif(pg_catalog.array_to_string(tracked, ', '), ''), '(none)'),
    coalesce(nullif(pg_catalog.array_to_string(noise, ', '), ''), '(none)'),
    scrapeguard.revision_snapshot_sql('old', 'delete', scrapeguard.event_row_image_sql('old', text_form), 'null',
                                      clock, run_id, actor),
    scrapeguard.revision_snapshot_sql('new', 'insert', 'null', scrapeguard.event_row_image_sql('new', text_form),
                                      clock, run_id, actor),
    (select coalesce(pg_catalog.string_agg(
              scrapeguard.revision_field_check_sql(t.name, t.name = any (compared_as_text), t.name = any (text_form)),
              '' order by t.n), '')
       from pg_catalog.unnest(tracked) with ordinality as t (name, n)),
    clock, run_id, actor,
    coalesce(nullif(pg_catalog.array_to_string(text_form, ', '), ''), '(none)'),
    scrapeguard.event_row_image_sql('old', text_form))
$$;
comment on function scrapeguard.revision_update_body(text[], text[], text[], text[], text, text, text) is
  'Generated-code body of the update row trigger: one revision row per changed tracked column (a delete and an insert when the id changes).';
revoke all on function scrapeguard.revision_update_body(text[], text[], text[], text[], text, text, text) from public, anon, authenticated;
grant execute on function scrapeguard.revision_update_body(text[], text[], text[], text[], text, text, text) to service_role;

-- The body of scrapeguard.event_revisions_on_truncate(). It calls the clock and the
-- attribution helpers once per statement, so it does not embed them.
create or replace function scrapeguard.revision_truncate_body(text_form text[])
  returns text
  language sql
  immutable
  set search_path = ''
as $$
  select pg_catalog.format($tmpl$
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
    scrapeguard.event_row_image_sql('e', text_form))
$$;
comment on function scrapeguard.revision_truncate_body(text[]) is
  'Generated-code body of the truncate statement trigger: a whole-row delete revision of every event.';
revoke all on function scrapeguard.revision_truncate_body(text[]) from public, anon, authenticated;
grant execute on function scrapeguard.revision_truncate_body(text[]) to service_role;

-- Reads the columns of public.events, the noise setting and the helpers, generates
-- the three trigger functions and the WHEN clause with the functions above, and
-- installs them (after carrying the history of renamed columns to their new names).
-- Run it after the app adds, renames or drops a column of events, or after a
-- migration changes current_change_actor() / current_change_run_id() or
-- scrapeguard.clock(), whose bodies it embeds (it also runs by itself when
-- revision_noise_columns changes).
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
  c pg_catalog.record;
  v_tracked pg_catalog.text[] := '{}';
  v_noise pg_catalog.text[] := '{}';
  v_as_text pg_catalog.text[] := '{}';
  v_text_form pg_catalog.text[] := '{}';
  v_clock pg_catalog.text;
  v_run pg_catalog.text;
  v_actor pg_catalog.text;
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
    if c.compare_as_text then
      v_as_text := v_as_text || c.column_name;
    end if;
  end loop;

  v_update_body := scrapeguard.revision_update_body(v_tracked, v_noise, v_as_text, v_text_form, v_clock, v_run, v_actor);
  v_insert_delete_body := scrapeguard.revision_insert_delete_body(v_text_form, v_clock, v_run, v_actor);
  v_truncate_body := scrapeguard.revision_truncate_body(v_text_form);

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

  drop trigger if exists _scrapeguard_event_revisions_update on public.events;
  execute pg_catalog.format(
    'create trigger _scrapeguard_event_revisions_update after update on public.events '
    'for each row when (%s) execute function scrapeguard.event_revisions_on_update()',
    scrapeguard.revision_when_sql(v_tracked, v_as_text));
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
revoke all on function scrapeguard.refresh_event_revision_trigger() from public, anon, authenticated;
grant execute on function scrapeguard.refresh_event_revision_trigger() to service_role;

create or replace function scrapeguard.revision_noise_columns_changed() returns trigger
  language plpgsql
  set search_path = ''
as $$
begin
  perform scrapeguard.refresh_event_revision_trigger();
  return null;
end
$$;
comment on function scrapeguard.revision_noise_columns_changed() is
  'Applies an edit of scrapeguard.revision_noise_columns to the revision trigger at once.';
revoke all on function scrapeguard.revision_noise_columns_changed() from public, anon, authenticated;
grant execute on function scrapeguard.revision_noise_columns_changed() to service_role;

drop trigger if exists scrapeguard_refresh_event_revision_trigger on scrapeguard.revision_noise_columns;
create trigger scrapeguard_refresh_event_revision_trigger
  after insert or update or delete or truncate on scrapeguard.revision_noise_columns
  for each statement execute function scrapeguard.revision_noise_columns_changed();

-- ---------------------------------------------------------------------------
-- Reads (SECURITY INVOKER: RLS on event_revisions decides what a caller sees)
-- ---------------------------------------------------------------------------

create or replace function public.event_history(event_id uuid) returns setof public.event_revisions
  language sql
  stable
  set search_path = ''
as $$
  select r.*
    from public.event_revisions r
   where r.event_id = event_history.event_id
   order by r.revision desc, r.id
$$;
comment on function public.event_history(uuid) is
  'Every kept revision row of one event, newest revision first (rows of one revision in column order).';
revoke all on function public.event_history(uuid) from public, anon, authenticated;
grant execute on function public.event_history(uuid) to authenticated, service_role;

create or replace function public.event_as_of(event_id uuid, at timestamptz) returns public.events
  language plpgsql
  stable
  set search_path = ''
as $$
declare
  v_first public.event_revisions;
  v_snap public.event_revisions;
  v_target integer;
  v_fields jsonb;
begin
  if event_as_of.event_id is null or event_as_of.at is null then
    raise exception 'event_as_of: event_id and at are required' using errcode = '22004';
  end if;
  select r.* into v_first
    from public.event_revisions r
   where r.event_id = event_as_of.event_id
   order by r.revision, r.id
   limit 1;
  if not found then
    return null;  -- no history: never an event (or not visible to the caller)
  end if;
  select max(r.revision) into v_target
    from public.event_revisions r
   where r.event_id = event_as_of.event_id and r.changed_at <= event_as_of.at;
  if v_target is null then
    -- Before the first kept revision: "did not exist" only if that is its creation.
    if v_first.revision = 1 and v_first.operation = 'insert' then
      return null;
    end if;
    raise exception 'event_as_of: the history of event % before % is not kept', event_as_of.event_id, v_first.changed_at
      using errcode = '22023',
            detail = pg_catalog.format('Its oldest kept revision is %s (%s at %s).',
                                       v_first.revision, v_first.operation, v_first.changed_at),
            hint = 'Ask for a time at or after the oldest kept revision.';
  end if;
  -- The latest whole-row state at or before the target, then the fields changed since.
  select r.* into v_snap
    from public.event_revisions r
   where r.event_id = event_as_of.event_id and r.revision <= v_target and r.field_name is null
   order by r.revision desc
   limit 1;
  if not found then
    raise exception 'event_as_of: the history of event % has no whole-row state before revision %',
      event_as_of.event_id, v_target
      using errcode = '22023';
  end if;
  if v_snap.operation = 'delete' then
    return null;  -- deleted at that time
  end if;
  select pg_catalog.jsonb_object_agg(u.field_name, u.new_value) into v_fields
    from (select distinct on (r.field_name) r.field_name, r.new_value
            from public.event_revisions r
           where r.event_id = event_as_of.event_id
             and r.revision > v_snap.revision and r.revision <= v_target
           order by r.field_name, r.revision desc) u;
  return pg_catalog.jsonb_populate_record(null::public.events, v_snap.new_value || coalesce(v_fields, '{}'::jsonb));
end
$$;
comment on function public.event_as_of(uuid, timestamptz) is
  'The events row as it was at `at` (after every revision with changed_at <= at); null when it did not exist or was deleted then. Raises 22023 when history before `at` is not kept.';
revoke all on function public.event_as_of(uuid, timestamptz) from public, anon, authenticated;
grant execute on function public.event_as_of(uuid, timestamptz) to authenticated, service_role;

create or replace function public.events_as_of(at timestamptz) returns setof public.events
  language plpgsql
  stable
  set search_path = ''
as $$
declare
  v_unknown bigint;
  v_from timestamptz;
begin
  if events_as_of.at is null then
    raise exception 'events_as_of: at is required' using errcode = '22004';
  end if;
  -- Refuse rather than leave out events whose state at `at` is not kept.
  with heads as (
    select r.event_id,
           max(r.revision) filter (where r.changed_at <= events_as_of.at) as target,
           bool_or(r.revision = 1 and r.operation = 'insert') as from_creation,
           min(r.changed_at) as first_at
      from public.event_revisions r
     group by r.event_id
  )
  select count(*), max(h.first_at) into v_unknown, v_from
    from heads h
   where (h.target is null and not h.from_creation)
      or (h.target is not null
          and not exists (select from public.event_revisions s
                           where s.event_id = h.event_id and s.revision <= h.target and s.field_name is null));
  if v_unknown > 0 then
    raise exception 'events_as_of: the history of % event(s) before % is not kept', v_unknown, events_as_of.at
      using errcode = '22023',
            detail = pg_catalog.format('All events can be rebuilt from %s on.', v_from),
            hint = 'Ask for a later time, or use event_as_of for single events.';
  end if;

  return query
  with heads as (
    select r.event_id, max(r.revision) as target
      from public.event_revisions r
     where r.changed_at <= events_as_of.at
     group by r.event_id
  ),
  snaps as (
    select distinct on (h.event_id) h.event_id, h.target, s.revision, s.operation, s.new_value
      from heads h
      join public.event_revisions s
        on s.event_id = h.event_id and s.revision <= h.target and s.field_name is null
     order by h.event_id, s.revision desc
  ),
  fields as (
    select f.event_id, pg_catalog.jsonb_object_agg(f.field_name, f.new_value) as changes
      from (select distinct on (r.event_id, r.field_name) r.event_id, r.field_name, r.new_value
              from snaps s
              join public.event_revisions r
                on r.event_id = s.event_id and r.revision > s.revision and r.revision <= s.target
             order by r.event_id, r.field_name, r.revision desc) f
     group by f.event_id
  )
  select e.*
    from snaps s
    left join fields f on f.event_id = s.event_id
   cross join lateral pg_catalog.jsonb_populate_record(null::public.events,
                                                       s.new_value || coalesce(f.changes, '{}'::jsonb)) e
   where s.operation <> 'delete';
end
$$;
comment on function public.events_as_of(timestamptz) is
  'Every event as it was at `at` (deleted and not-yet-created ones left out). Raises 22023 when some event''s history before `at` is not kept.';
revoke all on function public.events_as_of(timestamptz) from public, anon, authenticated;
grant execute on function public.events_as_of(timestamptz) to authenticated, service_role;

-- ---------------------------------------------------------------------------
-- Retention
-- ---------------------------------------------------------------------------

create or replace function public.prune_event_revisions(
  keep_last integer default 10,
  older_than interval default null,
  out events_pruned bigint,
  out rows_deleted bigint,
  out baselines_written bigint
)
  language plpgsql
  volatile
  set search_path = ''
as $$
declare
  v_cutoff timestamptz;
begin
  if prune_event_revisions.keep_last is null and prune_event_revisions.older_than is null then
    raise exception 'prune_event_revisions: give keep_last, older_than or both' using errcode = '22004';
  end if;
  if prune_event_revisions.keep_last < 0 then
    raise exception 'prune_event_revisions: keep_last must be >= 0 (got %)', prune_event_revisions.keep_last
      using errcode = '22023';
  end if;
  if prune_event_revisions.older_than < interval '0' then
    raise exception 'prune_event_revisions: older_than must not be negative (got %)', prune_event_revisions.older_than
      using errcode = '22023';
  end if;
  v_cutoff := scrapeguard.clock() - prune_event_revisions.older_than;
  -- One pruning at a time; writers are never blocked (they only append revisions
  -- newer than anything a pruning touches).
  perform pg_catalog.pg_advisory_xact_lock(pg_catalog.hashtextextended('scrapeguard.prune_event_revisions', 0));

  with heads as (
    select r.event_id,
           max(r.revision) as last_rev,
           min(r.revision) as first_rev,
           max(r.revision) filter (where r.changed_at < v_cutoff) as old_rev
      from public.event_revisions r
     group by r.event_id
  ),
  -- p: the newest revision that goes. Removed: every revision outside the last
  -- keep_last AND (when older_than is given) older than older_than.
  cut as (
    select h.event_id, h.first_rev,
           case when prune_event_revisions.older_than is not null and h.old_rev is null then null
                when prune_event_revisions.older_than is null then h.last_rev - prune_event_revisions.keep_last
                when prune_event_revisions.keep_last is null then h.old_rev
                else least(h.last_rev - prune_event_revisions.keep_last, h.old_rev)
           end as p
      from heads h
  ),
  cand as (
    select c.event_id, c.first_rev, c.p, w.operation as whole_op
      from cut c
      left join public.event_revisions w
        on w.event_id = c.event_id and w.revision = c.p and w.field_name is null
     where c.p >= c.first_rev
  ),
  -- p is an update: its state (the latest whole row at or before p plus the fields
  -- changed since) becomes a baseline at revision p.
  snaps as (
    select distinct on (c.event_id) c.event_id, c.p, s.revision, s.operation, s.new_value
      from cand c
      join public.event_revisions s
        on s.event_id = c.event_id and s.revision <= c.p and s.field_name is null
     where c.whole_op is null
     order by c.event_id, s.revision desc
  ),
  bases as (
    select s.event_id, s.p,
           s.new_value || coalesce(
             (select pg_catalog.jsonb_object_agg(u.field_name, u.new_value)
                from (select distinct on (r.field_name) r.field_name, r.new_value
                        from public.event_revisions r
                       where r.event_id = s.event_id and r.revision > s.revision and r.revision <= s.p
                       order by r.field_name, r.revision desc) u),
             '{}'::jsonb) as state,
           (select max(r.changed_at) from public.event_revisions r
             where r.event_id = s.event_id and r.revision = s.p) as changed_at
      from snaps s
     where s.operation <> 'delete'
  ),
  -- What goes: everything before p; p itself too when it is folded into a baseline.
  -- p already a whole row (insert, delete, baseline) and the oldest: nothing to do.
  -- No whole row at or before p (cannot happen with these triggers): left alone.
  todo as (
    select c.event_id, c.p, false as fold
      from cand c
     where c.whole_op is not null and c.p > c.first_rev
    union all
    select b.event_id, b.p, true
      from bases b
  ),
  removed as (
    delete from public.event_revisions r
     using todo t
     where r.event_id = t.event_id
       and (r.revision < t.p or (t.fold and r.revision = t.p))
    returning r.id
  ),
  added as (
    insert into public.event_revisions (event_id, revision, operation, new_value, changed_at)
    select b.event_id, b.p, 'baseline', b.state, b.changed_at
      from bases b
    returning id
  )
  select (select count(*) from todo), (select count(*) from removed), (select count(*) from added)
    into events_pruned, rows_deleted, baselines_written;
end
$$;
comment on function public.prune_event_revisions(integer, interval) is
  'Removes revisions outside each event''s last keep_last and (if given) older than older_than, folding the newest removed state into a baseline row so every kept state stays exact. As-of reads before it then raise 22023.';
revoke all on function public.prune_event_revisions(integer, interval) from public, anon, authenticated;
grant execute on function public.prune_event_revisions(integer, interval) to service_role;

-- ---------------------------------------------------------------------------
-- Install
-- ---------------------------------------------------------------------------

-- Install: record the column names, generate the triggers, then give every event
-- that exists already a baseline: its state now, the start of its history (as-of
-- reads before it say the history is not kept). Idempotent: only events without any
-- revision.
select scrapeguard.refresh_event_revision_trigger();

insert into public.event_revisions (event_id, revision, operation, new_value, changed_at)
select e.id, 1, 'baseline', pg_catalog.to_jsonb(e), scrapeguard.clock()
  from public.events e
 where not exists (select from public.event_revisions r where r.event_id = e.id);
