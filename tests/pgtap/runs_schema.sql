-- scraping_runs / scraping_logs: tables, columns, keys, CHECKs, indexes, partitions, RLS and grants.
begin;
set local search_path = public, extensions;
select plan(99);

-- ---------------------------------------------------------------- scraping_runs
select has_table('public', 'scraping_runs', 'scraping_runs exists');
select col_is_pk('public', 'scraping_runs', 'id', 'scraping_runs.id is the primary key');
select col_type_is('public', 'scraping_runs', 'id', 'uuid', 'id is uuid');
select col_default_is('public', 'scraping_runs', 'id', 'gen_random_uuid()', 'id defaults to gen_random_uuid()');
select col_type_is('public', 'scraping_runs', 'source_id', 'uuid', 'source_id is uuid');
select col_not_null('public', 'scraping_runs', 'source_id', 'source_id is required');
select col_type_is('public', 'scraping_runs', 'scrape_job_id', 'uuid', 'scrape_job_id is uuid');
select col_is_null('public', 'scraping_runs', 'scrape_job_id', 'scrape_job_id is optional');
select col_type_is('public', 'scraping_runs', 'engine', 'text', 'engine is text');
select col_type_is('public', 'scraping_runs', 'status', 'text', 'status is text');
select col_default_is('public', 'scraping_runs', 'status', 'running', 'status defaults to running');
select col_type_is('public', 'scraping_runs', 'started_at', 'timestamp with time zone', 'started_at is timestamptz');
select col_type_is('public', 'scraping_runs', 'finished_at', 'timestamp with time zone', 'finished_at is timestamptz');
select col_type_is('public', 'scraping_runs', 'duration_ms', 'bigint', 'duration_ms is bigint');
select is((select attgenerated::text from pg_attribute where attrelid = 'public.scraping_runs'::regclass and attname = 'duration_ms'),
  's', 'duration_ms is a stored generated column');
select col_type_is('public', 'scraping_runs', 'field_coverage', 'numeric(5,2)', 'field_coverage is numeric(5,2)');
select col_type_is('public', 'scraping_runs', 'events_found', 'integer', 'events_found is integer');
select col_type_is('public', 'scraping_runs', 'events_created', 'integer', 'events_created is integer');
select col_type_is('public', 'scraping_runs', 'events_updated', 'integer', 'events_updated is integer');
select col_type_is('public', 'scraping_runs', 'events_skipped', 'integer', 'events_skipped is integer');
select col_type_is('public', 'scraping_runs', 'events_failed', 'integer', 'events_failed is integer');
select col_type_is('public', 'scraping_runs', 'error_code', 'text', 'error_code is text');
select col_type_is('public', 'scraping_runs', 'error_message', 'text', 'error_message is text');
select col_type_is('public', 'scraping_runs', 'metadata', 'jsonb', 'metadata is jsonb');
select col_type_is('public', 'scraping_runs', 'worker', 'text', 'worker is text');

select fk_ok('public', 'scraping_runs', 'source_id', 'public', 'event_sources', 'id');
select fk_ok('public', 'scraping_runs', 'scrape_job_id', 'public', 'scrape_jobs', 'id');
select is((select confdeltype::text from pg_constraint where conname = 'scraping_runs_source_id_fkey'), 'c',
  'deleting a source deletes its runs (ON DELETE CASCADE)');
select is((select confdeltype::text from pg_constraint where conname = 'scraping_runs_scrape_job_id_fkey'), 'n',
  'deleting a scrape job keeps its runs (ON DELETE SET NULL)');

select has_index('public', 'scraping_runs', 'scraping_runs_source_started_idx', array['source_id', 'started_at'],
  'index (source_id, started_at)');
select ok(pg_get_indexdef('public.scraping_runs_source_started_idx'::regclass) ~ '\(source_id, started_at DESC\)',
  'the per-source index is ordered started_at DESC');
select has_index('public', 'scraping_runs', 'scraping_runs_scrape_job_idx', array['scrape_job_id'],
  'the scrape_job_id foreign key is indexed');
select has_index('public', 'scraping_runs', 'scraping_runs_started_idx', array['started_at'],
  'started_at is indexed for prune_runs');

-- CHECKs: every invariant refused with 23514 (as the table owner, bypassing the RPCs).
insert into public.event_sources (id, name, base_url) values ('5c000000-0000-0000-0000-000000000001', 'schema test', 'https://x');
select throws_ok($$insert into public.scraping_runs (source_id, engine) values ('5c000000-0000-0000-0000-000000000001', 'curl')$$,
  '23514', null, 'an unknown engine is refused');
select throws_ok($$insert into public.scraping_runs (source_id, engine, status) values ('5c000000-0000-0000-0000-000000000001', 'api', 'done')$$,
  '23514', null, 'an unknown status is refused');
