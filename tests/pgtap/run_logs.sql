-- run_logs: one run's lines at or above a level, in a stable order, with the total count.
begin;
set local search_path = public, extensions;
select plan(12);

insert into public.event_sources (id, name, base_url)
values ('1065aa00-0000-4000-8000-000000000001', 'Logs Source', 'https://logs.example/events');
create temp table r on commit drop as
  select public.start_run('1065aa00-0000-4000-8000-000000000001', 'api') as id;
-- One batch of 30 lines sharing one time (no "at"), then a later line.
select public.append_logs((select id from r),
  (select jsonb_agg(jsonb_build_object('level', case when i % 10 = 0 then 'error' when i % 3 = 0 then 'warn' else 'info' end,
                                       'message', 'line ' || i) order by i)
     from generate_series(1, 30) i));
select public.append_logs((select id from r), '[{"level": "debug", "message": "late", "at": "2099-01-01T00:00:00Z"}]');

select is((select count(distinct logged_at)::int from public.scraping_logs where run_id = (select id from r) and message <> 'late'),
  1, 'the batch''s lines share one logged_at');
select is((select array_agg(message) from public.run_logs((select id from r), 'debug', 31)),
  (select array_agg('line ' || i order by i) from generate_series(1, 30) i) || 'late'::text,
  'all lines in the order they were logged');
select is((select array_agg(message) from public.run_logs((select id from r), max_lines => 3)),
  array['line 1', 'line 2', 'line 3'], 'max_lines: the first lines');
select is((select distinct matching::int from public.run_logs((select id from r), max_lines => 3)), 31, 'matching counts every line');
select is((select array_agg(message) from public.run_logs((select id from r), 'error')),
  array['line 10', 'line 20', 'line 30'], 'min_level error: errors only');
select is((select count(*)::int from public.run_logs((select id from r), 'warn')), 12, 'min_level warn: warnings and errors');
select is((select count(*)::int from public.run_logs((select id from r), 'info')), 30, 'min_level info: all but debug');

select throws_ok($$select * from public.run_logs('1065aa00-0000-4000-8000-0000000000ff')$$, 'SG002',
  'run_logs: unknown run 1065aa00-0000-4000-8000-0000000000ff', 'an unknown run: SG002');
select throws_ok(format('select * from public.run_logs(%L, %L)', (select id from r), 'fatal'), '22023', null, 'an unknown level: 22023');
select throws_ok(format('select * from public.run_logs(%L, max_lines => 0)', (select id from r)), '22023', null, 'max_lines 0: 22023');
select throws_ok(format('select * from public.run_logs(%L, null)', (select id from r)), '22004', null, 'a null level: 22004');

select set_config('test.run_id', (select id::text from r), true);
set local role authenticated;
select throws_ok(format('select * from public.run_logs(%L)', current_setting('test.run_id')), '42501', null, 'authenticated may not call it');
reset role;

select * from finish();
rollback;
