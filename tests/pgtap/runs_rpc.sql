-- start_run / finish_run / append_logs: behaviour, validation (SQLSTATEs) and "nothing written on error".
begin;
set local search_path = public, extensions;
select plan(62);

set local scrapeguard.now = '2026-03-01 10:00:00+00';
select scrapeguard.ensure_log_partitions('1 day');

insert into public.event_sources (id, name, base_url) values
  ('7a000000-0000-0000-0000-000000000001', 'rpc source', 'https://a'),
  ('7a000000-0000-0000-0000-000000000002', 'other source', 'https://b');
insert into public.scrape_jobs (id, source_id) values
  ('7a000000-0000-0000-0000-0000000000b1', '7a000000-0000-0000-0000-000000000001'),
  ('7a000000-0000-0000-0000-0000000000b2', '7a000000-0000-0000-0000-000000000002');

-- ---------------------------------------------------------------- start_run
create temp table t_run as
  select public.start_run('7a000000-0000-0000-0000-000000000001', 'playwright',
                          '7a000000-0000-0000-0000-0000000000b1', 'worker-7', '{"region": "mo"}') as id;
select isnt((select id from t_run), null, 'start_run returns the new run id');
select results_eq(
  $$select source_id, scrape_job_id, engine, status, started_at, finished_at, worker, metadata
      from public.scraping_runs where id = (select id from t_run)$$,
  $$values ('7a000000-0000-0000-0000-000000000001'::uuid, '7a000000-0000-0000-0000-0000000000b1'::uuid, 'playwright',
            'running', '2026-03-01 10:00:00+00'::timestamptz, null::timestamptz, 'worker-7', '{"region": "mo"}'::jsonb)$$,
  'start_run opens a running run at clock() with what it was given');
select lives_ok($$select public.start_run('7a000000-0000-0000-0000-000000000001', 'feed')$$,
  'scrape_job_id, worker and metadata are optional');

create temp table t_count as select count(*) as n from public.scraping_runs;
select throws_ok($$select public.start_run('7a000000-0000-0000-0000-0000000000ff', 'api')$$,
  'SG001', 'start_run: unknown source 7a000000-0000-0000-0000-0000000000ff', 'unknown source: SG001');
select throws_ok($$select public.start_run('7a000000-0000-0000-0000-000000000001', 'selenium')$$,
  '22023', 'start_run: unknown engine "selenium" (expected firecrawl, devtools, playwright, api or feed)',
  'unknown engine: 22023');
select throws_ok($$select public.start_run(null, 'api')$$, '22004', null, 'null source_id: 22004');
select throws_ok($$select public.start_run('7a000000-0000-0000-0000-000000000001', null)$$, '22004', null, 'null engine: 22004');
select throws_ok($$select public.start_run('7a000000-0000-0000-0000-000000000001', 'api', metadata => '[1, 2]')$$,
  '22023', null, 'metadata that is not an object: 22023');
select throws_ok($$select public.start_run('7a000000-0000-0000-0000-000000000001', 'api', '7a000000-0000-0000-0000-0000000000b2')$$,
  '22023', null, 'a scrape job of another source: 22023');
select throws_ok($$select public.start_run('7a000000-0000-0000-0000-000000000001', 'api', '7a000000-0000-0000-0000-0000000000b9')$$,
  '22023', null, 'an unknown scrape job: 22023');
select throws_ok($$select public.start_run('7a000000-0000-0000-0000-000000000001', 'api', worker => repeat('w', 201))$$,
  '22023', null, 'a worker name over 200 characters: 22023');
select is((select count(*) from public.scraping_runs), (select n from t_count), 'no failed start_run wrote a row');

-- ---------------------------------------------------------------- finish_run
set local scrapeguard.now = '2026-03-01 10:01:30.5+00';
select throws_ok(format($$select public.finish_run(%L, 'running')$$, (select id from t_run)),
  '22023', 'finish_run: status must be succeeded, partial, failed or cancelled (got "running")', 'finishing as running: 22023');
select throws_ok(format($$select public.finish_run(%L, 'ok')$$, (select id from t_run)), '22023', null, 'unknown status: 22023');
select throws_ok(format($$select public.finish_run(%L, 'succeeded', 100.01)$$, (select id from t_run)),
  '22023', 'finish_run: field_coverage must be between 0 and 100 (got 100.01)', 'coverage above 100: 22023');
