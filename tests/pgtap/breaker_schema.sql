-- Circuit breaker: tables, keys, index, RLS, grants, function signatures and rights,
-- realtime publication; who may read and call what.
begin;
set local search_path = public, extensions;
select plan(71);

-- ---- tables and columns -------------------------------------------------------------
select has_table('public', 'circuit_breaker_state', 'circuit_breaker_state exists');
select has_table('public', 'circuit_breaker_transitions', 'circuit_breaker_transitions exists');
select col_is_pk('public', 'circuit_breaker_state', 'source_id', 'one breaker per source: source_id is the key');
select fk_ok('public', 'circuit_breaker_state', 'source_id', 'public', 'event_sources', 'id', 'state → event_sources');
select fk_ok('public', 'circuit_breaker_transitions', 'source_id', 'public', 'event_sources', 'id', 'transitions → event_sources');
select is(
  (select array_agg(confdeltype::text order by conrelid::regclass::text) from pg_constraint
    where contype = 'f' and conrelid in ('public.circuit_breaker_state'::regclass, 'public.circuit_breaker_transitions'::regclass)),
  array['c', 'c'], 'both foreign keys cascade on delete of the source');

select col_type_is('public', 'circuit_breaker_state', 'state', 'scrapeguard', 'breaker_state', 'state: a dedicated column (domain over text)');
select col_type_is('public', 'circuit_breaker_state', 'failure_count', 'scrapeguard', 'breaker_count', 'failure_count: non-negative integer');
select col_type_is('public', 'circuit_breaker_state', 'opened_count', 'scrapeguard', 'breaker_count', 'opened_count: non-negative integer');
select col_type_is('public', 'circuit_breaker_state', 'open_until', 'timestamp with time zone', 'open_until: timestamptz');
select col_type_is('public', 'circuit_breaker_state', 'probe_id', 'uuid', 'probe_id: uuid');
select col_type_is('public', 'circuit_breaker_state', 'probe_lease_until', 'timestamp with time zone', 'probe_lease_until: timestamptz');
select col_type_is('public', 'circuit_breaker_state', 'last_failure_at', 'timestamp with time zone', 'last_failure_at: timestamptz');
select col_type_is('public', 'circuit_breaker_state', 'last_success_at', 'timestamp with time zone', 'last_success_at: timestamptz');
select col_type_is('public', 'circuit_breaker_state', 'last_error', 'scrapeguard', 'breaker_error', 'last_error: bounded text');
select col_type_is('public', 'circuit_breaker_state', 'failure_threshold', 'scrapeguard', 'breaker_threshold', 'failure_threshold setting');
select col_type_is('public', 'circuit_breaker_state', 'open_duration', 'scrapeguard', 'breaker_duration', 'open_duration setting');
select col_type_is('public', 'circuit_breaker_state', 'backoff_multiplier', 'scrapeguard', 'breaker_multiplier', 'backoff_multiplier setting');
select col_type_is('public', 'circuit_breaker_state', 'max_open_duration', 'scrapeguard', 'breaker_duration', 'max_open_duration setting');
select col_type_is('public', 'circuit_breaker_state', 'jitter', 'scrapeguard', 'breaker_jitter', 'jitter setting');
select col_type_is('public', 'circuit_breaker_state', 'probe_lease', 'scrapeguard', 'breaker_lease', 'probe_lease setting');
select col_type_is('public', 'circuit_breaker_state', 'min_failing_workers', 'scrapeguard', 'breaker_quorum', 'min_failing_workers setting');
select col_type_is('public', 'circuit_breaker_state', 'streak_workers', 'scrapeguard', 'breaker_workers', 'streak_workers: bounded list of names');
select col_type_is('public', 'circuit_breaker_state', 'retry_after_until', 'timestamp with time zone', 'retry_after_until: timestamptz');
select col_type_is('public', 'circuit_breaker_state', 'updated_at', 'timestamp with time zone', 'updated_at: timestamptz');
select is(
  (select count(*)::int from information_schema.columns
    where table_schema = 'public' and table_name = 'circuit_breaker_state' and data_type in ('json', 'jsonb')),
  0, 'no JSON columns: every piece of state has its own column');
select columns_are('public', 'circuit_breaker_transitions',
  array['id', 'source_id', 'from_state', 'to_state', 'reason', 'failure_count', 'opened_count', 'open_until',
        'probe_id', 'worker', 'version', 'at', 'actor', 'workers', 'retry_after_until'],
  'transitions columns');

-- ---- index for "recent transitions of one source" -------------------------------
select has_index('public', 'circuit_breaker_transitions', 'circuit_breaker_transitions_source_at_idx',
  array['source_id', 'at'], 'index on transitions (source_id, at desc)');
insert into public.event_sources (id, name, base_url)
  select ('00000000-0000-4000-8000-' || lpad(g::text, 12, '0'))::uuid, 'schema ' || g, 'https://example.com/' || g
    from generate_series(1, 200) g;