select throws_ok($$insert into public.scraping_runs (source_id, engine, status) values ('5c000000-0000-0000-0000-000000000001', 'api', 'succeeded')$$,
  '23514', null, 'a finished status needs finished_at');
select throws_ok($$insert into public.scraping_runs (source_id, engine, finished_at) values ('5c000000-0000-0000-0000-000000000001', 'api', now())$$,
  '23514', null, 'a running run has no finished_at');
select throws_ok($$insert into public.scraping_runs (source_id, engine, status, started_at, finished_at)
                   values ('5c000000-0000-0000-0000-000000000001', 'api', 'failed', '2026-01-02', '2026-01-01')$$,
  '23514', null, 'finished_at is not before started_at');
select throws_ok($$insert into public.scraping_runs (source_id, engine, status, started_at, finished_at, field_coverage)
                   values ('5c000000-0000-0000-0000-000000000001', 'api', 'succeeded', '2026-01-01', '2026-01-02', 100.5)$$,
  '23514', null, 'field_coverage is at most 100');
select throws_ok($$insert into public.scraping_runs (source_id, engine, status, started_at, finished_at, events_skipped)
                   values ('5c000000-0000-0000-0000-000000000001', 'api', 'succeeded', '2026-01-01', '2026-01-02', -1)$$,
  '23514', null, 'counts are not negative');
select throws_ok($$insert into public.scraping_runs (source_id, engine, field_coverage) values ('5c000000-0000-0000-0000-000000000001', 'api', 50)$$,
  '23514', null, 'a running run has no outcome yet');
select lives_ok($$insert into public.scraping_runs (source_id, engine, events_found, events_created) values ('5c000000-0000-0000-0000-000000000001', 'api', 3, 2)$$,
  'a running run may have counts (ingest_events adds each batch''s)');
select throws_ok($$insert into public.scraping_runs (source_id, engine, metadata) values ('5c000000-0000-0000-0000-000000000001', 'api', '[1]')$$,
  '23514', null, 'metadata is a JSON object');
select throws_ok($$insert into public.scraping_runs (source_id, engine, status, started_at, finished_at, duration_ms)
                   values ('5c000000-0000-0000-0000-000000000001', 'api', 'failed', '2026-01-01', '2026-01-02', 5)$$,
  '428C9', null, 'duration_ms cannot be written');
insert into public.scraping_runs (id, source_id, engine, status, started_at, finished_at)
  values ('5c000000-0000-0000-0000-0000000000a1', '5c000000-0000-0000-0000-000000000001', 'feed', 'partial',
          '2026-01-01 00:00:00+00', '2026-01-01 00:01:02.345+00');
select is((select duration_ms from public.scraping_runs where id = '5c000000-0000-0000-0000-0000000000a1'), 62345::bigint,
  'duration_ms is derived from the two timestamps');

-- ---------------------------------------------------------------- scraping_logs
select has_table('public', 'scraping_logs', 'scraping_logs exists');
select is_partitioned('public', 'scraping_logs', 'scraping_logs is partitioned');
select is((select pg_get_partkeydef('public.scraping_logs'::regclass)), 'RANGE (logged_at)', 'by range of logged_at');
select col_type_is('public', 'scraping_logs', 'id', 'bigint', 'id is bigint');
select is((select attidentity::text from pg_attribute where attrelid = 'public.scraping_logs'::regclass and attname = 'id'),
  'a', 'id is an identity column (generated always)');
select col_is_pk('public', 'scraping_logs', array['id', 'logged_at'], 'the key is (id, logged_at)');
select col_type_is('public', 'scraping_logs', 'run_id', 'uuid', 'run_id is uuid');
select col_type_is('public', 'scraping_logs', 'level', 'text', 'level is text');
select col_type_is('public', 'scraping_logs', 'message', 'text', 'message is text');
select col_type_is('public', 'scraping_logs', 'metadata', 'jsonb', 'metadata is jsonb');
select col_type_is('public', 'scraping_logs', 'logged_at', 'timestamp with time zone', 'logged_at is timestamptz');
select fk_ok('public', 'scraping_logs', 'run_id', 'public', 'scraping_runs', 'id');
select is((select confdeltype::text from pg_constraint where conname = 'scraping_logs_run_id_fkey' and conrelid = 'public.scraping_logs'::regclass),
  'c', 'deleting a run deletes its logs (ON DELETE CASCADE)');
select has_index('public', 'scraping_logs', 'scraping_logs_run_level_idx', array['run_id', 'level'], 'index (run_id, level)');
select index_is_type('public', 'scraping_logs', 'scraping_logs_logged_at_brin', 'brin', 'BRIN index on logged_at');

select throws_ok($$insert into public.scraping_logs (run_id, level, message) values ('5c000000-0000-0000-0000-0000000000a1', 'fatal', 'x')$$,
  '23514', null, 'an unknown level is refused');