select throws_ok(format($$select public.finish_run(%L, 'succeeded', -0.5)$$, (select id from t_run)),
  '22023', null, 'negative coverage: 22023');
select throws_ok(format($$select public.finish_run(%L, 'succeeded', events_updated => -1)$$, (select id from t_run)),
  '22023', 'finish_run: counts must not be negative', 'a negative count: 22023');
select throws_ok(format($$select public.finish_run(%L, 'succeeded', events_found => null)$$, (select id from t_run)),
  '22004', null, 'a null count: 22004');
select throws_ok($$select public.finish_run(null, 'succeeded')$$, '22004', null, 'null run_id: 22004');
select throws_ok(format($$select public.finish_run(%L, null)$$, (select id from t_run)), '22004', null, 'null status: 22004');
select throws_ok(format($$select public.finish_run(%L, 'failed', metadata => '"oops"')$$, (select id from t_run)),
  '22023', null, 'metadata that is not an object: 22023');
select throws_ok(format($$select public.finish_run(%L, 'failed', metadata => %L)$$, (select id from t_run),
                        jsonb_build_object('dump', repeat('x', 70000))),
  '22023', null, 'metadata over 64 KiB once merged: 22023');
select throws_ok($$select public.finish_run('7a000000-0000-0000-0000-0000000000ee', 'succeeded')$$,
  'SG002', 'finish_run: unknown run 7a000000-0000-0000-0000-0000000000ee', 'unknown run: SG002');
select is((select status from public.scraping_runs where id = (select id from t_run)), 'running',
  'no failed finish_run changed the run');

create temp table t_finished as
  select * from public.finish_run((select id from t_run), 'partial', 87.5, 40, 10, 20, 7, 3,
                                  'HTTP_429', 'rate limited on page 5', '{"pages": 5}');
select results_eq(
  $$select status, finished_at, duration_ms, field_coverage, events_found, events_created, events_updated,
           events_skipped, events_failed, error_code, error_message, metadata from t_finished$$,
  $$values ('partial', '2026-03-01 10:01:30.5+00'::timestamptz, 90500::bigint, 87.50::numeric, 40, 10, 20, 7, 3,
            'HTTP_429', 'rate limited on page 5', '{"pages": 5, "region": "mo"}'::jsonb)$$,
  'finish_run returns the finished run: outcome, counts, duration, merged metadata');
select results_eq($$select status, duration_ms from public.scraping_runs where id = (select id from t_run)$$,
  $$values ('partial', 90500::bigint)$$, 'and stores it');
set local scrapeguard.now = '2026-03-01 10:05:00+00';
select throws_ok(format($$select public.finish_run(%L, 'succeeded')$$, (select id from t_run)),
  'SG003', format('finish_run: run %s is already finished (status partial)', (select id from t_run)),
  'finishing twice: SG003');
select is((select finished_at from public.scraping_runs where id = (select id from t_run)), '2026-03-01 10:01:30.5+00'::timestamptz,
  'the second finish changed nothing');
select lives_ok(
  $$select public.finish_run(public.start_run('7a000000-0000-0000-0000-000000000001', 'api'), 'failed')$$,
  'coverage, counts, error and metadata are optional');
select is((select field_coverage from public.scraping_runs where status = 'failed' and source_id = '7a000000-0000-0000-0000-000000000001'),
  null, 'coverage stays null when not measured');
select lives_ok(
  $$select public.finish_run(public.start_run('7a000000-0000-0000-0000-000000000001', 'api'), 'cancelled', 0)$$,
  'coverage 0 is allowed');
select lives_ok(
  $$select public.finish_run(public.start_run('7a000000-0000-0000-0000-000000000001', 'api'), 'succeeded', 100)$$,
  'coverage 100 is allowed');

-- ---------------------------------------------------------------- append_logs
create temp table t_log_run as
  select public.start_run('7a000000-0000-0000-0000-000000000001', 'firecrawl') as id;
