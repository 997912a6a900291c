-- scrapeguard migration 000009 (exported from migrations/committed/000009-event-revisions.sql by npm run export:supabase).
-- Down script: migrations/rollback/000009.sql

-- Event revisions: a field-level history of public.events.
--
-- What it adds (brief §6, issue 4):
--   * public.event_revisions: one row per changed field of an UPDATE, one row with
--     the whole row for an INSERT or a DELETE (so history survives the event), and
--     'baseline' rows (a whole-row state where older history is not kept: written at
--     install time for existing events and by pruning);
--   * triggers named scrapeguard_* on public.events (the one allowed touch of an app
--     table). The UPDATE trigger and its WHEN clause are generated from the catalog by
--     scrapeguard.refresh_event_revision_trigger(): the WHEN clause compares every
--     tracked column, so re-scrapes that only touch noise columns (updated_at,
--     last_scraped_at, scrape_hash, …) never call the function at all, and the
--     function compares the real columns instead of diffing to_jsonb(old)/to_jsonb(new);
--   * attribution from public.set_change_context(run_id, actor) (transaction-local
--     settings), else the JWT's sub (auth.uid()), else the role;
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
  -- The scraping run that made the change; foreign key to public.scraping_runs
  -- (below, or added by the runs migration), indexed for that key's checks.
  run_id uuid,
  actor text,
  -- The invariants as CHECKs, kept few and small on purpose: the row trigger writes
  -- with one INSERT per changed event, and PostgreSQL re-reads and prepares every
  -- CHECK expression of the table at the start of each INSERT statement (measured
  -- ~1 µs per expression node: ~15 µs for these four against ~45 µs for a
  -- seven-constraint version with jsonb_typeof checks, per changed event).
  constraint event_revisions_revision_positive check (revision >= 1),
  constraint event_revisions_operation_known
    check (operation in ('insert', 'update', 'delete', 'baseline')),
  -- Update rows name the one field they describe; whole-row rows name none.
  constraint event_revisions_update_names_a_field check ((field_name is null) = (operation <> 'update')),
  -- Whole-row rows carry exactly one row: insert/baseline the row after
  -- (new_value), delete the row before (old_value). Update values may be null
  -- (a column set to or from null).
  constraint event_revisions_whole_row_shape check (
    operation = 'update'
    or ((old_value is null) = (operation <> 'delete') and (new_value is null) = (operation = 'delete'))),
  -- One row per field per revision, and one whole-row row per revision (nulls not
  -- distinct). Its index, scanned backward, is also "one event's history, newest
  -- first" and finds the next revision number (max(revision)) in one descent.
  constraint event_revisions_one_row_per_field unique nulls not distinct (event_id, revision, field_name)
);

-- run_id -> public.scraping_runs (ON DELETE SET NULL: pruning runs must not erase
-- event history). Whichever of the two migrations runs second adds the key: the runs
-- migration when this table exists already, this one when scraping_runs does.
do $fk$
begin
  if pg_catalog.to_regclass('public.scraping_runs') is not null
     and not exists (select from pg_catalog.pg_constraint c
                      where c.conrelid = 'public.event_revisions'::regclass and c.contype = 'f'
                        and c.confrelid = 'public.scraping_runs'::regclass) then
    alter table public.event_revisions
      add constraint event_revisions_run_id_fkey foreign key (run_id)
      references public.scraping_runs (id) on delete set null not valid;
    if not exists (select from public.event_revisions er
                    where er.run_id is not null
                      and not exists (select from public.scraping_runs r where r.id = er.run_id)) then
      alter table public.event_revisions validate constraint event_revisions_run_id_fkey;
    else
      raise notice 'event_revisions_run_id_fkey left NOT VALID: some revisions name runs that do not exist';
    end if;
  end if;
end
$fk$;

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

insert into scrapeguard.revision_noise_columns (column_name, reason) values
  ('updated_at', 'set by the app''s trigger on every write, real change or not'),
  ('last_scraped_at', 'changes on every re-scrape even when the event did not change'),
  ('scrape_hash', 'fingerprint of the scraped page: markup changes move it, not the event'),
  ('search_vector', 'derived from title/description by the app''s trigger; those columns are recorded'),
  ('view_count', 'a counter bumped by page views, not an edit of the event')
on conflict (column_name) do nothing;

-- ---------------------------------------------------------------------------
-- Catalog helpers for the generated trigger
-- ---------------------------------------------------------------------------

create or replace function scrapeguard.type_has_equality(type_oid oid) returns boolean
  language plpgsql
  stable
  set search_path = ''
as $$
declare
  t pg_catalog.pg_type;