insert into public.circuit_breaker_state (source_id) select id from public.event_sources where name like 'schema %';
-- A realistic history: 200 sources × 50 transitions.
insert into public.circuit_breaker_transitions (source_id, from_state, to_state, reason, failure_count, opened_count, open_until, version, at)
  select e.id, 'closed', 'open', 'failure_threshold', 3, 1, now() + interval '1 hour', g, now() - g * interval '1 hour'
    from public.event_sources e, generate_series(1, 50) g where e.name like 'schema %';
analyze public.circuit_breaker_transitions;
create function pg_temp.plan_of(q text) returns text language plpgsql as $$
declare r text := ''; l text;
begin
  for l in execute 'explain (format text, costs off) ' || q loop r := r || l || E'\n'; end loop;
  return r;
end $$;
select matches(
  pg_temp.plan_of($$select * from public.circuit_breaker_transitions
                    where source_id = '00000000-0000-4000-8000-000000000007' order by at desc limit 20$$),
  'circuit_breaker_transitions_source_at_idx',
  'recent transitions of one source use the index (10k rows, no planner hints)');

-- ---- RLS, policies and grants ----------------------------------------------------
select is(
  (select array_agg(relname::text || '=' || relrowsecurity order by relname) from pg_class
    where oid in ('public.circuit_breaker_state'::regclass, 'public.circuit_breaker_transitions'::regclass)),
  array['circuit_breaker_state=true', 'circuit_breaker_transitions=true'], 'RLS is enabled on both tables');
select policies_are('public', 'circuit_breaker_state', array['admins read circuit_breaker_state'], 'state: only the admin read policy');
select policies_are('public', 'circuit_breaker_transitions', array['admins read circuit_breaker_transitions'], 'transitions: only the admin read policy');
select policy_roles_are('public', 'circuit_breaker_state', 'admins read circuit_breaker_state', array['authenticated'], 'state policy: authenticated');
select policy_cmd_is('public', 'circuit_breaker_state', 'admins read circuit_breaker_state', 'select', 'state policy: select only');
select policy_roles_are('public', 'circuit_breaker_transitions', 'admins read circuit_breaker_transitions', array['authenticated'], 'transitions policy: authenticated');
select policy_cmd_is('public', 'circuit_breaker_transitions', 'admins read circuit_breaker_transitions', 'select', 'transitions policy: select only');
select table_privs_are('public', 'circuit_breaker_state', 'anon', array[]::text[], 'anon: no privilege on state');
select table_privs_are('public', 'circuit_breaker_transitions', 'anon', array[]::text[], 'anon: no privilege on transitions');
select table_privs_are('public', 'circuit_breaker_state', 'authenticated', array['SELECT'], 'authenticated: SELECT only on state');
select table_privs_are('public', 'circuit_breaker_transitions', 'authenticated', array['SELECT'], 'authenticated: SELECT only on transitions');
select ok(has_table_privilege('service_role', 'public.circuit_breaker_state', 'SELECT, INSERT, UPDATE, DELETE')
      and has_table_privilege('service_role', 'public.circuit_breaker_transitions', 'SELECT, INSERT, UPDATE, DELETE'),
  'service_role: full access to both tables');
select ok(not has_sequence_privilege('anon', 'public.circuit_breaker_transitions_id_seq', 'USAGE, SELECT, UPDATE')
      and not has_sequence_privilege('authenticated', 'public.circuit_breaker_transitions_id_seq', 'USAGE, SELECT, UPDATE'),
  'the identity sequence is closed to anon and authenticated');
select is(
  (select array_agg(pr.prrelid::regclass::text order by 1) from pg_publication_rel pr
     join pg_publication p on p.oid = pr.prpubid
    where p.pubname = 'supabase_realtime' and pr.prrelid::regclass::text like '%circuit_breaker%'),
  array['circuit_breaker_state'], 'circuit_breaker_state is in the supabase_realtime publication');

-- ---- functions: signatures, rights, pinned search_path, invoker ------------------
select function_returns('public', 'acquire_permit', array['uuid', 'text'], 'setof record', 'acquire_permit(uuid, text) returns a table');
select is(
  (select pg_get_function_result('public.acquire_permit(uuid, text)'::regprocedure)),
  'TABLE(allowed boolean, state text, probe_id uuid, retry_at timestamp with time zone)',
  'acquire_permit → (allowed, state, probe_id, retry_at)');
select is(
  (select pg_get_function_arguments('public.acquire_permit(uuid, text)'::regprocedure)),
  'source_id uuid, worker text DEFAULT NULL::text', 'acquire_permit argument names and default');
select is(
  (select pg_get_function_arguments('public.record_success(uuid, uuid)'::regprocedure)),
  'source_id uuid, probe_id uuid DEFAULT NULL::uuid', 'record_success argument names and default');
select is(
  (select pg_get_function_arguments('public.record_failure(uuid, text, uuid, text, interval)'::regprocedure)),
  'source_id uuid, error text DEFAULT NULL::text, probe_id uuid DEFAULT NULL::uuid, worker text DEFAULT NULL::text, retry_after interval DEFAULT NULL::interval',
  'record_failure argument names and defaults (the first three in their old positions)');