set local scrapeguard.now = '2026-03-01 11:00:00+00';
select is(
  public.append_logs((select id from t_log_run), $$[
    {"level": "info", "message": "start"},
    {"level": "debug", "message": "page 1", "metadata": {"url": "https://a/1", "ms": 120}},
    {"level": "warn", "message": "slow", "at": "2026-03-01T10:59:58.250Z"},
    {"level": "error", "message": "parse error", "metadata": null, "at": "2026-03-01 18:59:59+08:00"}
  ]$$),
  4, 'append_logs returns the number of rows written');
select results_eq(
  $$select level, message, metadata, logged_at from public.scraping_logs where run_id = (select id from t_log_run) order by id$$,
  $$values ('info', 'start', '{}'::jsonb, '2026-03-01 11:00:00+00'::timestamptz),
           ('debug', 'page 1', '{"url": "https://a/1", "ms": 120}'::jsonb, '2026-03-01 11:00:00+00'::timestamptz),
           ('warn', 'slow', '{}'::jsonb, '2026-03-01 10:59:58.25+00'::timestamptz),
           ('error', 'parse error', '{}'::jsonb, '2026-03-01 10:59:59+00'::timestamptz)$$,
  'rows are written in entry order; at defaults to clock(); metadata defaults to {}');
select is((select count(*)::int from scrapeguard.scraping_logs_p20260301 where run_id = (select id from t_log_run)), 4,
  'they land in the partition of their day');
select is(public.append_logs((select id from t_log_run), '[]'), 0, 'an empty batch writes nothing');

create temp table t_log_count as select count(*) as n from public.scraping_logs;
select throws_ok(format($$select public.append_logs(%L, '[{"level": "info", "message": "a"}, {"level": "info", "message": "b"}, {"level": "fatal", "message": "c"}]')$$,
                        (select id from t_log_run)),
  '22023', 'append_logs: entry 2 has no valid level (debug, info, warn or error)', 'a bad level is named by its index: 22023');
select throws_ok(format($$select public.append_logs(%L, '[{"level": "info"}]')$$, (select id from t_log_run)),
  '22023', 'append_logs: entry 0 has no message string', 'a missing message: 22023');
select throws_ok(format($$select public.append_logs(%L, '[{"level": "info", "message": 42}]')$$, (select id from t_log_run)),
  '22023', 'append_logs: entry 0 has no message string', 'a message that is not a string: 22023');
select throws_ok(format($$select public.append_logs(%L, %L)$$, (select id from t_log_run),
                        jsonb_build_array(jsonb_build_object('level', 'info', 'message', repeat('m', 16385)))),
  '22023', 'append_logs: entry 0 has a message over 16384 characters', 'a message over 16384 characters: 22023');
select throws_ok(format($$select public.append_logs(%L, '[{"level": "info", "message": "a", "msg": "typo"}]')$$, (select id from t_log_run)),
  '22023', 'append_logs: entry 0 has unknown keys (allowed: level, message, metadata, at)', 'an unknown key: 22023');
select throws_ok(format($$select public.append_logs(%L, '[{"level": "info", "message": "a"}, "text"]')$$, (select id from t_log_run)),
  '22023', 'append_logs: entry 1 is not a JSON object', 'an entry that is not an object: 22023');
select throws_ok(format($$select public.append_logs(%L, '[{"level": "info", "message": "a", "metadata": [1]}]')$$, (select id from t_log_run)),
  '22023', 'append_logs: entry 0 has metadata that is not a JSON object', 'metadata that is not an object: 22023');
-- 8192 bytes of JSON text is the limit: {"k": "…"} is 9 bytes + the string.
select is(public.append_logs((select id from t_log_run),
                             jsonb_build_array(jsonb_build_object('level', 'info', 'message', 'max', 'metadata',
                                                                  jsonb_build_object('k', repeat('x', 8183))))),
  1, 'metadata of exactly 8192 bytes of JSON text is accepted');
select throws_ok(format($$select public.append_logs(%L, %L)$$, (select id from t_log_run),
                        jsonb_build_array(jsonb_build_object('level', 'info', 'message', 'ok'),
                                          jsonb_build_object('level', 'info', 'message', 'big', 'metadata',
                                                             jsonb_build_object('k', repeat('x', 8184))))),
  '22023', 'append_logs: entry 1 has metadata over 8192 bytes', 'metadata over 8192 bytes: 22023');
