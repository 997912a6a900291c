-- The circuit breaker's state table, row by row, with a frozen clock and
-- jitter 0 so every open_until is exact. Each scenario uses its own source.
begin;
set local search_path = public, extensions;
select plan(70);

-- A source with a breaker whose open periods are exact (jitter 0).
create function pg_temp.src(p_name text) returns uuid language sql as $$
  with s as (insert into public.event_sources (name, base_url) values (p_name, 'https://example.com/' || p_name) returning id)
  select (public.configure_breaker((select id from s), jitter => 0)).source_id
$$;
create function pg_temp.at(p_time text) returns timestamptz language sql as $$
  select set_config('scrapeguard.now', p_time, true)::timestamptz
$$;
create function pg_temp.b(p_id uuid) returns public.circuit_breaker_state language sql as $$
  select * from public.circuit_breaker_state where source_id = p_id
$$;
create function pg_temp.fail(p_id uuid, p_n int) returns public.circuit_breaker_state language plpgsql as $$
declare r public.circuit_breaker_state;
begin
  for i in 1..p_n loop r := public.record_failure(p_id, 'HTTP 503'); end loop;
  return r;
end $$;
-- Physical identity of the row and this transaction's update count for the table:
-- equal before and after a call means the call wrote nothing and locked nothing
-- (a row lock sets xmax).
create function pg_temp.phys(p_id uuid) returns text language sql as $$
  select format('%s/%s/%s', s.ctid, s.xmax, pg_stat_get_xact_tuples_updated('public.circuit_breaker_state'::regclass))
    from public.circuit_breaker_state s where s.source_id = p_id
$$;
create function pg_temp.transitions(p_id uuid) returns text language sql as $$
  select coalesce(string_agg(format('%s>%s:%s', from_state, to_state, reason), ' ' order by id), '')
    from public.circuit_breaker_transitions where source_id = p_id
$$;

select pg_temp.at('2026-03-01 10:00:00+00');

-- ---- closed | success --------------------------------------------------------------
create temp table s_closed as select pg_temp.src('closed') id;
select pg_temp.fail(id, 2) from s_closed;
select is((select (public.record_success(id)).failure_count::int from s_closed), 0, 'closed + success: failures back to 0');
select is((pg_temp.b(id)).state::text, 'closed', 'closed + success: stays closed') from s_closed;
select is((pg_temp.b(id)).last_success_at, '2026-03-01 10:00:00+00'::timestamptz, 'closed + success (after failures): last_success_at recorded') from s_closed;

create temp table snap as select pg_temp.phys(id) phys, (pg_temp.b(id)).version v from s_closed;
select is((public.record_success(id)).failure_count::int, 0, 'closed + success with 0 failures: returns the row') from s_closed;
select is(pg_temp.phys(id), (select phys from snap), 'closed + success with 0 failures: no write, no row lock (ctid, xmax, update count unchanged)') from s_closed;
select is((pg_temp.b(id)).version, (select v from snap), 'closed + success with 0 failures: version unchanged') from s_closed;

-- ---- closed | permit -----------------------------------------------------------------
select results_eq(
  format($$select allowed, state, probe_id, retry_at from public.acquire_permit(%L, 'w1')$$, id),
  $$values (true, 'closed'::text, null::uuid, null::timestamptz)$$,
  'closed + permit: allowed') from s_closed;
select is(pg_temp.phys(id), (select phys from snap), 'closed + permit: no write, no row lock') from s_closed;

-- ---- closed | failure below the threshold -------------------------------------------
create temp table s_count as select pg_temp.src('count') id;
select pg_temp.at('2026-03-01 10:01:00+00');
select is((public.record_failure(id, 'HTTP 503')).failure_count::int, 1, 'closed + failure: count 1') from s_count;
select is((public.record_failure(id, 'timeout')).failure_count::int, 2, 'closed + failure: count 2') from s_count;
select is((pg_temp.b(id)).state::text, 'closed', 'closed + failure below threshold: stays closed') from s_count;
select is((pg_temp.b(id)).last_error::text, 'timeout', 'closed + failure: last_error recorded') from s_count;
select is((pg_temp.b(id)).last_failure_at, '2026-03-01 10:01:00+00'::timestamptz, 'closed + failure: last_failure_at recorded') from s_count;
select is(pg_temp.transitions(id), '', 'closed + failure below threshold: no transition') from s_count;