begin
  select * into t from pg_catalog.pg_type where oid = type_oid;
  while t.typtype = 'd' loop
    select * into t from pg_catalog.pg_type where oid = t.typbasetype;
  end loop;
  -- enums, ranges and multiranges always have a working "=".
  if t.typtype in ('e', 'r', 'm') then
    return true;
  end if;
  -- array "=" needs its element's equality at run time, not just at parse time.
  if t.typcategory = 'A' and t.typelem <> 0 then
    return scrapeguard.type_has_equality(t.typelem);
  end if;
  -- Composite "=" fails at run time if a field type lacks one; compare those as text.
  if t.typtype <> 'b' then
    return false;
  end if;
  return exists (
    select
      from pg_catalog.pg_opclass c
      join pg_catalog.pg_am m on m.oid = c.opcmethod
     where m.amname = 'btree'
       and c.opcdefault
       and (c.opcintype = t.oid
            or exists (select from pg_catalog.pg_cast k
                        where k.castsource = t.oid and k.casttarget = c.opcintype and k.castmethod = 'b')));
end
$$;
comment on function scrapeguard.type_has_equality(oid) is
  'Whether values of the type can be compared with IS DISTINCT FROM (a default btree "=" on it, its base or element type). Types without one (json, xml, point, composites) are compared through their text form.';

create or replace function scrapeguard.event_revision_columns()
  returns table (column_name text, column_type text, tracked boolean, compare_as_text boolean)
  language sql
  stable
  set search_path = ''
as $$
  select a.attname::text,
         pg_catalog.format_type(a.atttypid, a.atttypmod),
         not exists (select from scrapeguard.revision_noise_columns n where n.column_name = a.attname::text),
         not scrapeguard.type_has_equality(a.atttypid)
    from pg_catalog.pg_attribute a
   where a.attrelid = 'public.events'::regclass
     and a.attnum > 0
     and not a.attisdropped
   order by a.attnum
$$;
comment on function scrapeguard.event_revision_columns() is
  'The columns of public.events as the revision trigger sees them: tracked (not a noise column) and how they are compared.';

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
  -- is_local = true: the values end with the transaction, so a pooled connection
  -- (Supavisor in transaction mode) never carries them into someone else's work.
  -- (A SET clause on this function restores only search_path on exit; these stay.)
  perform pg_catalog.set_config('scrapeguard.run_id', coalesce(set_change_context.run_id::text, ''), true);
  perform pg_catalog.set_config('scrapeguard.actor', coalesce(set_change_context.actor, ''), true);
end
$$;
comment on function public.set_change_context(uuid, text) is
  'Attributes the event changes of the current transaction to a scraping run and/or an actor (transaction-local settings scrapeguard.run_id / scrapeguard.actor). Nulls clear them.';

-- Who is changing events, in this order: set_change_context's actor; the JWT's sub
-- (auth.uid()), asked only when a request JWT is present (that is what it reads,
-- and skipping the call keeps writes without one cheap); the role the session
-- switched to (PostgREST: set local role ...), since inside the SECURITY DEFINER
-- trigger current_user is the owner; else the login role. The generated triggers
-- embed this body (see sql_function_expression), so keep it one SELECT.
create or replace function scrapeguard.current_change_actor() returns text
  language sql
  stable
  set search_path = ''
as $$
  select coalesce(
    nullif(pg_catalog.current_setting('scrapeguard.actor', true), ''),
    case when coalesce(pg_catalog.current_setting('request.jwt.claims', true), '') <> ''
           or coalesce(pg_catalog.current_setting('request.jwt.claim.sub', true), '') <> ''
         then (auth.uid())::text end,
    nullif(pg_catalog.current_setting('role'), 'none'),
    session_user)
$$;
comment on function scrapeguard.current_change_actor() is
  'Who is changing events: set_change_context''s actor, else the JWT''s sub, else the role in effect.';

create or replace function scrapeguard.current_change_run_id() returns uuid
  language sql
  stable
  set search_path = ''
as $$
  select nullif(pg_catalog.current_setting('scrapeguard.run_id', true), '')::uuid
$$;
comment on function scrapeguard.current_change_run_id() is
  'The scraping run set by set_change_context for this transaction, or null.';

-- ---------------------------------------------------------------------------
-- Writers: the trigger functions on public.events
-- ---------------------------------------------------------------------------

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

-- SECURITY DEFINER (the generated trigger functions and the truncate one): an
-- authenticated user whom the app's policies allow to edit an event must still
-- get the change recorded, but may neither write nor read event_revisions (RLS,
-- revoked grants). They run as their owner, the migration role (postgres on
-- Supabase), which owns event_revisions; they only write rows built from OLD/NEW
-- and the attribution settings, with search_path = ''.
create or replace function scrapeguard.event_revisions_on_truncate() returns trigger
  language plpgsql
  security definer
  set search_path = ''
as $$
declare
  v_at timestamptz := scrapeguard.clock();
  v_run uuid := scrapeguard.current_change_run_id();
  v_actor text := scrapeguard.current_change_actor();
  v_count bigint;
