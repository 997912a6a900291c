-- event_revisions: structure, privileges, RLS, the functions' security settings.
begin;
set local search_path = public, extensions;
select plan(46);

create temp table our_functions on commit drop as
select p.oid, p.oid::regprocedure::text as name, p.prosecdef, p.proconfig
  from pg_proc p
 where p.oid in (
   'public.set_change_context(uuid, text)'::regprocedure,
   'public.event_history(uuid)'::regprocedure,
   'public.event_as_of(uuid, timestamptz)'::regprocedure,
   'public.events_as_of(timestamptz)'::regprocedure,
   'public.prune_event_revisions(integer, interval)'::regprocedure,
   'scrapeguard.type_has_equality(oid)'::regprocedure,
   'scrapeguard.event_revision_columns()'::regprocedure,
   'scrapeguard.current_change_actor()'::regprocedure,
   'scrapeguard.current_change_run_id()'::regprocedure,
   'scrapeguard.function_body_expression(regprocedure)'::regprocedure,
   'scrapeguard.event_revision_is_well_formed(public.event_revisions)'::regprocedure,
   'scrapeguard.event_revisions_on_update()'::regprocedure,
   'scrapeguard.event_revisions_on_insert_delete()'::regprocedure,
   'scrapeguard.event_revisions_on_truncate()'::regprocedure,
   'scrapeguard.refresh_event_revision_trigger()'::regprocedure,
   'scrapeguard.revision_noise_columns_changed()'::regprocedure,
   'scrapeguard.events_as_of_refusal(bigint, timestamptz, timestamptz)'::regprocedure);

-- table ------------------------------------------------------------------------------
select has_table('public', 'event_revisions', 'public.event_revisions exists');
select columns_are('public', 'event_revisions',
  array['id', 'event_id', 'revision', 'operation', 'field_name', 'old_value', 'new_value', 'changed_at', 'run_id', 'actor'],
  'its columns');
select col_type_is('public', 'event_revisions', 'event_id', 'uuid', 'event_id is uuid');
select col_type_is('public', 'event_revisions', 'revision', 'integer', 'revision is integer');
select col_type_is('public', 'event_revisions', 'old_value', 'jsonb', 'old_value is jsonb');
select col_type_is('public', 'event_revisions', 'new_value', 'jsonb', 'new_value is jsonb');
select col_type_is('public', 'event_revisions', 'changed_at', 'timestamp with time zone', 'changed_at is timestamptz');
select col_type_is('public', 'event_revisions', 'run_id', 'uuid', 'run_id is uuid');
select col_is_null('public', 'event_revisions', 'run_id', 'run_id is nullable');
select col_is_pk('public', 'event_revisions', 'id', 'primary key: id');
select col_is_unique('public', 'event_revisions', array['event_id', 'revision', 'field_name'],
  'one row per (event, revision, field)');
select is(
  (select pg_get_indexdef(i.indexrelid) from pg_index i
    where i.indexrelid = 'public.event_revisions_one_row_per_field'::regclass),
  'CREATE UNIQUE INDEX event_revisions_one_row_per_field ON public.event_revisions USING btree (event_id, revision, field_name) NULLS NOT DISTINCT',
  'nulls not distinct: a revision has at most one whole-row row');
select has_index('public', 'event_revisions', 'event_revisions_run_id_idx', array['run_id'], 'run_id is indexed (for its foreign key)');
select has_index('public', 'event_revisions', 'event_revisions_changed_at_brin', array['changed_at'], 'changed_at has a BRIN index');
select is_empty(
  $$select from pg_constraint c where c.conrelid = 'public.event_revisions'::regclass and c.contype = 'f'
       and c.confrelid = 'public.events'::regclass$$,
  'no foreign key to events: history survives its event');
select is(
  (select array_agg(c.conname::text || ' ' || pg_get_constraintdef(c.oid)) from pg_constraint c
    where c.conrelid = 'public.event_revisions'::regclass and c.contype = 'f'),
  array['event_revisions_run_id_fkey FOREIGN KEY (run_id) REFERENCES scraping_runs(id) ON DELETE SET NULL'],
  'run_id references scraping_runs (on delete set null)');
select is(
  (select array_agg(c.conname::text || ' ' || pg_get_constraintdef(c.oid)) from pg_constraint c
    where c.conrelid = 'public.event_revisions'::regclass and c.contype = 'c'),
  array['event_revisions_well_formed CHECK (scrapeguard.event_revision_is_well_formed(event_revisions.*))'],
  'one CHECK: the row''s invariants in one function (read back once per INSERT, not four node trees)');
select is(
  (select provolatile from pg_proc where oid = 'scrapeguard.event_revision_is_well_formed(public.event_revisions)'::regprocedure),
  'i', 'the invariant function is immutable (it reads only the row)');

-- RLS and grants ----------------------------------------------------------------------------
select ok((select relrowsecurity from pg_class where oid = 'public.event_revisions'::regclass), 'RLS is enabled');
select policies_are('public', 'event_revisions', array['admins read event_revisions'], 'one policy');
select policy_roles_are('public', 'event_revisions', 'admins read event_revisions', array['authenticated'],
  'for authenticated users');