select function_returns('public', 'record_success', array['uuid', 'uuid'], 'circuit_breaker_state', 'record_success returns the breaker row');
select function_returns('public', 'record_failure', array['uuid', 'text', 'uuid', 'text', 'interval'], 'circuit_breaker_state', 'record_failure returns the breaker row');
select function_returns('public', 'force_breaker', array['uuid', 'text', 'text'], 'circuit_breaker_state', 'force_breaker(source_id, mode, actor)');
select function_returns('public', 'reset_breaker', array['uuid', 'text'], 'circuit_breaker_state', 'reset_breaker(source_id, actor)');

create temp table breaker_functions as
  select p.oid::regprocedure as f from pg_proc p
   where (p.pronamespace = 'public'::regnamespace
          and p.proname in ('acquire_permit', 'record_success', 'record_failure', 'force_breaker', 'reset_breaker', 'configure_breaker'))
      or (p.pronamespace = 'scrapeguard'::regnamespace and p.proname like 'breaker\_%');
select is((select count(*)::int from breaker_functions), 13, 'six RPCs and seven internal helpers');
select is(
  (select array_agg(f::text order by f::text) from breaker_functions where has_function_privilege('anon', f, 'EXECUTE')),
  null, 'anon may execute none of them');
select is(
  (select array_agg(f::text order by f::text) from breaker_functions where has_function_privilege('authenticated', f, 'EXECUTE')),
  null, 'authenticated may execute none of them');
select is(
  (select array_agg(f::text order by f::text) from breaker_functions where not has_function_privilege('service_role', f, 'EXECUTE')),
  null, 'service_role may execute all of them');
select is(
  (select array_agg(f::text order by f::text) from breaker_functions b join pg_proc p on p.oid = b.f
    where p.proconfig is null or not ('search_path=""' = any(p.proconfig))),
  null, 'every one pins search_path to ''''');
select is(
  (select array_agg(f::text order by f::text) from breaker_functions b join pg_proc p on p.oid = b.f where p.prosecdef),
  null, 'none is SECURITY DEFINER');

-- ---- behaviour by role --------------------------------------------------------------
select public.record_failure('00000000-0000-4000-8000-000000000001', 'boom');

set local role service_role;
select is((select allowed from public.acquire_permit('00000000-0000-4000-8000-000000000002', 'svc')), true,
  'service_role can ask for a permit');
select is((public.record_failure('00000000-0000-4000-8000-000000000002', 'svc failure')).failure_count::int, 1,
  'service_role can record a failure');
reset role;
insert into public.event_sources (id, name, base_url)
values ('00000000-0000-4000-8000-00000000f00d', 'no breaker yet', 'https://example.com/new');
set local role service_role;
select is((select state from public.acquire_permit('00000000-0000-4000-8000-00000000f00d', 'svc')), 'closed',
  'service_role''s first call for a source creates its breaker');
select is((public.force_breaker('00000000-0000-4000-8000-00000000f00d', 'forced_open')).state::text, 'forced_open',
  'service_role can force a breaker');
reset role;

set local role anon;
select throws_ok($$select * from public.acquire_permit('00000000-0000-4000-8000-000000000001')$$, '42501', null,
  'anon cannot call acquire_permit');
select throws_ok($$select * from public.circuit_breaker_state$$, '42501', null, 'anon cannot read the state table');
reset role;

set local role authenticated;
set local request.jwt.claims = '{"sub": "00000000-0000-0000-0000-0000000000aa", "role": "authenticated", "app_metadata": {"role": "user"}}';
select throws_ok($$select public.record_failure('00000000-0000-4000-8000-000000000001')$$, '42501', null,
  'a signed-in user cannot call record_failure');
select is_empty($$select * from public.circuit_breaker_state$$, 'a non-admin user sees no breaker');
select is_empty($$select * from public.circuit_breaker_transitions$$, 'a non-admin user sees no transition');
select throws_ok($$update public.circuit_breaker_state set state = 'disabled'$$, '42501', null, 'a signed-in user cannot write the state');
set local request.jwt.claims = '{"sub": "00000000-0000-0000-0000-0000000000ad", "role": "authenticated", "app_metadata": {"role": "admin"}}';
select is((select count(*)::int from public.circuit_breaker_state), 201, 'an admin reads every breaker');
select throws_ok($$update public.circuit_breaker_state set state = 'disabled'$$, '42501', null, 'an admin cannot write the state either');
reset role;
reset request.jwt.claims;

-- ---- deleting a source removes its breaker and history --------------------------
delete from public.event_sources where id = '00000000-0000-4000-8000-000000000007';
select is(
  (select count(*)::int from public.circuit_breaker_state where source_id = '00000000-0000-4000-8000-000000000007')
  + (select count(*)::int from public.circuit_breaker_transitions where source_id = '00000000-0000-4000-8000-000000000007'),
  0, 'deleting a source deletes its breaker and its transitions');

select * from finish();
rollback;
