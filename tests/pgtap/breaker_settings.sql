-- Per-source breaker settings: defaults, configure_breaker, the rules every row obeys
-- (domains and table CHECKs, also against direct writes), back-off and jitter.
begin;
set local search_path = public, extensions;
select plan(48);

create function pg_temp.new_source(p_name text) returns uuid language sql as $$
  insert into public.event_sources (name, base_url) values (p_name, 'https://example.com/' || p_name) returning id
$$;
create function pg_temp.at(p_time text) returns timestamptz language sql as $$
  select set_config('scrapeguard.now', p_time, true)::timestamptz
$$;

select pg_temp.at('2026-05-01 12:00:00+00');

-- ---- defaults (the product spec), created lazily by the first call ------------
create temp table s1 as select pg_temp.new_source('defaults') id;
select is((select count(*)::int from public.circuit_breaker_state where source_id = (select id from s1)), 0,
  'no breaker row before the first call');
select public.acquire_permit(id) from s1;
create temp table d as select * from public.circuit_breaker_state where source_id = (select id from s1);
select is((select state::text from d), 'closed', 'default state: closed');
select is((select failure_threshold::int from d), 3, 'default failure_threshold: 3');
select is((select open_duration::interval from d), interval '1 hour', 'default open_duration: 1 hour');
select is((select backoff_multiplier::numeric from d), 2::numeric, 'default backoff_multiplier: 2');
select is((select max_open_duration::interval from d), interval '24 hours', 'default max_open_duration: 24 hours');
select is((select jitter::numeric from d), 0.1, 'default jitter: 0.1');
select is((select probe_lease::interval from d), interval '5 minutes', 'default probe_lease: 5 minutes');
select is((select updated_at from d), '2026-05-01 12:00:00+00'::timestamptz, 'created at scrapeguard.clock()');
select is((select version from d), 0::bigint, 'version 0 on creation');

-- ---- configure_breaker -------------------------------------------------------------
create temp table c as select (public.configure_breaker(id, failure_threshold => 5, probe_lease => '30 seconds')).* from s1;
select is((select failure_threshold::int from c), 5, 'configure_breaker sets failure_threshold');
select is((select probe_lease::interval from c), interval '30 seconds', 'configure_breaker sets probe_lease');
select is((select open_duration::interval from c), interval '1 hour', 'a null argument keeps the current value');
select is((select version from c), 1::bigint, 'a settings change is a write (version + 1)');
select is((public.configure_breaker(id, failure_threshold => 5)).version, 1::bigint,
  'configuring the values it already has writes nothing') from s1;
select is((select count(*)::int from public.circuit_breaker_transitions where source_id = (select id from s1)), 0,
  'settings changes are not transitions');

-- The new threshold applies: 4 failures stay closed, the 5th opens.
select public.record_failure(id) from s1, generate_series(1, 4);
select is((select state::text from public.circuit_breaker_state where source_id = (select id from s1)), 'closed',
  'threshold 5: four failures stay closed');
select is((public.record_failure(id)).state::text, 'open', 'threshold 5: the fifth failure opens') from s1;
-- Lowering the threshold below the current streak: the next failure trips.
create temp table s2 as select pg_temp.new_source('lowered') id;
select public.record_failure(id) from s2, generate_series(1, 2);
select public.configure_breaker(id, failure_threshold => 1) from s2;
select is((public.record_failure(id)).state::text, 'open', 'a threshold lowered below the streak: the next failure opens') from s2;
-- The lease applies to the next probe.
select pg_temp.at('2026-05-01 14:00:00+00');
select is((select probe_id is not null from public.acquire_permit(id)), true, 'probe granted') from s1;
select is((select probe_lease_until from public.circuit_breaker_state where source_id = (select id from s1)),
  '2026-05-01 14:00:30+00'::timestamptz, 'lease of 30 seconds applied');

-- ---- back-off arithmetic: base × multiplier^(n−1), capped, ± jitter --------------
select is(scrapeguard.breaker_open_until('2026-01-01 00:00+00', '1 hour', 2, '24 hours', 0, 1),
  '2026-01-01 01:00+00'::timestamptz, 'level 1: base');
select is(scrapeguard.breaker_open_until('2026-01-01 00:00+00', '1 hour', 2, '24 hours', 0, 4),
  '2026-01-01 08:00+00'::timestamptz, 'level 4: base × 2³');
select is(scrapeguard.breaker_open_until('2026-01-01 00:00+00', '1 hour', 2, '24 hours', 0, 6),
  '2026-01-02 00:00+00'::timestamptz, 'level 6 (32 h) capped at 24 h');
select is(scrapeguard.breaker_open_until('2026-01-01 00:00+00', '1 hour', 10, '365 days', 0, 1000000),
  '2027-01-01 00:00+00'::timestamptz, 'a huge level with the largest multiplier neither overflows nor exceeds the cap');