select policy_cmd_is('public', 'event_revisions', 'admins read event_revisions', 'select', 'select only');
select table_privs_are('public', 'event_revisions', 'anon', array[]::text[], 'anon: no privilege');
select table_privs_are('public', 'event_revisions', 'authenticated', array['SELECT'], 'authenticated: SELECT (rows by the policy)');
select table_privs_are('public', 'event_revisions', 'service_role',
  array['DELETE', 'INSERT', 'REFERENCES', 'SELECT', 'TRIGGER', 'TRUNCATE', 'UPDATE'], 'service_role: everything');
select sequence_privs_are('public', 'event_revisions_id_seq', 'anon', array[]::text[], 'the id sequence: nothing for anon');
select sequence_privs_are('public', 'event_revisions_id_seq', 'authenticated', array[]::text[], 'nor authenticated');
select ok((select relrowsecurity from pg_class where oid = 'scrapeguard.revision_noise_columns'::regclass),
  'revision_noise_columns has RLS enabled');
select table_privs_are('scrapeguard', 'revision_noise_columns', 'authenticated', array[]::text[], 'and nothing for authenticated');
select table_privs_are('scrapeguard', 'revision_noise_columns', 'service_role',
  array['DELETE', 'INSERT', 'SELECT', 'UPDATE'], 'the service role edits it');
select set_eq($$select column_name from scrapeguard.revision_noise_columns$$,
  array['updated_at', 'last_scraped_at', 'scrape_hash', 'search_vector', 'view_count'], 'the default noise columns');

-- functions --------------------------------------------------------------------------------------
select is((select count(*)::int from our_functions), 17, 'seventeen functions');
select is_empty($$select name from our_functions
                   where proconfig is distinct from
                         case when name = 'events_as_of(timestamp with time zone)'
                              then array['search_path=""', 'enable_nestloop=off', 'enable_mergejoin=off', 'enable_sort=off']
                              else array['search_path=""'] end$$,
  'every one pins search_path to '''' (and events_as_of keeps its planner to hash joins and aggregates, nothing else)');
select set_eq($$select name from our_functions where prosecdef$$,
  array['scrapeguard.event_revisions_on_update()', 'scrapeguard.event_revisions_on_insert_delete()',
        'scrapeguard.event_revisions_on_truncate()', 'scrapeguard.refresh_event_revision_trigger()'],
  'SECURITY DEFINER only for the triggers on events and their regeneration');
select is_empty(
  $$select name from our_functions f
     where (select p.proowner from pg_proc p where p.oid = f.oid) <>
           (select c.relowner from pg_class c where c.oid = 'public.event_revisions'::regclass)$$,
  'owned by the owner of event_revisions (the definers write it as its owner)');
select is_empty($$select name from our_functions where has_function_privilege('anon', oid, 'execute')$$,
  'anon executes none');
select set_eq($$select name from our_functions where has_function_privilege('authenticated', oid, 'execute')$$,
  -- (regprocedure text leaves out the schema of what is on the search path: public)
  array['event_history(uuid)', 'event_as_of(uuid,timestamp with time zone)', 'events_as_of(timestamp with time zone)',
        'scrapeguard.events_as_of_refusal(bigint,timestamp with time zone,timestamp with time zone)'],
  'authenticated executes the three reads only, and the refusal events_as_of calls (SECURITY INVOKER: RLS decides)');
select is_empty($$select name from our_functions where not has_function_privilege('service_role', oid, 'execute')$$,
  'the service role executes all');
select is_empty(
  $$select name from our_functions
     where name in ('event_history(uuid)', 'event_as_of(uuid,timestamp with time zone)',
                    'events_as_of(timestamp with time zone)') and prosecdef$$,
  'the reads are SECURITY INVOKER');

-- realtime, notifications ----------------------------------------------------------------------------
select ok(exists (select from pg_publication_rel pr join pg_publication p on p.oid = pr.prpubid
                   where p.pubname = 'supabase_realtime' and pr.prrelid = 'public.event_revisions'::regclass),
  'event_revisions is in the supabase_realtime publication');
select ok(
  (select prosrc ~ 'pg_notify\(''scrapeguard_event_changes''' from pg_proc
    where oid = 'scrapeguard.event_revisions_on_update()'::regprocedure),
  'changes are notified on channel scrapeguard_event_changes');

-- embedding helper bodies ------------------------------------------------------------------------
create function public.test_one_select() returns integer language sql stable set search_path = '' as $$ select 40 + 2 $$;
select is(scrapeguard.function_body_expression('public.test_one_select()'),
  E'(40 + 2\n)',
  'function_body_expression turns a one-SELECT SQL function into an expression to embed');
select matches(scrapeguard.function_body_expression('scrapeguard.clock()'),
  '^\(coalesce\(.*scrapeguard\.clock_moved.*scrapeguard\.moved_clock\(\).*\)\n\)$',
  'and a PL/pgSQL function whose body is one RETURN (the clock)');
select is(scrapeguard.function_body_expression('scrapeguard.refresh_event_revision_trigger()'), null,
  'a function of any other shape gives null (its caller calls it instead)');
select is(scrapeguard.function_body_expression('public.set_change_context(uuid, text)'), null,
  'so does a function with arguments');
select ok(
  (select prosrc !~ 'scrapeguard\.clock\(\)' and prosrc ~ 'scrapeguard\.clock_moved'
     and prosrc !~ 'current_change_(actor|run_id)\(\)' and prosrc !~* '\mperform\M'
     from pg_proc where oid = 'scrapeguard.event_revisions_on_update()'::regprocedure),
  'the generated update trigger embeds the clock and the attribution and runs no PERFORM');

select * from finish();
rollback;
