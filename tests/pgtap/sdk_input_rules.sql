-- The input rules the SDK relies on: one length rule for worker names, append_logs naming
-- the entry whose UTC offset is out of range, set_change_context refusing a finished run.
begin;
set local search_path = public, extensions;
select plan(17);

set local scrapeguard.now = '2026-03-01 10:00:00+00';
select scrapeguard.ensure_log_partitions('1 day');

insert into public.event_sources (id, name, base_url) values
  ('5d000000-0000-4000-8000-000000000001', 'input rules source', 'https://input-rules.example');

-- ---------------------------------------------------------------- worker names
select lives_ok($$select public.start_run('5d000000-0000-4000-8000-000000000001', 'api', null, repeat('w', 200))$$,
  'start_run takes a worker of 200 characters');
select throws_ok($$select public.start_run('5d000000-0000-4000-8000-000000000001', 'api', null, repeat('w', 201))$$,
  '22023', null, 'start_run refuses a worker of 201 characters');
select lives_ok($$select * from public.acquire_permit('5d000000-0000-4000-8000-000000000001', repeat('w', 200))$$,
  'acquire_permit takes a worker of 200 characters');
select throws_ok($$select * from public.acquire_permit('5d000000-0000-4000-8000-000000000001', repeat('w', 201))$$,
  '22023', 'acquire_permit: worker must be at most 200 characters (got 201)',
  'acquire_permit refuses a worker of 201 characters, with start_run''s SQLSTATE');
select throws_ok($$select * from public.acquire_permit('5d000000-0000-4000-8000-000000000001', repeat('w', 1048576))$$,
  '22023', null, 'and one of 1 MiB');

-- A half-open breaker: the worker would be stored in the state row and a transitions row.
select public.record_failure('5d000000-0000-4000-8000-000000000001', 'down') from generate_series(1, 3);
set local scrapeguard.now = '2026-03-01 14:00:00+00';
create temp table t_before as select count(*) as n from public.circuit_breaker_transitions
  where source_id = '5d000000-0000-4000-8000-000000000001';
select throws_ok($$select * from public.acquire_permit('5d000000-0000-4000-8000-000000000001', repeat('w', 201))$$,
  '22023', null, 'a probe is not granted to an over-long worker');
select is((select state::text from public.circuit_breaker_state where source_id = '5d000000-0000-4000-8000-000000000001'),
  'open', 'and the breaker stays open');
select is((select count(*) from public.circuit_breaker_transitions where source_id = '5d000000-0000-4000-8000-000000000001'),
  (select n from t_before), 'with no transitions row written');
select is((select allowed from public.acquire_permit('5d000000-0000-4000-8000-000000000001', repeat('w', 200))),
  true, 'a 200-character worker gets the probe');
select is((select pg_catalog.char_length(probe_worker) from public.circuit_breaker_state
            where source_id = '5d000000-0000-4000-8000-000000000001'), 200, 'and is stored whole');

-- ---------------------------------------------------------------- UTC offsets in append_logs
create temp table t_run as select public.start_run('5d000000-0000-4000-8000-000000000001', 'feed') as id;
select throws_ok(format($$select public.append_logs(%L, '[{"level": "info", "message": "ok", "at": "2026-03-01T10:00:00Z"},
                                                       {"level": "info", "message": "far east", "at": "2026-03-01T10:00:00+16:00"}]')$$,
                        (select id from t_run)),
  '22023', 'append_logs: entry 1 has an "at" that is not a valid timestamp',
  'an offset of +16:00 is 22023 naming the entry');
select throws_ok(format($$select public.append_logs(%L, '[{"level": "info", "message": "minutes", "at": "2026-03-01T10:00:00+14:60"}]')$$,
                        (select id from t_run)),
  '22023', null, 'an offset of +14:60 too');
select is((select count(*)::int from public.scraping_logs where run_id = (select id from t_run)), 0,
  'nothing of those batches is written');
select is(public.append_logs((select id from t_run), '[{"level": "info", "message": "east", "at": "2026-03-01T10:00:00+14:00"}]'),
  1, 'an offset of +14:00 is accepted');

-- ---------------------------------------------------------------- change context of a finished run
select lives_ok(format($$select public.set_change_context(%L, 'worker-1')$$, (select id from t_run)),
  'set_change_context takes a running run');
select public.finish_run((select id from t_run), 'succeeded');
select throws_ok(format($$select public.set_change_context(%L, 'worker-1')$$, (select id from t_run)),
  'SG003', format('set_change_context: run %s is already finished (status succeeded)', (select id from t_run)),
  'and refuses it once finished, with finish_run''s SQLSTATE for a finished run');
create temp table t_cancelled as select public.start_run('5d000000-0000-4000-8000-000000000001', 'feed') as id;
select public.finish_run((select id from t_cancelled), 'cancelled');
select throws_ok(format($$select public.set_change_context(%L)$$, (select id from t_cancelled)),
  'SG003', null, 'a cancelled run too');

select * from finish();
rollback;