select throws_ok(format($$select public.append_logs(%L, '[{"level": "info", "message": "a", "at": "2026-03-01 10:00:00"}]')$$, (select id from t_log_run)),
  '22023', 'append_logs: entry 0 has an "at" that is not an ISO-8601 timestamp with a UTC offset', 'an at without offset: 22023');
select throws_ok(format($$select public.append_logs(%L, '[{"level": "info", "message": "a", "at": 1700000000}]')$$, (select id from t_log_run)),
  '22023', 'append_logs: entry 0 has an "at" that is not a string', 'a numeric at: 22023');
select throws_ok(format($$select public.append_logs(%L, '[{"level": "info", "message": "a"}, {"level": "info", "message": "b"}, {"level": "info", "message": "c", "at": "2026-13-01T00:00:00Z"}]')$$,
                        (select id from t_log_run)),
  '22023', 'append_logs: entry 2 has an "at" that is not a valid timestamp', 'an impossible date is named by its index: 22023');
select throws_ok(format($$select public.append_logs(%L, '{"level": "info", "message": "a"}')$$, (select id from t_log_run)),
  '22023', 'append_logs: entries must be a JSON array', 'entries that are not an array: 22023');
select throws_ok(format($$select public.append_logs(%L, %L)$$, (select id from t_log_run),
                        (select jsonb_agg(jsonb_build_object('level', 'info', 'message', 'x')) from generate_series(1, 10001))),
  '22023', 'append_logs: at most 10000 entries per call (got 10001)', 'more than 10000 entries: 22023');
select throws_ok($$select public.append_logs('7a000000-0000-0000-0000-0000000000ee', '[{"level": "info", "message": "a"}]')$$,
  'SG002', 'append_logs: unknown run 7a000000-0000-0000-0000-0000000000ee', 'unknown run: SG002');
select throws_ok($$select public.append_logs(null, '[]')$$, '22004', null, 'null run_id: 22004');
select throws_ok(format($$select public.append_logs(%L, null)$$, (select id from t_log_run)), '22004', null, 'null entries: 22004');
select is((select count(*) from public.scraping_logs), (select n from t_log_count) + 1,
  'no rejected batch wrote anything (only the accepted 8192-byte entry was added)');

select is(public.append_logs((select id from t_run), '[{"level": "info", "message": "late flush"}]'), 1,
  'a finished run still accepts its late log lines');
select is(
  public.append_logs((select id from t_log_run),
                     (select jsonb_agg(jsonb_build_object('level', (array['debug','info','warn','error'])[1 + g % 4],
                                                          'message', 'line ' || g))
                        from generate_series(1, 10000) g)),
  10000, 'a batch of 10000 entries is accepted in one call');
select is((select count(*)::int from public.scraping_logs where run_id = (select id from t_log_run) and level = 'warn'), 2501,
  'and every row is there');
select ok((select bool_and(d > 0) from (select id - lag(id) over (order by id) as d from public.scraping_logs
                                         where run_id = (select id from t_log_run)) x where d is not null),
  'ids grow in entry order (insertion order within a run)');
select is((select count(*)::int from public.scraping_logs where run_id = (select id from t_log_run) and metadata <> '{}'), 2,
  'metadata is kept as given');

-- The service role (what workers use) drives a whole run.
set local role service_role;
select lives_ok(
  $$select public.finish_run(r, 'succeeded', 99, 5, 5)
      from (select public.start_run('7a000000-0000-0000-0000-000000000001', 'devtools') as r) s
     where public.append_logs(s.r, '[{"level": "info", "message": "as service_role"}]') = 1$$,
  'service_role starts a run, appends its logs and finishes it');
reset role;

-- Deleting a run removes its logs in every partition (FK cascade).
delete from public.scraping_runs where id = (select id from t_log_run);
select is((select count(*)::int from public.scraping_logs where run_id = (select id from t_log_run)), 0,
  'deleting a run deletes its logs');
-- Deleting the source removes its runs.
delete from public.event_sources where id = '7a000000-0000-0000-0000-000000000002';
delete from public.event_sources where id = '7a000000-0000-0000-0000-000000000001';
select is((select count(*)::int from public.scraping_runs where source_id = '7a000000-0000-0000-0000-000000000001'), 0,
  'deleting a source deletes its runs');

select * from finish();
rollback;
