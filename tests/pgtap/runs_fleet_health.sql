-- fleet_health(): numbers checked against values computed by hand on a small fixture.
begin;
set local search_path = public, extensions;
select plan(16);

-- "now" for the whole file: 2026-04-10 12:00 UTC.
set local scrapeguard.now = '2026-04-10 12:00:00+00';

insert into public.event_sources (id, name, base_url) values
  ('f1000000-0000-0000-0000-00000000000a', 'alpha', 'https://alpha'),
  ('f1000000-0000-0000-0000-00000000000b', 'beta', 'https://beta'),
  ('f1000000-0000-0000-0000-00000000000c', 'gamma', 'https://gamma');

-- alpha's breaker is open; gamma's closed with one failure; beta has no breaker row yet.
-- (A streak's failures name their workers: here the anonymous one, null.)
insert into public.circuit_breaker_state (source_id, state, failure_count, opened_count, open_until, streak_workers)
values ('f1000000-0000-0000-0000-00000000000a', 'open', 3, 1, '2026-04-10 13:00+00', '{NULL}'),
       ('f1000000-0000-0000-0000-00000000000c', 'closed', 1, 0, null, '{NULL}');

-- alpha's runs (duration = finished - started):
--   r1 04-08 10:00 succeeded 10 s cov 90   (older than 24 h)
--   r2 04-09 13:00 failed    20 s cov -
--   r3 04-10 08:00 succeeded 30 s cov 80
--   r4 04-10 09:00 partial   40 s cov 70
--   r5 04-10 10:00 cancelled 50 s cov -
--   r6 04-10 11:30 running
--   r7 04-10 13:00 succeeded (after "now": ignored)
insert into public.scraping_runs (id, source_id, engine, status, started_at, finished_at, field_coverage) values
  ('f1000000-0000-0000-0000-0000000000a1', 'f1000000-0000-0000-0000-00000000000a', 'api', 'succeeded', '2026-04-08 10:00+00', '2026-04-08 10:00:10+00', 90),
  ('f1000000-0000-0000-0000-0000000000a2', 'f1000000-0000-0000-0000-00000000000a', 'api', 'failed',    '2026-04-09 13:00+00', '2026-04-09 13:00:20+00', null),
  ('f1000000-0000-0000-0000-0000000000a3', 'f1000000-0000-0000-0000-00000000000a', 'api', 'succeeded', '2026-04-10 08:00+00', '2026-04-10 08:00:30+00', 80),
  ('f1000000-0000-0000-0000-0000000000a4', 'f1000000-0000-0000-0000-00000000000a', 'api', 'partial',   '2026-04-10 09:00+00', '2026-04-10 09:00:40+00', 70),
  ('f1000000-0000-0000-0000-0000000000a5', 'f1000000-0000-0000-0000-00000000000a', 'api', 'cancelled', '2026-04-10 10:00+00', '2026-04-10 10:00:50+00', null),
  ('f1000000-0000-0000-0000-0000000000a7', 'f1000000-0000-0000-0000-00000000000a', 'api', 'succeeded', '2026-04-10 13:00+00', '2026-04-10 13:00:05+00', 100);
insert into public.scraping_runs (id, source_id, engine, started_at) values
  ('f1000000-0000-0000-0000-0000000000a6', 'f1000000-0000-0000-0000-00000000000a', 'feed', '2026-04-10 11:30+00');
-- gamma: one succeeded run, 5 s, coverage 100.
insert into public.scraping_runs (id, source_id, engine, status, started_at, finished_at, field_coverage) values
  ('f1000000-0000-0000-0000-0000000000c1', 'f1000000-0000-0000-0000-00000000000c', 'firecrawl', 'succeeded', '2026-04-10 11:00+00', '2026-04-10 11:00:05+00', 100);

select is((select count(*)::int from public.fleet_health()), 3, 'one row per source, runs or not');
select results_eq(
  $$select source_name, breaker_state, breaker_failure_count, breaker_open_until from public.fleet_health()$$,
  $$values ('alpha', 'open', 3, '2026-04-10 13:00+00'::timestamptz),
           ('beta', 'closed', 0, null::timestamptz),
           ('gamma', 'closed', 1, null::timestamptz)$$,
  'breaker state per source (no breaker row yet: closed, 0 failures), ordered by name');
select results_eq(
  $$select source_name, last_run_id, last_run_status, last_run_started_at, last_run_finished_at from public.fleet_health()$$,
  $$values ('alpha', 'f1000000-0000-0000-0000-0000000000a6'::uuid, 'running', '2026-04-10 11:30+00'::timestamptz, null::timestamptz),
           ('beta', null::uuid, null::text, null::timestamptz, null::timestamptz),
           ('gamma', 'f1000000-0000-0000-0000-0000000000c1'::uuid, 'succeeded', '2026-04-10 11:00+00'::timestamptz, '2026-04-10 11:00:05+00'::timestamptz)$$,
  'the last run started at or before now (the later r7 is not "last" yet)');

-- Last 24 h = r2..r6: 5 runs; success = r3 / (r2, r3, r4) = 33.33 % (running, cancelled not counted).
-- Last 5 runs = r6..r2: same set; durations of r2, r3, r4 = 20, 30, 40 s:
--   p50 = 30000, p95 = 30000 + 0.9 × 10000 = 39000; coverage mean (80, 70) = 75.
select results_eq(
  $$select recent_runs, recent_success_rate, last_n_runs, last_n_success_rate, p50_duration_ms, p95_duration_ms, mean_field_coverage
      from public.fleet_health(last_n => 5) where source_name = 'alpha'$$,
  $$values (5, 33.33::numeric, 5, 33.33::numeric, 30000::double precision, 39000::double precision, 75.00::numeric)$$,
  'alpha, last 5 runs: counts, success rates, p50/p95 duration, mean coverage');
-- Last 20 runs = r6..r1: 6 runs; success = (r1, r3) / (r1..r4) = 50 %; durations 10..40 s:
--   p50 = 25000, p95 = 30000 + 0.85 × 10000 = 38500; coverage mean (90, 80, 70) = 80.
select results_eq(
  $$select recent_runs, recent_success_rate, last_n_runs, last_n_success_rate, p50_duration_ms, p95_duration_ms, mean_field_coverage
      from public.fleet_health() where source_name = 'alpha'$$,
  $$values (5, 33.33::numeric, 6, 50.00::numeric, 25000::double precision, 38500::double precision, 80.00::numeric)$$,
  'alpha, default last 20 runs');
select results_eq(
  $$select recent_runs, recent_success_rate, last_n_runs, last_n_success_rate, p50_duration_ms, p95_duration_ms, mean_field_coverage
      from public.fleet_health() where source_name = 'beta'$$,
  $$values (0, null::numeric, 0, null::numeric, null::double precision, null::double precision, null::numeric)$$,
  'beta, no runs: zero counts and null rates');
select results_eq(
  $$select recent_runs, recent_success_rate, last_n_runs, last_n_success_rate, p50_duration_ms, p95_duration_ms, mean_field_coverage
      from public.fleet_health() where source_name = 'gamma'$$,
  $$values (1, 100.00::numeric, 1, 100.00::numeric, 5000::double precision, 5000::double precision, 100.00::numeric)$$,
  'gamma, one succeeded run');
-- A 3-hour window (09:00, 12:00] holds r5 and r6 only (r4 started exactly at 09:00).
select results_eq(
  $$select recent_runs, recent_success_rate from public.fleet_health(recent => '3 hours') where source_name = 'alpha'$$,
  $$values (2, null::numeric)$$,
  'the recent window is (now - recent, now]; no finished, counted run in it: null rate');
-- as_of moves "now": at 2026-04-10 14:00, r7 is the last run and the last 24 h hold r3..r7 (r2 left it).
select results_eq(
  $$select last_run_id, recent_runs from public.fleet_health(as_of => '2026-04-10 14:00+00') where source_name = 'alpha'$$,
  $$values ('f1000000-0000-0000-0000-0000000000a7'::uuid, 5)$$,
  'as_of replaces clock()');

select throws_ok($$select * from public.fleet_health(last_n => 0)$$, '22023', null, 'last_n below 1: 22023');
select throws_ok($$select * from public.fleet_health(recent => '0 hours')$$, '22023', null, 'empty window: 22023');
select throws_ok($$select * from public.fleet_health(last_n => null)$$, '22004', null, 'last_n null: 22004');

-- As an admin (SECURITY INVOKER: RLS decides). The app decides who reads event_sources;
-- here it lets admins read them, as an app with an admin dashboard would.
create policy "test: admins read event_sources" on public.event_sources
  for select to authenticated using ((select scrapeguard.is_admin()));
grant select on public.event_sources to authenticated;
select set_config('request.jwt.claims',
  '{"sub": "00000000-0000-0000-0000-00000000000a", "role": "authenticated", "app_metadata": {"role": "admin"}}', true);
set local role authenticated;
select results_eq(
  $$select source_name, breaker_state, last_n_runs, p95_duration_ms from public.fleet_health(last_n => 5)$$,
  $$values ('alpha', 'open', 5, 39000::double precision), ('beta', 'closed', 0, null::double precision),
           ('gamma', 'closed', 1, 5000::double precision)$$,
  'an admin gets the same figures (fleet_health reads the clock as the caller)');
reset role;
select set_config('request.jwt.claims', '{"sub": "00000000-0000-0000-0000-00000000000b", "role": "authenticated"}', true);
set local role authenticated;
select is_empty($$select * from public.fleet_health()$$, 'a non-admin sees nothing');
reset role;
set local role anon;
select throws_ok($$select * from public.fleet_health()$$, '42501', null, 'anon cannot call fleet_health');
reset role;
set local role service_role;
select is((select count(*)::int from public.fleet_health()), 3, 'the service role sees every source');
reset role;

select * from finish();
rollback;