select is(scrapeguard.breaker_open_until('2026-01-01 00:00+00', '90 minutes', 1, '24 hours', 0, 50),
  '2026-01-01 01:30+00'::timestamptz, 'multiplier 1: no back-off');
create temp table jit as
  select extract(epoch from scrapeguard.breaker_open_until('2026-01-01 00:00+00', '1 hour', 2, '24 hours', 0.5, 1)
                 - '2026-01-01 00:00+00'::timestamptz) / 3600 as h
    from generate_series(1, 400);
select ok((select min(h) >= 0.5 and max(h) <= 1.5 from jit), 'jitter 0.5 keeps a 1-hour open within [30 min, 90 min]');
select ok((select min(h) < 0.75 and max(h) > 1.25 from jit), 'jitter actually spreads the open periods');
select ok((select count(distinct h) > 390 from jit), 'no two sources re-probe in the same instant');
create temp table jitcap as
  select extract(epoch from scrapeguard.breaker_open_until('2026-01-01 00:00+00', '1 hour', 2, '4 hours', 0.25, 10)
                 - '2026-01-01 00:00+00'::timestamptz) / 3600 as h
    from generate_series(1, 200);
select ok((select min(h) >= 3 and max(h) <= 5 and min(h) < 3.5 and max(h) > 4.5 from jitcap),
  'the cap applies before jitter: capped breakers still spread (4 h ± 25%)');

-- ---- the rules hold against direct writes too -----------------------------------
create temp table s3 as select (public.configure_breaker(pg_temp.new_source('direct'))).source_id id;
select throws_ok(format($$update public.circuit_breaker_state set failure_threshold = 0 where source_id = %L$$, id),
  '23514', null, 'failure_threshold 0 rejected') from s3;
select throws_ok(format($$update public.circuit_breaker_state set open_duration = '0 seconds' where source_id = %L$$, id),
  '23514', null, 'open_duration 0 rejected') from s3;
select throws_ok(format($$update public.circuit_breaker_state set open_duration = '-1 hour' where source_id = %L$$, id),
  '23514', null, 'negative open_duration rejected') from s3;
select throws_ok(format($$update public.circuit_breaker_state set max_open_duration = '400 days', open_duration = '1 hour' where source_id = %L$$, id),
  '23514', null, 'max_open_duration over 365 days rejected') from s3;
select throws_ok(format($$update public.circuit_breaker_state set max_open_duration = '30 minutes' where source_id = %L$$, id),
  '23514', null, 'max_open_duration shorter than open_duration rejected') from s3;
select throws_ok(format($$update public.circuit_breaker_state set backoff_multiplier = 0.5 where source_id = %L$$, id),
  '23514', null, 'backoff_multiplier below 1 rejected') from s3;
select throws_ok(format($$update public.circuit_breaker_state set jitter = 0.9 where source_id = %L$$, id),
  '23514', null, 'jitter above 0.5 rejected') from s3;
select throws_ok(format($$update public.circuit_breaker_state set jitter = -0.1 where source_id = %L$$, id),
  '23514', null, 'negative jitter rejected') from s3;
select throws_ok(format($$update public.circuit_breaker_state set probe_lease = '0 seconds' where source_id = %L$$, id),
  '23514', null, 'probe_lease 0 rejected') from s3;
select throws_ok(format($$update public.circuit_breaker_state set failure_count = -1 where source_id = %L$$, id),
  '23514', null, 'negative failure_count rejected') from s3;
select throws_ok(format($$update public.circuit_breaker_state set state = 'tripped' where source_id = %L$$, id),
  '23514', null, 'unknown state rejected') from s3;
select throws_ok(format($$update public.circuit_breaker_state set state = 'open', opened_count = 1 where source_id = %L$$, id),
  '23514', null, 'open without open_until rejected') from s3;
select throws_ok(format($$update public.circuit_breaker_state set open_until = now() where source_id = %L$$, id),
  '23514', null, 'open_until while closed rejected') from s3;
select throws_ok(format($$update public.circuit_breaker_state set state = 'half_open', opened_count = 1 where source_id = %L$$, id),
  '23514', null, 'half_open without a probe rejected') from s3;
select throws_ok(format($$update public.circuit_breaker_state set probe_id = gen_random_uuid(), probe_lease_until = now() where source_id = %L$$, id),
  '23514', null, 'a probe while closed rejected') from s3;
select throws_ok(format($$update public.circuit_breaker_state set opened_count = 2 where source_id = %L$$, id),
  '23514', null, 'a back-off level while closed rejected') from s3;
select throws_ok(format($$update public.circuit_breaker_state set last_error = repeat('x', 2001) where source_id = %L$$, id),
  '23514', null, 'last_error over 2000 characters rejected') from s3;
select is((public.record_failure(id, repeat('y', 5000))).last_error::text, repeat('y', 2000),
  'record_failure keeps the first 2000 characters of a long error') from s3;

select * from finish();
rollback;