select throws_ok($$insert into public.scraping_logs (run_id, level, message, metadata) values ('5c000000-0000-0000-0000-0000000000a1', 'info', 'x', '"s"')$$,
  '23514', null, 'log metadata is a JSON object');
select throws_ok(format($$insert into public.scraping_logs (run_id, level, message, metadata) values ('5c000000-0000-0000-0000-0000000000a1', 'info', 'x', %L)$$,
                        jsonb_build_object('big', repeat('x', 8200))),
  '23514', null, 'log metadata is at most 8 KiB');
select throws_ok($$insert into public.scraping_logs (run_id, level, message) values ('5c000000-0000-0000-0000-0000000000a2', 'info', 'x')$$,
  '23503', null, 'a log line needs an existing run');

-- Partitions: in schema scrapeguard, closed to the API roles.
select is((select count(*)::int from scrapeguard.log_partitions() where is_default), 1, 'there is a default partition');
select is((select partition::text from scrapeguard.log_partitions() where is_default), 'scrapeguard.scraping_logs_default',
  'the default partition is scrapeguard.scraping_logs_default');
select is((select count(*)::int from scrapeguard.log_partitions() where not is_default), 0,
  'the migration creates no daily partition (what it builds does not depend on the day it runs)');
select scrapeguard.ensure_log_partitions();
select ok(exists (select from scrapeguard.log_partitions() where not is_default
                   and lower_bound <= scrapeguard.clock() + interval '2 days'
                   and upper_bound > scrapeguard.clock() + interval '2 days'),
  'maintenance (ensure_log_partitions) creates them days ahead');
select is((select count(*)::int from pg_inherits i join pg_class c on c.oid = i.inhrelid
            where i.inhparent = 'public.scraping_logs'::regclass and c.relnamespace <> 'scrapeguard'::regnamespace),
  0, 'every partition lives in schema scrapeguard (not exposed by the API)');
select is((select count(*)::int from pg_inherits i join pg_class c on c.oid = i.inhrelid
            where i.inhparent = 'public.scraping_logs'::regclass and not c.relrowsecurity),
  0, 'every partition has RLS enabled');
select is((select count(*)::int from pg_inherits i, unnest(array['anon', 'authenticated']) r,
                unnest(array['select', 'insert', 'update', 'delete', 'truncate']) p
            where i.inhparent = 'public.scraping_logs'::regclass and has_table_privilege(r, i.inhrelid, p)),
  0, 'anon and authenticated have no privilege on any partition');
select is((select count(*)::int from pg_inherits i join pg_class c on c.oid = i.inhrelid,
                 aclexplode(coalesce(c.relacl, acldefault('r', c.relowner))) a
            where i.inhparent = 'public.scraping_logs'::regclass and a.grantee <> c.relowner),
  0, 'partitions grant nothing to anyone but their owner');

-- ---------------------------------------------------------------- security
select ok((select relrowsecurity from pg_class where oid = 'public.scraping_runs'::regclass), 'scraping_runs has RLS enabled');
select ok((select relrowsecurity from pg_class where oid = 'public.scraping_logs'::regclass), 'scraping_logs has RLS enabled');
select policies_are('public', 'scraping_runs', array['admins read scraping_runs'], 'scraping_runs: one read policy');
select policies_are('public', 'scraping_logs', array['admins read scraping_logs'], 'scraping_logs: one read policy');
select policy_roles_are('public', 'scraping_runs', 'admins read scraping_runs', array['authenticated'], 'runs policy is for authenticated');
select policy_cmd_is('public', 'scraping_logs', 'admins read scraping_logs', 'select', 'logs policy is select only');
select table_privs_are('public', 'scraping_runs', 'anon', array[]::text[], 'anon: no privilege on scraping_runs');
select table_privs_are('public', 'scraping_runs', 'authenticated', array['SELECT'], 'authenticated: SELECT only on scraping_runs');
select table_privs_are('public', 'scraping_logs', 'anon', array[]::text[], 'anon: no privilege on scraping_logs');
select table_privs_are('public', 'scraping_logs', 'authenticated', array['SELECT'], 'authenticated: SELECT only on scraping_logs');
select sequence_privs_are('public', 'scraping_logs_id_seq', 'anon', array[]::text[], 'anon cannot use the log id sequence');
select sequence_privs_are('public', 'scraping_logs_id_seq', 'authenticated', array[]::text[], 'authenticated cannot use the log id sequence');