-- ---- closed | failure reaching the threshold -----------------------------------------
select is((public.record_failure(id, 'HTTP 500')).state::text, 'open', 'closed + 3rd consecutive failure: open') from s_count;
select is((pg_temp.b(id)).open_until, '2026-03-01 11:01:00+00'::timestamptz, 'first open lasts open_duration (1 hour)') from s_count;
select is((pg_temp.b(id)).opened_count::int, 1, 'back-off level 1') from s_count;
select is((pg_temp.b(id)).failure_count::int, 3, 'failure_count = threshold') from s_count;
select results_eq(
  format($$select from_state::text, to_state::text, reason, failure_count::int, opened_count::int, open_until, probe_id, at
             from public.circuit_breaker_transitions where source_id = %L$$, id),
  $$values ('closed', 'open', 'failure_threshold', 3, 1, '2026-03-01 11:01:00+00'::timestamptz, null::uuid,
            '2026-03-01 10:01:00+00'::timestamptz)$$,
  'one transition row: closed → open (failure_threshold)') from s_count;

-- A success in between resets the streak: fail, fail, success, fail, fail stays closed.
create temp table s_streak as select pg_temp.src('streak') id;
select pg_temp.fail(id, 2) from s_streak;
select public.record_success(id) from s_streak;
select is((pg_temp.fail(id, 2)).state::text, 'closed', 'failures must be consecutive: a success resets the streak') from s_streak;

-- ---- open | permit before open_until ------------------------------------------------
select pg_temp.at('2026-03-01 10:30:00+00');
delete from snap;
insert into snap select pg_temp.phys(id), (pg_temp.b(id)).version from s_count;
select results_eq(
  format($$select allowed, state, probe_id, retry_at from public.acquire_permit(%L, 'w1')$$, id),
  $$values (false, 'open'::text, null::uuid, '2026-03-01 11:01:00+00'::timestamptz)$$,
  'open + permit before open_until: denied, retry_at = open_until') from s_count;
select is(pg_temp.phys(id), (select phys from snap), 'open + permit before open_until: no write, no row lock') from s_count;
select pg_temp.at('2026-03-01 11:00:59.999999+00');
select is((select allowed from public.acquire_permit(id)), false, 'still denied a microsecond before open_until') from s_count;

-- ---- open | permit after open_until -------------------------------------------------
select pg_temp.at('2026-03-01 11:01:00+00');
create temp table probe1 as select * from public.acquire_permit((select id from s_count), 'worker-a');
select is((select allowed from probe1), true, 'open + permit at open_until: allowed');
select is((select state from probe1), 'half_open', 'open + permit at open_until: half_open');
select isnt((select probe_id from probe1), null, 'open + permit at open_until: a probe_id');
select is((pg_temp.b(id)).state::text, 'half_open', 'breaker is half_open') from s_count;
select is((pg_temp.b(id)).probe_id, (select probe_id from probe1), 'the row holds the probe id') from s_count;
select is((pg_temp.b(id)).probe_lease_until, '2026-03-01 11:06:00+00'::timestamptz, 'lease = now + probe_lease (5 minutes)') from s_count;
select is((pg_temp.b(id)).probe_worker, 'worker-a', 'the probe''s worker is recorded') from s_count;
select is((pg_temp.b(id)).open_until, null, 'open_until cleared') from s_count;
select results_eq(
  format($$select from_state::text, to_state::text, reason, probe_id, worker
             from public.circuit_breaker_transitions where source_id = %L order by id desc limit 1$$, id),
  format($$values ('open', 'half_open', 'open_expired', %L::uuid, 'worker-a')$$, (select probe_id from probe1)),
  'transition open → half_open (open_expired) with the probe id and worker') from s_count;

