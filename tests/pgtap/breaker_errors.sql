-- Bad input to the breaker RPCs: a null or unknown source, an unknown mode, settings
-- out of range. Each is a clear error with the shared SQLSTATE and writes nothing.
begin;
set local search_path = public, extensions;
select plan(40);

create temp table s as
  with e as (insert into public.event_sources (name, base_url) values ('errors', 'https://example.com/errors') returning id)
  select id from e;
create temp table unknown as select '7e57ab1e-0000-4000-8000-000000000000'::uuid id;

-- ---- null source: 22004 -------------------------------------------------------------
select throws_ok($$select * from public.acquire_permit(null)$$, '22004', 'scrapeguard: source_id must not be null',
  'acquire_permit(null): 22004');
select throws_ok($$select public.record_success(null)$$, '22004', null, 'record_success(null): 22004');
select throws_ok($$select public.record_failure(null, 'x')$$, '22004', null, 'record_failure(null): 22004');
select throws_ok($$select public.force_breaker(null, 'auto')$$, '22004', null, 'force_breaker(null, …): 22004');
select throws_ok($$select public.reset_breaker(null)$$, '22004', null, 'reset_breaker(null): 22004');
select throws_ok($$select public.configure_breaker(null, 3)$$, '22004', null, 'configure_breaker(null, …): 22004');

-- ---- unknown source: SG001, and no row is created -------------------------------
select throws_ok(format($$select * from public.acquire_permit(%L)$$, id), 'SG001',
  format('scrapeguard: unknown source %s (no event_sources row)', id), 'acquire_permit(unknown): SG001') from unknown;
select throws_ok(format($$select public.record_success(%L)$$, id), 'SG001', null, 'record_success(unknown): SG001') from unknown;
select throws_ok(format($$select public.record_success(%L, gen_random_uuid())$$, id), 'SG001', null,
  'record_success(unknown, probe): SG001') from unknown;
select throws_ok(format($$select public.record_failure(%L, 'x')$$, id), 'SG001', null, 'record_failure(unknown): SG001') from unknown;
select throws_ok(format($$select public.record_failure(%L, 'x', gen_random_uuid())$$, id), 'SG001', null,
  'record_failure(unknown, …, probe): SG001') from unknown;
select throws_ok(format($$select public.force_breaker(%L, 'forced_open')$$, id), 'SG001', null, 'force_breaker(unknown): SG001') from unknown;
select throws_ok(format($$select public.reset_breaker(%L)$$, id), 'SG001', null, 'reset_breaker(unknown): SG001') from unknown;
select throws_ok(format($$select public.configure_breaker(%L, 4)$$, id), 'SG001', null, 'configure_breaker(unknown): SG001') from unknown;
select is((select count(*)::int from public.circuit_breaker_state), 0, 'no breaker row was created for an unknown source');
select is((select count(*)::int from public.circuit_breaker_transitions), 0, 'no transition was recorded');

-- ---- unknown mode: 22023 (null mode: 22004) --------------------------------------
select throws_ok(format($$select public.force_breaker(%L, 'open')$$, id), '22023',
  'scrapeguard: unknown breaker mode "open" (expected forced_open, disabled or auto)', 'force_breaker(…, ''open''): 22023') from s;
select throws_ok(format($$select public.force_breaker(%L, 'FORCED_OPEN')$$, id), '22023', null, 'modes are case-sensitive: 22023') from s;
select throws_ok(format($$select public.force_breaker(%L, '')$$, id), '22023', null, 'empty mode: 22023') from s;
select throws_ok(format($$select public.force_breaker(%L, null)$$, id), '22004', null, 'null mode: 22004') from s;
select is((select count(*)::int from public.circuit_breaker_state), 0, 'a rejected mode creates no breaker row');

-- ---- settings out of range: 22023, nothing written --------------------------------
select public.configure_breaker(id, jitter => 0) from s;
create temp table before as select * from public.circuit_breaker_state;
select throws_ok(format($$select public.configure_breaker(%L, failure_threshold => 0)$$, id), '22023',
  'scrapeguard: failure_threshold must be at least 1 (got 0)', 'failure_threshold 0: 22023') from s;
select throws_ok(format($$select public.configure_breaker(%L, failure_threshold => -3)$$, id), '22023', null, 'negative failure_threshold: 22023') from s;
select throws_ok(format($$select public.configure_breaker(%L, open_duration => '0 seconds')$$, id), '22023', null, 'open_duration 0: 22023') from s;
select throws_ok(format($$select public.configure_breaker(%L, open_duration => '-5 minutes')$$, id), '22023', null, 'negative open_duration: 22023') from s;
select throws_ok(format($$select public.configure_breaker(%L, open_duration => '2 years')$$, id), '22023', null, 'open_duration over 365 days: 22023') from s;
select throws_ok(format($$select public.configure_breaker(%L, backoff_multiplier => 0.9)$$, id), '22023', null, 'backoff_multiplier below 1: 22023') from s;
select throws_ok(format($$select public.configure_breaker(%L, backoff_multiplier => -2)$$, id), '22023', null, 'negative backoff_multiplier: 22023') from s;
select throws_ok(format($$select public.configure_breaker(%L, backoff_multiplier => 11)$$, id), '22023', null, 'backoff_multiplier above 10: 22023') from s;
select throws_ok(format($$select public.configure_breaker(%L, max_open_duration => '-1 day')$$, id), '22023', null, 'negative max_open_duration: 22023') from s;
select throws_ok(format($$select public.configure_breaker(%L, max_open_duration => '30 minutes')$$, id), '22023',
  'scrapeguard: max_open_duration (00:30:00) must not be shorter than open_duration (01:00:00)',
  'max_open_duration shorter than the current open_duration: 22023') from s;
select throws_ok(format($$select public.configure_breaker(%L, open_duration => '2 days')$$, id), '22023', null,
  'open_duration longer than the current max_open_duration: 22023') from s;
select throws_ok(format($$select public.configure_breaker(%L, jitter => -0.01)$$, id), '22023', null, 'negative jitter: 22023') from s;
select throws_ok(format($$select public.configure_breaker(%L, jitter => 0.75)$$, id), '22023', null, 'jitter above 0.5: 22023') from s;
select throws_ok(format($$select public.configure_breaker(%L, probe_lease => '0 seconds')$$, id), '22023', null, 'probe_lease 0: 22023') from s;
select throws_ok(format($$select public.configure_breaker(%L, probe_lease => '-1 minute')$$, id), '22023', null, 'negative probe_lease: 22023') from s;
select throws_ok(format($$select public.configure_breaker(%L, probe_lease => '2 days')$$, id), '22023', null, 'probe_lease over a day: 22023') from s;
select throws_ok(format($$select public.configure_breaker(%L, failure_threshold => 10, jitter => 0.9)$$, id), '22023', null,
  'one bad value among good ones: 22023') from s;
select results_eq($$select * from public.circuit_breaker_state$$, $$select * from before$$,
  'rejected settings wrote nothing (not even the good values given with a bad one)');
select is((public.configure_breaker(id, open_duration => '2 days', max_open_duration => '3 days')).open_duration::interval,
  interval '2 days', 'both durations changed together are checked together') from s;

select * from finish();
rollback;