select is((select count(*)::int
             from unnest(array['public.start_run(uuid,text,uuid,text,jsonb)',
                               'public.finish_run(uuid,text,numeric,integer,integer,integer,integer,integer,text,text,jsonb)',
                               'public.append_logs(uuid,jsonb)', 'scrapeguard.ensure_log_partitions(interval)',
                               'scrapeguard.drop_expired_logs(interval,boolean)', 'scrapeguard.prune_runs(interval)',
                               'scrapeguard.schedule_maintenance()', 'scrapeguard.log_partitions()',
                               'scrapeguard.is_timestamptz(text)', 'scrapeguard.check_run_job_source()']) f,
                  unnest(array['anon', 'authenticated']) r
            where has_function_privilege(r, f::regprocedure, 'execute')),
  0, 'anon and authenticated execute none of the write and maintenance functions');
select ok(has_function_privilege('service_role', 'public.append_logs(uuid,jsonb)', 'execute')
          and has_function_privilege('service_role', 'public.start_run(uuid,text,uuid,text,jsonb)', 'execute')
          and has_function_privilege('service_role', 'public.finish_run(uuid,text,numeric,integer,integer,integer,integer,integer,text,text,jsonb)', 'execute')
          and has_function_privilege('service_role', 'scrapeguard.ensure_log_partitions(interval)', 'execute')
          and has_function_privilege('service_role', 'scrapeguard.drop_expired_logs(interval,boolean)', 'execute')
          and has_function_privilege('service_role', 'scrapeguard.prune_runs(interval)', 'execute'),
  'service_role executes the RPCs and the maintenance functions');
select ok(has_function_privilege('authenticated', 'public.fleet_health(integer,interval,timestamptz)', 'execute')
          and not has_function_privilege('anon', 'public.fleet_health(integer,interval,timestamptz)', 'execute'),
  'fleet_health is for authenticated (RLS filters) and service_role, not anon');
select is((select count(*)::int from pg_proc p
            where p.oid in ('public.start_run(uuid,text,uuid,text,jsonb)'::regprocedure,
                            'public.finish_run(uuid,text,numeric,integer,integer,integer,integer,integer,text,text,jsonb)'::regprocedure,
                            'public.append_logs(uuid,jsonb)'::regprocedure,
                            'public.fleet_health(integer,interval,timestamptz)'::regprocedure,
                            'scrapeguard.prune_runs(interval)'::regprocedure)
              and p.prosecdef), 0, 'the RPCs, fleet_health and prune_runs run as the caller (SECURITY INVOKER)');
select is((select count(*)::int from pg_proc p
            where (p.pronamespace = 'scrapeguard'::regnamespace
                   and p.proname in ('ensure_log_partitions', 'drop_expired_logs', 'prune_runs', 'schedule_maintenance',
                                     'log_partitions', 'is_timestamptz', 'check_run_job_source')
                   or p.oid in ('public.start_run(uuid,text,uuid,text,jsonb)'::regprocedure,
                                'public.append_logs(uuid,jsonb)'::regprocedure,
                                'public.fleet_health(integer,interval,timestamptz)'::regprocedure))
              and not exists (select from unnest(p.proconfig) c where c = 'search_path=""')),
  0, 'every function pins search_path to empty');

select ok(exists (select from pg_publication_tables where pubname = 'supabase_realtime' and schemaname = 'public' and tablename = 'scraping_runs'),
  'scraping_runs is published to Supabase Realtime');
select ok(not exists (select from pg_publication_tables where pubname = 'supabase_realtime' and tablename like 'scraping_logs%'),
  'scraping_logs is not (volume)');

-- RLS behaviour through the API roles.
insert into public.scraping_logs (run_id, level, message) values ('5c000000-0000-0000-0000-0000000000a1', 'info', 'visible to admins');
set local role anon;
select throws_ok('select count(*) from public.scraping_runs', '42501', null, 'anon cannot read scraping_runs');
select throws_ok('select count(*) from scrapeguard.scraping_logs_default', '42501', null, 'anon cannot read a partition');
reset role;
select set_config('request.jwt.claims', '{"sub": "00000000-0000-0000-0000-00000000000b", "role": "authenticated"}', true);
set local role authenticated;
select is_empty('select * from public.scraping_runs', 'a signed-in non-admin sees no runs');
select is_empty('select * from public.scraping_logs', 'a signed-in non-admin sees no logs');
select throws_ok($$select public.start_run('5c000000-0000-0000-0000-000000000001', 'api')$$, '42501', null,
  'a signed-in user cannot start a run');
reset role;
select set_config('request.jwt.claims',
  '{"sub": "00000000-0000-0000-0000-00000000000a", "role": "authenticated", "app_metadata": {"role": "admin"}}', true);
set local role authenticated;
select is((select count(*)::int from public.scraping_logs where run_id = '5c000000-0000-0000-0000-0000000000a1'), 1,
  'an admin reads logs through the parent');
select throws_ok('select count(*) from scrapeguard.scraping_logs_default', '42501', null,
  'even an admin cannot read a partition directly');
select throws_ok($$delete from public.scraping_runs$$, '42501', null, 'an admin cannot delete runs');
reset role;

select * from finish();
rollback;
