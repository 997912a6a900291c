-- worker_health(): per worker, its share of failed runs across sources next to the
-- other workers' share on the same sources, and the breakers whose streak names it.
-- Numbers checked against values computed by hand on a small fixture.
begin;
set local search_path = public, extensions;
select plan(16);

set local scrapeguard.now = '2026-04-10 12:00:00+00';

insert into public.event_sources (id, name, base_url) values
  ('f2000000-0000-0000-0000-00000000000a', 'alpha', 'https://alpha'),
  ('f2000000-0000-0000-0000-00000000000b', 'beta', 'https://beta'),
  ('f2000000-0000-0000-0000-00000000000c', 'gamma', 'https://gamma');

-- In the last 24 hours:
--   bad  (a banned IP): alpha failed ×2, beta failed ×1, gamma failed ×1        → 4 of 4 failed
--   good:              alpha succeeded ×3, beta succeeded, beta partial, gamma failed ×1 → 1 of 6
--   ''  (no name):     beta succeeded ×1, and one run without a worker on alpha, failed → anonymous: 1 of 2
-- Left out: a running run, a cancelled one, one older than 24 h, one after "now".
insert into public.scraping_runs (source_id, engine, status, started_at, finished_at, worker)
select s.id::uuid, 'api', v.status, v.started::timestamptz, v.started::timestamptz + interval '10 seconds', v.worker
  from (values
    ('f2000000-0000-0000-0000-00000000000a', 'failed',    '2026-04-10 08:00+00', 'bad'),
    ('f2000000-0000-0000-0000-00000000000a', 'failed',    '2026-04-10 09:00+00', 'bad'),
    ('f2000000-0000-0000-0000-00000000000b', 'failed',    '2026-04-10 10:00+00', 'bad'),
    ('f2000000-0000-0000-0000-00000000000c', 'failed',    '2026-04-10 11:00+00', 'bad'),
    ('f2000000-0000-0000-0000-00000000000a', 'succeeded', '2026-04-10 08:30+00', 'good'),
    ('f2000000-0000-0000-0000-00000000000a', 'succeeded', '2026-04-10 09:30+00', 'good'),
    ('f2000000-0000-0000-0000-00000000000a', 'succeeded', '2026-04-10 10:30+00', 'good'),
    ('f2000000-0000-0000-0000-00000000000b', 'succeeded', '2026-04-10 10:30+00', 'good'),
    ('f2000000-0000-0000-0000-00000000000b', 'partial',   '2026-04-10 11:30+00', 'good'),
    ('f2000000-0000-0000-0000-00000000000c', 'failed',    '2026-04-10 11:30+00', 'good'),
    ('f2000000-0000-0000-0000-00000000000b', 'succeeded', '2026-04-10 07:00+00', ''),
    ('f2000000-0000-0000-0000-00000000000a', 'failed',    '2026-04-10 07:00+00', null),
    ('f2000000-0000-0000-0000-00000000000a', 'cancelled', '2026-04-10 07:30+00', 'good'),
    ('f2000000-0000-0000-0000-00000000000a', 'succeeded', '2026-04-08 07:30+00', 'bad'),
    ('f2000000-0000-0000-0000-00000000000a', 'failed',    '2026-04-10 12:30+00', 'good')
  ) as v(id, status, started, worker)
  join public.event_sources s on s.id = v.id::uuid;
insert into public.scraping_runs (source_id, engine, started_at, worker)
values ('f2000000-0000-0000-0000-00000000000a', 'api', '2026-04-10 11:50+00', 'good');

-- The bad worker's current streaks: alpha and beta (beta's with the good one too).
select public.record_failure(source_id => 'f2000000-0000-0000-0000-00000000000a', worker => 'bad');
select public.record_failure(source_id => 'f2000000-0000-0000-0000-00000000000b', worker => 'bad');
select public.record_failure(source_id => 'f2000000-0000-0000-0000-00000000000b', worker => 'good');
-- A worker that only failed on a breaker, with no run in the window.
select public.record_failure(source_id => 'f2000000-0000-0000-0000-00000000000c', worker => 'breaker-only');

create temp table wh as select * from public.worker_health();

select is((select array_agg(coalesce(worker, '(none)') order by failure_share desc nulls last, streak_sources desc, worker nulls last) from wh),
  (select array_agg(coalesce(worker, '(none)')) from wh), 'rows come worst first');
select is((select array_agg(coalesce(worker, '(none)')) from wh), array['bad', '(none)', 'good', 'breaker-only'],
  'one row per worker: bad, the unnamed runs, good, the breaker-only worker');
select is((select (runs, failed_runs, failure_share) from wh where worker = 'bad'), (4, 4, 100.00::numeric),
  'bad: 4 runs in the window, all failed');
select is((select (sources, failing_sources) from wh where worker = 'bad'), (3, 3), 'bad failed on every source it ran');
-- Others on alpha, beta, gamma: good 3 + 2 + 1 runs, 1 failed; unnamed 1 on alpha (failed) + 1 on beta → 8 runs, 2 failed.
select is((select (others_runs, others_failure_share) from wh where worker = 'bad'), (8, 25.00::numeric),
  'the other workers on the same sources: 2 of 8 failed');
select is((select (runs, failed_runs, failure_share) from wh where worker = 'good'), (6, 1, 16.67::numeric),
  'good: 1 of 6 failed (partial is not a failure; cancelled, running, old and future runs are left out)');
select is((select (sources, failing_sources) from wh where worker = 'good'), (3, 1), 'good failed on one source of three');
select is((select (others_runs, others_failure_share) from wh where worker = 'good'), (6, 83.33::numeric),
  'the others on good''s sources: 5 of 6 failed');
select is((select (runs, failed_runs, failure_share) from wh where worker is null), (2, 1, 50.00::numeric),
  'runs without a name (null or empty) are one row');
select is((select last_failure_at from wh where worker = 'bad'), '2026-04-10 11:00:10+00'::timestamptz, 'bad''s last failed run');
select is((select streak_sources from wh where worker = 'bad'), 2, 'bad is in the current streak of two breakers');
select is((select streak_sources from wh where worker = 'good'), 1, 'good in one');
select is((select (runs, failure_share, streak_sources) from wh where worker = 'breaker-only'), (0, null::numeric, 1),
  'a worker seen only by a breaker: no runs, one streak');

-- The window: 61 minutes keeps bad's 11:00 run and good's 11:30 runs only.
select is((select array_agg((worker, runs, failed_runs)::text order by worker) from public.worker_health('61 minutes') where runs > 0),
  array['(bad,1,1)', '(good,2,1)'], 'recent => 61 minutes');
select throws_ok('select * from public.worker_health(null)', '22004', 'worker_health: recent must not be null', 'a null window: 22004');
select throws_ok($$select * from public.worker_health('0 seconds')$$, '22023', null, 'an empty window: 22023');

select * from finish();
rollback;
