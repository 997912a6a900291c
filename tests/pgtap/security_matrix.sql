-- The access matrix: roles {anon, authenticated, authenticated admin, service_role}
-- × every scrapeguard table in public × {select, insert, update, delete}, and × every
-- scrapeguard function in public. Tables and functions are read from the catalog
-- (everything in public except the app's own objects), so an object added by a later
-- migration is covered without editing this file.
begin;
set local search_path = public, extensions;

-- The app's own objects in public: the base tables (and the trigger function the
-- migrations create with them on a bare database), and the app stand-in's neighbours.
-- Their access rules are the app's; scrapeguard only adds its revision triggers.
create temp table app_objects (name text primary key) on commit drop;
insert into app_objects values
  ('events'), ('event_sources'), ('scrape_jobs'), ('profiles'), ('update_updated_at_column'),
  ('venues'), ('categories'), ('organizers'), ('upcoming_events'), ('event_favorites'), ('event_status_log'),
  ('events_search_vector_update'), ('log_event_status');

-- Rows in every table, written as the owner (bypasses RLS), so that "sees nothing"
-- is a real statement and not an empty table.
insert into public.event_sources (id, name, base_url)
values ('9a1d3f7e-0000-4000-8000-000000000001', 'Matrix Source', 'https://matrix.example');
insert into public.events (id, title, start_time, status)
values ('9a1d3f7e-0000-4000-8000-0000000000e1', 'Matrix Event', '2026-12-24 20:00+08', 'draft');
select public.set_change_context(null, 'matrix-seed');
update public.events set status = 'published' where id = '9a1d3f7e-0000-4000-8000-0000000000e1';
select public.record_failure('9a1d3f7e-0000-4000-8000-000000000001', 'seed failure')
  from generate_series(1, 3);
select public.append_logs(
  public.start_run('9a1d3f7e-0000-4000-8000-000000000001', 'api'),
  '[{"level": "info", "message": "seed"}]');