begin
  -- TRUNCATE fires no row triggers; record it as a delete of every event so that
  -- no history silently ends without its last state.
  with gone as (
    insert into public.event_revisions (event_id, revision, operation, old_value, changed_at, run_id, actor)
    select e.id,
           coalesce((select max(r.revision) from public.event_revisions r where r.event_id = e.id), 0) + 1,
           'delete', pg_catalog.to_jsonb(e), v_at, v_run, v_actor
      from public.events e
    returning event_id, revision
  )
  select count(pg_catalog.pg_notify('scrapeguard_event_changes',
           pg_catalog.format('{"event_id":"%s","revision":%s,"operation":"delete","fields":null}', g.event_id, g.revision)))
    into v_count
    from gone g;
  return null;
end
$$;
comment on function scrapeguard.event_revisions_on_truncate() is
  'BEFORE TRUNCATE statement trigger on public.events: a delete revision (whole row) for every event.';

-- ---------------------------------------------------------------------------
-- The generated row triggers
-- ---------------------------------------------------------------------------

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

drop trigger if exists scrapeguard_refresh_event_revision_trigger on scrapeguard.revision_noise_columns;
create trigger scrapeguard_refresh_event_revision_trigger
  after insert or update or delete or truncate on scrapeguard.revision_noise_columns
  for each statement execute function scrapeguard.revision_noise_columns_changed();

select scrapeguard.refresh_event_revision_trigger();

-- Events that exist already get a baseline: their state now, the start of their
-- history (as-of reads before it say the history is not kept). Idempotent: only
-- events without any revision.
insert into public.event_revisions (event_id, revision, operation, new_value, changed_at)
select e.id, 1, 'baseline', pg_catalog.to_jsonb(e), scrapeguard.clock()
  from public.events e
 where not exists (select from public.event_revisions r where r.event_id = e.id);

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

-- ---------------------------------------------------------------------------
-- Privileges of the functions
-- ---------------------------------------------------------------------------

revoke all on function scrapeguard.type_has_equality(oid) from public, anon, authenticated;
revoke all on function scrapeguard.event_revision_columns() from public, anon, authenticated;
revoke all on function public.set_change_context(uuid, text) from public, anon, authenticated;
revoke all on function scrapeguard.current_change_actor() from public, anon, authenticated;
revoke all on function scrapeguard.current_change_run_id() from public, anon, authenticated;
revoke all on function scrapeguard.sql_function_expression(regprocedure) from public, anon, authenticated;
revoke all on function scrapeguard.event_revisions_on_truncate() from public, anon, authenticated;
revoke all on function scrapeguard.refresh_event_revision_trigger() from public, anon, authenticated;
revoke all on function scrapeguard.revision_noise_columns_changed() from public, anon, authenticated;
revoke all on function public.event_history(uuid) from public, anon, authenticated;
revoke all on function public.event_as_of(uuid, timestamptz) from public, anon, authenticated;
revoke all on function public.events_as_of(timestamptz) from public, anon, authenticated;
revoke all on function public.prune_event_revisions(integer, interval) from public, anon, authenticated;

grant execute on function scrapeguard.type_has_equality(oid) to service_role;
grant execute on function scrapeguard.event_revision_columns() to service_role;
grant execute on function public.set_change_context(uuid, text) to service_role;
grant execute on function scrapeguard.current_change_actor() to service_role;
grant execute on function scrapeguard.current_change_run_id() to service_role;
grant execute on function scrapeguard.sql_function_expression(regprocedure) to service_role;
grant execute on function scrapeguard.event_revisions_on_truncate() to service_role;
grant execute on function scrapeguard.refresh_event_revision_trigger() to service_role;
grant execute on function scrapeguard.revision_noise_columns_changed() to service_role;
grant execute on function public.prune_event_revisions(integer, interval) to service_role;
-- Reads for admins: SECURITY INVOKER, so the policy on event_revisions filters.
grant execute on function public.event_history(uuid) to authenticated, service_role;
grant execute on function public.event_as_of(uuid, timestamptz) to authenticated, service_role;
grant execute on function public.events_as_of(timestamptz) to authenticated, service_role;

-- ---------------------------------------------------------------------------
-- Realtime
-- ---------------------------------------------------------------------------

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
-- Attribution to runs: event_revisions.run_id -> scraping_runs
-- ---------------------------------------------------------------------------
-- scraping_runs (migration 000008) exists before this migration, so the foreign key
-- that 000008 adds when event_revisions already exists is added here otherwise.
-- ON DELETE SET NULL: pruning runs (180 days) must not erase event history. It is
-- served by event_revisions_run_id_idx (leading run_id).
do $fk$
begin
  if to_regclass('public.scraping_runs') is not null
     and not exists (
       select from pg_catalog.pg_constraint c
        where c.conrelid = 'public.event_revisions'::regclass and c.contype = 'f'
          and c.confrelid = 'public.scraping_runs'::regclass)
  then
    alter table public.event_revisions
      add constraint event_revisions_run_id_fkey foreign key (run_id)
      references public.scraping_runs (id) on delete set null;
  end if;
end
$fk$;