-- ---- half_open | permit, lease live -------------------------------------------------
select pg_temp.at('2026-03-01 11:05:59+00');
delete from snap;
insert into snap select pg_temp.phys(id), (pg_temp.b(id)).version from s_count;
select results_eq(
  format($$select allowed, state, probe_id, retry_at from public.acquire_permit(%L, 'worker-b')$$, id),
  $$values (false, 'half_open'::text, null::uuid, '2026-03-01 11:06:00+00'::timestamptz)$$,
  'half_open + permit with a live lease: denied, retry_at = lease end') from s_count;
select is(pg_temp.phys(id), (select phys from snap), 'half_open + permit with a live lease: no write, no row lock') from s_count;

-- ---- open/half_open | results without the probe's id -------------------------------
select is((public.record_success(id)).state::text, 'half_open', 'half_open + success without probe id: no transition') from s_count;
select is((pg_temp.b(id)).last_success_at, '2026-03-01 11:05:59+00'::timestamptz, '... but it is recorded (last_success_at)') from s_count;
select is((public.record_failure(id, 'late', gen_random_uuid())).state::text, 'half_open', 'half_open + failure with another probe id: no transition') from s_count;
select is((pg_temp.b(id)).failure_count::int, 4, '... but it is counted') from s_count;
select is((pg_temp.b(id)).last_error::text, 'late', '... and its error recorded') from s_count;
select is((pg_temp.b(id)).probe_id, (select probe_id from probe1), '... and the probe is still out') from s_count;

-- ---- half_open | permit, lease expired ----------------------------------------------
select pg_temp.at('2026-03-01 11:06:00+00');
create temp table probe2 as select * from public.acquire_permit((select id from s_count), 'worker-c');
select is((select allowed from probe2), true, 'half_open + permit with an expired lease: allowed');
select ok((select probe_id from probe2) is not null and (select probe_id from probe2) <> (select probe_id from probe1),
  '... with a new probe id');
select is((pg_temp.b(id)).probe_lease_until, '2026-03-01 11:11:00+00'::timestamptz, '... and a new lease') from s_count;
select is((pg_temp.b(id)).probe_worker, 'worker-c', '... held by the new worker') from s_count;
select is(pg_temp.transitions(id),
  'closed>open:failure_threshold open>half_open:open_expired half_open>half_open:probe_lease_expired',
  'transition half_open → half_open (probe_lease_expired)') from s_count;
select is((select allowed from public.acquire_permit(id, 'worker-d')), false, 'the next caller is denied again') from s_count;
-- The crashed first probe reports after all: a late result now.
select is((public.record_success(id, (select probe_id from probe1))).state::text, 'half_open',
  'the superseded probe''s success changes nothing') from s_count;

-- ---- half_open | probe failure -----------------------------------------------------
select pg_temp.at('2026-03-01 11:08:00+00');
select is((public.record_failure(id, 'still down', (select probe_id from probe2))).state::text, 'open',
  'half_open + probe failure: open again') from s_count;
select is((pg_temp.b(id)).opened_count::int, 2, 'back-off level 2') from s_count;
select is((pg_temp.b(id)).open_until, '2026-03-01 13:08:00+00'::timestamptz, 'second open lasts base × 2 = 2 hours') from s_count;
select is((pg_temp.b(id)).probe_id, null, 'probe cleared') from s_count;
select results_eq(
  format($$select from_state::text, to_state::text, reason, probe_id, worker, open_until
             from public.circuit_breaker_transitions where source_id = %L order by id desc limit 1$$, id),
  format($$values ('half_open', 'open', 'probe_failed', %L::uuid, 'worker-c', '2026-03-01 13:08:00+00'::timestamptz)$$,
         (select probe_id from probe2)),
  'transition half_open → open (probe_failed), attributed to the probe''s worker') from s_count;