-- A run with a known id, and an event ingested by it (event_source_keys' row).
insert into public.scraping_runs (id, source_id, engine)
values ('9a1d3f7e-0000-4000-8000-0000000000a1', '9a1d3f7e-0000-4000-8000-000000000001', 'feed');
select public.ingest_events('9a1d3f7e-0000-4000-8000-0000000000a1',
  '[{"key": "https://matrix.example/e/1", "title": "Matrix Ingested", "start_time": "2026-12-25 20:00+08"}]');

create temp table matrix_tables on commit drop as
  select c.oid::regclass as tbl, c.relname::text as name, c.relkind,
         (select a.attname::text from pg_catalog.pg_attribute a
           where a.attrelid = c.oid and a.attnum > 0 and not a.attisdropped
             and a.attgenerated = '' and a.attidentity = ''
           order by a.attnum limit 1) as some_column,
         (select string_agg(pg_catalog.quote_ident(a.attname), ', ' order by a.attnum) from pg_catalog.pg_attribute a
           where a.attrelid = c.oid and a.attnum > 0 and not a.attisdropped and a.attgenerated = '') as insert_columns
    from pg_catalog.pg_class c
   where c.relnamespace = 'public'::regnamespace and c.relkind in ('r', 'p', 'v')
     and c.relname not in (select name from app_objects);
create temp table matrix_functions on commit drop as
  select p.oid::regprocedure as fn, p.proname::text as name,
         format('select %s(%s)', p.oid::regproc,
                (select string_agg('null', ', ') from generate_series(1, p.pronargs - p.pronargdefaults))) as null_call,
         p.proname in ('event_history', 'event_as_of', 'events_as_of', 'fleet_health', 'worker_health') as is_read
    from pg_catalog.pg_proc p
   where p.pronamespace = 'public'::regnamespace and p.prokind = 'f'
     and p.proname not in (select name from app_objects)
     and not exists (select from pg_catalog.pg_depend d where d.objid = p.oid and d.deptype = 'e');
grant select on matrix_tables, matrix_functions to anon, authenticated, service_role;

select plan(
  1
  + (select count(*)::int from matrix_tables) * (1 + 16 + 3)
  + (select count(*)::int from matrix_tables where relkind <> 'v') * 3
  + (select count(*)::int from matrix_functions) * 4
  + 7
  + 5
);

select ok((select count(*) from matrix_tables) >= 5, 'the matrix covers the scrapeguard tables');

-- Every table has rows to hide.
select isnt_empty(format('select 1 from %s', tbl), format('%s has rows (seeded as the owner)', name))
  from matrix_tables;

-- Policies: exactly one, admins read, for select, to authenticated.
select policies_are('public', name, array[format('admins read %s', name)]::name[],
                    format('%s has exactly the admin-read policy', name))
  from matrix_tables where relkind <> 'v';
select policy_roles_are('public', name, format('admins read %s', name), array['authenticated']::name[],
                        format('%s: the policy applies to authenticated', name))
  from matrix_tables where relkind <> 'v';
select policy_cmd_is('public', name, format('admins read %s', name)::name, 'select',
                     format('%s: the policy is for select only', name))
  from matrix_tables where relkind <> 'v';

-- Table privileges by role.
select table_privs_are('public', name, 'anon', array[]::text[], format('anon holds no privilege on %s', name))
  from matrix_tables;
select table_privs_are('public', name, 'authenticated', array['SELECT'],
                       format('authenticated may only select from %s (RLS filters)', name))
  from matrix_tables;
select ok(pg_catalog.has_table_privilege('service_role', tbl, 'select, insert, update, delete'),
          format('service_role may read and write %s', name))
  from matrix_tables;

-- anon: every verb refused.
set local role anon;
select set_config('request.jwt.claims', '{"role": "anon"}', true);
select throws_ok(format('select * from %s', tbl), '42501', null, format('anon × %s × select', name)) from matrix_tables;
select throws_ok(format('insert into %s default values', tbl), '42501', null, format('anon × %s × insert', name)) from matrix_tables;
select throws_ok(format('update %s set %I = %I', tbl, some_column, some_column), '42501', null, format('anon × %s × update', name)) from matrix_tables;
select throws_ok(format('delete from %s', tbl), '42501', null, format('anon × %s × delete', name)) from matrix_tables;
reset role;

-- authenticated, not an admin: reads nothing, writes nothing.
set local role authenticated;
select set_config('request.jwt.claims',
  '{"role": "authenticated", "sub": "0d9c1a52-7f3e-4d6b-9a41-5b8e2c7f0a11", "app_metadata": {"provider": "email"}}', true);
select is_empty(format('select * from %s', tbl), format('authenticated × %s × select sees no row', name)) from matrix_tables;
select throws_ok(format('insert into %s default values', tbl), '42501', null, format('authenticated × %s × insert', name)) from matrix_tables;
select throws_ok(format('update %s set %I = %I', tbl, some_column, some_column), '42501', null, format('authenticated × %s × update', name)) from matrix_tables;
select throws_ok(format('delete from %s', tbl), '42501', null, format('authenticated × %s × delete', name)) from matrix_tables;
select is_empty('select * from public.event_history(''9a1d3f7e-0000-4000-8000-0000000000e1'')',
                'authenticated × event_history sees no revision');
select is_empty('select * from public.worker_health()', 'authenticated × worker_health sees no worker');
reset role;

-- authenticated admin: reads everything, writes nothing.
set local role authenticated;
select set_config('request.jwt.claims',
  '{"role": "authenticated", "sub": "6f1c4c46-3b1a-4f0e-9a57-0c7f5c2e9d11", "app_metadata": {"role": "admin"}}', true);
select isnt_empty(format('select * from %s', tbl), format('admin × %s × select sees rows', name)) from matrix_tables;
select throws_ok(format('insert into %s default values', tbl), '42501', null, format('admin × %s × insert', name)) from matrix_tables;
select throws_ok(format('update %s set %I = %I', tbl, some_column, some_column), '42501', null, format('admin × %s × update', name)) from matrix_tables;
select throws_ok(format('delete from %s', tbl), '42501', null, format('admin × %s × delete', name)) from matrix_tables;
select isnt_empty('select * from public.event_history(''9a1d3f7e-0000-4000-8000-0000000000e1'')',
                  'admin × event_history sees the revisions');
select isnt_empty('select * from public.fleet_health()', 'admin × fleet_health sees the sources');
select isnt_empty('select * from public.worker_health()', 'admin × worker_health sees the workers');
reset role;

-- service_role: everything (writes checked with statements that touch no row, so the
-- privilege and RLS checks run but the seeded rows stay for the checks above).
set local role service_role;
select set_config('request.jwt.claims', '{"role": "service_role"}', true);
select isnt_empty(format('select * from %s', tbl), format('service_role × %s × select', name)) from matrix_tables;
select lives_ok(format('insert into %s (%s) overriding system value select %s from %s where false',
                       tbl, insert_columns, insert_columns, tbl),
                format('service_role × %s × insert', name)) from matrix_tables;
select lives_ok(format('update %s set %I = %I where false', tbl, some_column, some_column),
                format('service_role × %s × update', name)) from matrix_tables;
select lives_ok(format('delete from %s where false', tbl), format('service_role × %s × delete', name)) from matrix_tables;
select isnt_empty('select * from public.event_history(''9a1d3f7e-0000-4000-8000-0000000000e1'')',
                  'service_role × event_history sees the revisions');
select isnt_empty('select * from public.worker_health()', 'service_role × worker_health sees the workers');
reset role;

-- Functions: anon may execute none; authenticated only the read functions; service_role all.
select function_privs_are('public', name, (select array_agg(format_type(t, null)) from unnest(p.proargtypes) t)::name[],
                          'anon', array[]::text[], format('anon may not execute %s', fn))
  from matrix_functions f join pg_catalog.pg_proc p on p.oid = f.fn;
select function_privs_are('public', name, (select array_agg(format_type(t, null)) from unnest(p.proargtypes) t)::name[],
                          'authenticated', case when is_read then array['EXECUTE'] else array[]::text[] end,
                          format('authenticated %s execute %s', case when is_read then 'may' else 'may not' end, fn))
  from matrix_functions f join pg_catalog.pg_proc p on p.oid = f.fn;
select ok(pg_catalog.has_function_privilege('service_role', fn, 'execute'), format('service_role may execute %s', fn))
  from matrix_functions;
set local role anon;
select throws_ok(null_call, '42501', null, format('anon calling %s is refused', fn)) from matrix_functions;
reset role;

-- ingest_events writes events: the service role only, not even an admin. Called as
-- PostgREST calls it (role and claims of the request), with real arguments.
select ok(exists (select from matrix_functions where name = 'ingest_events'), 'the matrix covers ingest_events');
select ok(exists (select from matrix_tables where name = 'event_source_keys'), 'the matrix covers event_source_keys');
set local role authenticated;
select set_config('request.jwt.claims',
  '{"role": "authenticated", "sub": "6f1c4c46-3b1a-4f0e-9a57-0c7f5c2e9d11", "app_metadata": {"role": "admin"}}', true);
select throws_ok($$select public.ingest_events('9a1d3f7e-0000-4000-8000-0000000000a1',
                    '[{"key": "https://matrix.example/e/2", "title": "By an admin", "start_time": "2026-12-26"}]')$$,
                 '42501', null, 'admin calling ingest_events is refused');
reset role;
set local role service_role;
select set_config('request.jwt.claims', '{"role": "service_role"}', true);
select is((public.ingest_events('9a1d3f7e-0000-4000-8000-0000000000a1',
             '[{"key": "https://matrix.example/e/2", "title": "By the service role", "start_time": "2026-12-26"}]')
           ->> 'created')::int, 1, 'service_role × ingest_events creates the event');
reset role;
select is((select count(*)::int from public.events where title in ('By an admin', 'By the service role')), 1,
          'only the service role''s ingest wrote an event');

select * from finish();
rollback;