-- open | results without the probe's id (late results of old calls)
select is((public.record_failure(id, 'old call')).state::text, 'open', 'open + failure: no transition') from s_count;
select is((pg_temp.b(id)).open_until, '2026-03-01 13:08:00+00'::timestamptz, 'open + failure: open_until unchanged') from s_count;
select is((public.record_success(id)).state::text, 'open', 'open + success: no transition') from s_count;
select is((pg_temp.b(id)).last_success_at, '2026-03-01 11:08:00+00'::timestamptz, 'open + success: recorded') from s_count;
select is((public.record_success(id, (select probe_id from probe2))).state::text, 'open',
  'open + success with an old probe id: no transition') from s_count;

-- Third open: 4 hours. A probe's failure again.
select pg_temp.at('2026-03-01 13:08:00+00');
create temp table probe3 as select * from public.acquire_permit((select id from s_count), 'worker-e');
select pg_temp.at('2026-03-01 13:09:00+00');
select is((public.record_failure(id, null, (select probe_id from probe3))).open_until, '2026-03-01 17:09:00+00'::timestamptz,
  'third open lasts base × 2² = 4 hours') from s_count;
select is((pg_temp.b(id)).last_error::text, null, 'a failure without error text clears last_error') from s_count;

-- ---- half_open | probe success ------------------------------------------------------
select pg_temp.at('2026-03-01 17:09:00+00');
create temp table probe4 as select * from public.acquire_permit((select id from s_count), 'worker-f');
select pg_temp.at('2026-03-01 17:10:00+00');
create temp table closed_row as select (public.record_success(id, (select probe_id from probe4))).* from s_count;
select is((select state::text from closed_row), 'closed', 'half_open + probe success: closed');
select is((select failure_count::int from closed_row), 0, '... failures reset');
select is((select opened_count::int from closed_row), 0, '... back-off reset');
select is((select probe_id from closed_row), null, '... probe cleared');
select is((select last_success_at from closed_row), '2026-03-01 17:10:00+00'::timestamptz, '... success recorded');
select results_eq(
  format($$select from_state::text, to_state::text, reason, probe_id, worker
             from public.circuit_breaker_transitions where source_id = %L order by id desc limit 1$$, id),
  format($$values ('half_open', 'closed', 'probe_succeeded', %L::uuid, 'worker-f')$$, (select probe_id from probe4)),
  'transition half_open → closed (probe_succeeded)') from s_count;
select is((public.record_failure(id, 'x', (select probe_id from probe4))).state::text, 'closed',
  'closed + failure with the old probe id: an ordinary failure (count 1)') from s_count;
select is((pg_temp.fail(id, 2)).open_until, '2026-03-01 18:10:00+00'::timestamptz,
  'after a close the back-off starts again at 1 hour') from s_count;

-- ---- back-off cap --------------------------------------------------------------------
create temp table s_cap as select (public.configure_breaker(pg_temp.src('cap'), failure_threshold => 1,
  open_duration => '1 hour', backoff_multiplier => 3, max_open_duration => '5 hours')).source_id id;
select pg_temp.at('2026-03-02 00:00:00+00');
select public.record_failure(id) from s_cap;                                   -- open 1: 1 h
select pg_temp.at('2026-03-02 01:00:00+00');
create temp table cap_p1 as select * from public.acquire_permit((select id from s_cap));
select is((public.record_failure(id, null, (select probe_id from cap_p1))).open_until, '2026-03-02 04:00:00+00'::timestamptz,
  'open 2 with multiplier 3: 3 hours') from s_cap;
select pg_temp.at('2026-03-02 04:00:00+00');
create temp table cap_p2 as select * from public.acquire_permit((select id from s_cap));
select is((public.record_failure(id, null, (select probe_id from cap_p2))).open_until, '2026-03-02 09:00:00+00'::timestamptz,
  'open 3 (9 hours) is capped at max_open_duration (5 hours)') from s_cap;

-- ---- every transition of this file is in the history, in order ----------------------
select is(pg_temp.transitions(id),
  'closed>open:failure_threshold open>half_open:open_expired half_open>half_open:probe_lease_expired '
  'half_open>open:probe_failed open>half_open:open_expired half_open>open:probe_failed '
  'open>half_open:open_expired half_open>closed:probe_succeeded closed>open:failure_threshold',
  'the busy breaker''s history: exactly its 9 transitions, in order') from s_count;

select * from finish();
rollback;
