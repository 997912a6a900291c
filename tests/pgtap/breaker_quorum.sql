-- Quorum (min_failing_workers) and the site's Retry-After: settings and their
-- validation, the streak's workers, the transitions that name them, and the holds a
-- Retry-After makes (longer than the back-off, capped, ignored while closed below the
-- threshold but remembered for the open that follows, forgotten with the streak). Frozen
-- clock, jitter 0: every open_until is exact. Each scenario uses its own source.
begin;
set local search_path = public, extensions;
select plan(73);

create function pg_temp.src(p_name text, p_quorum int default null) returns uuid language sql as $$
  with s as (insert into public.event_sources (name, base_url) values (p_name, 'https://example.com/' || p_name) returning id)
  select (public.configure_breaker((select id from s), jitter => 0, min_failing_workers => p_quorum)).source_id
$$;
create function pg_temp.at(p_time text) returns timestamptz language sql as $$
  select set_config('scrapeguard.now', p_time, true)::timestamptz
$$;
create function pg_temp.b(p_id uuid) returns public.circuit_breaker_state language sql as $$
  select * from public.circuit_breaker_state where source_id = p_id
$$;
create function pg_temp.fail(p_id uuid, p_worker text, p_n int default 1, p_retry interval default null)
  returns public.circuit_breaker_state language plpgsql as $$
declare r public.circuit_breaker_state;
begin
  for i in 1..p_n loop
    r := public.record_failure(source_id => p_id, error => 'HTTP 503', worker => p_worker, retry_after => p_retry);
  end loop;
  return r;
end $$;
create function pg_temp.last_transition(p_id uuid) returns public.circuit_breaker_transitions language sql as $$
  select * from public.circuit_breaker_transitions where source_id = p_id order by id desc limit 1
$$;

select pg_temp.at('2026-04-01 10:00:00+00');

-- ---- settings ----------------------------------------------------------------------
create temp table s_set as select pg_temp.src('settings') id;
select is((pg_temp.b(id)).min_failing_workers::int, 1, 'default min_failing_workers: 1 (the breaker without a quorum)') from s_set;
select is((pg_temp.b(id)).streak_workers::text[], '{}'::text[], 'a new breaker has no streak') from s_set;
select throws_ok(format('select public.configure_breaker(%L, min_failing_workers => 0)', id), '22023',
  'scrapeguard: min_failing_workers must be between 1 and 16 (got 0)', 'min_failing_workers 0: 22023') from s_set;
select throws_ok(format('select public.configure_breaker(%L, min_failing_workers => 17)', id), '22023',
  'scrapeguard: min_failing_workers must be between 1 and 16 (got 17)', 'min_failing_workers 17: 22023') from s_set;
select is((public.configure_breaker(id, min_failing_workers => 3)).min_failing_workers::int, 3, 'configure_breaker sets min_failing_workers') from s_set;
select is((public.configure_breaker(id, failure_threshold => 4)).min_failing_workers::int, 3, 'a null min_failing_workers keeps it') from s_set;
select is((public.configure_breaker(id, min_failing_workers => 3)).version, (pg_temp.b(id)).version,
  'configuring the quorum it already has writes nothing') from s_set;

-- Direct writes obey the same rules (domains and CHECKs), not only the RPCs.
select throws_ok(format('update public.circuit_breaker_state set min_failing_workers = 0 where source_id = %L', id), '23514', null,
  'the row refuses a quorum of 0') from s_set;
select throws_ok(format('update public.circuit_breaker_state set failure_count = 1, streak_workers = %L where source_id = %L',
  '{a,a}', id), '23514', null, 'the row refuses a streak naming one worker twice') from s_set;
select throws_ok(format('update public.circuit_breaker_state set failure_count = 2, streak_workers = %L where source_id = %L',
  '{NULL,NULL}', id), '23514', null, 'the row refuses two anonymous workers') from s_set;
select throws_ok(format('update public.circuit_breaker_state set failure_count = 1, streak_workers = array[%L] where source_id = %L',
  '', id), '23514', null, 'the row refuses an empty worker name') from s_set;
select throws_ok(format('update public.circuit_breaker_state set failure_count = 1, streak_workers = array[repeat(%L, 201)] where source_id = %L',
  'x', id), '23514', null, 'the row refuses a worker name over 200 characters') from s_set;
select throws_ok(format('update public.circuit_breaker_state set failure_count = 20, streak_workers = (select array_agg(%L || g) from generate_series(1, 17) g) where source_id = %L',
  'w', id), '23514', null, 'the row refuses more than 16 workers') from s_set;
select throws_ok(format('update public.circuit_breaker_state set failure_count = 0, streak_workers = %L where source_id = %L',
  '{a}', id), '23514', null, 'the row refuses streak workers without failures') from s_set;
select throws_ok(format('update public.circuit_breaker_state set failure_count = 1, streak_workers = %L where source_id = %L',
  '{a,b}', id), '23514', null, 'the row refuses more workers than failures') from s_set;
select throws_ok(format('update public.circuit_breaker_state set failure_count = 0, streak_workers = %L, retry_after_until = now() where source_id = %L',
  '{}', id), '23514', null, 'the row refuses a Retry-After without failures') from s_set;
select lives_ok(format('update public.circuit_breaker_state set failure_count = 3, streak_workers = %L where source_id = %L',
  '{a,NULL,b}', id), 'named workers and the anonymous one, each once') from s_set;

-- record_failure's arguments: bad input is refused before anything is written.
create temp table s_args as select pg_temp.src('arguments') id;
select throws_ok(format('select public.record_failure(%L, worker => repeat(%L, 201))', id, 'x'), '22023',
  'record_failure: worker must be at most 200 characters (got 201)', 'a worker over 200 characters: 22023') from s_args;
select throws_ok(format('select public.record_failure(%L, retry_after => %L)', id, '-1 second'), '22023', null,
  'a negative retry_after: 22023') from s_args;
select throws_ok(format('select public.record_failure(%L, retry_after => %L)', id, '366 days'), '22023', null,
  'a retry_after over 365 days: 22023') from s_args;
select is((pg_temp.b(id)).version, 1::bigint, 'refused calls wrote nothing (version 1: the configure_breaker write)') from s_args;
select is((public.record_failure(id, worker => repeat('é', 200))).streak_workers::text[], array[repeat('é', 200)],
  'a 200-character worker is kept') from s_args;
select is((public.record_failure(id, worker => '')).streak_workers::text[], array[repeat('é', 200), null],
  'an empty worker name is the anonymous worker (null)') from s_args;
select set_config('scrapeguard.worker', 'from-setting', true);
select is((public.record_failure(id)).streak_workers::text[], array[repeat('é', 200), null, 'from-setting'],
  'without a worker argument, the transaction''s scrapeguard.worker names the failure') from s_args;
select set_config('scrapeguard.worker', '', true);

-- ---- quorum ------------------------------------------------------------------------
-- Threshold 3, quorum 2: one worker alone never opens it, however long its streak.
create temp table s_q2 as select pg_temp.src('quorum 2', 2) id;
select is((pg_temp.fail(id, 'worker-3', 7)).state::text, 'closed', 'quorum 2: seven failures of one worker keep it closed') from s_q2;
select is(((pg_temp.b(id)).failure_count::int, (pg_temp.b(id)).streak_workers::text[]), (7, array['worker-3']),
  'the streak counts them all and names the one worker') from s_q2;
select is((select allowed from public.acquire_permit(id)), true, 'and every worker is still permitted') from s_q2;
select is((pg_temp.fail(id, 'worker-3')).streak_workers::text[], array['worker-3'], 'a worker already in the streak is not added again') from s_q2;
-- A second worker's failure reaches the quorum: open.
select is((pg_temp.fail(id, 'worker-5')).state::text, 'open', 'a second worker''s failure opens it') from s_q2;
select is((pg_temp.last_transition(id)).reason, 'failure_threshold', 'transition: failure_threshold') from s_q2;
select is((pg_temp.last_transition(id)).workers::text[], array['worker-3', 'worker-5'],
  'the transition names the streak''s workers in the order they first failed') from s_q2;
select is((pg_temp.last_transition(id)).worker, 'worker-5', 'and the worker whose failure opened it') from s_q2;
select is((pg_temp.last_transition(id)).failure_count::int, 9, 'with the streak''s length') from s_q2;
select is((pg_temp.last_transition(id)).open_until, '2026-04-01 11:00:00+00'::timestamptz, 'open for the usual hour') from s_q2;
-- A probe's failure re-opens whatever the quorum, and its worker joins the streak.
select pg_temp.at('2026-04-01 11:00:01+00');
create temp table p_q2 as select (select probe_id from public.acquire_permit(id, 'worker-7')) probe from s_q2;
select is((public.record_failure(source_id => id, probe_id => (select probe from p_q2))).state::text, 'open',
  'the probe''s failure re-opens alone') from s_q2;
select is(((pg_temp.last_transition(id)).reason, (pg_temp.last_transition(id)).worker, (pg_temp.last_transition(id)).workers::text[]),
  ('probe_failed'::text, 'worker-7'::text, array['worker-3', 'worker-5', 'worker-7']),
  'probe_failed names the probe''s worker (from acquire_permit) and the streak') from s_q2;
-- The probe's success ends the streak.
select pg_temp.at('2026-04-01 14:00:00+00');
create temp table p2_q2 as select (select probe_id from public.acquire_permit(id, 'worker-1')) probe from s_q2;
select is(((public.record_success(id, (select probe from p2_q2))).state::text, (pg_temp.b(id)).streak_workers::text[]),
  ('closed'::text, '{}'::text[]), 'the probe''s success closes it and empties the streak') from s_q2;
-- After a success the count starts again: one worker alone still cannot open it.
select pg_temp.fail(id, 'worker-3', 2) from s_q2;
select public.record_success(id) from s_q2;
select is(((pg_temp.b(id)).failure_count::int, (pg_temp.b(id)).streak_workers::text[]), (0, '{}'::text[]),
  'a success on a closed breaker empties the streak with the count') from s_q2;

-- Failures without a worker count as one anonymous worker.
create temp table s_anon as select pg_temp.src('anonymous', 2) id;
select is((pg_temp.fail(id, null, 5)).state::text, 'closed', 'anonymous failures alone are one worker') from s_anon;
select is((pg_temp.fail(id, 'worker-2')).state::text, 'open', 'with one named worker they make two') from s_anon;
select is((pg_temp.last_transition(id)).workers::text[], array[null, 'worker-2'], 'the anonymous worker is named null') from s_anon;

-- Quorum 1 (default): the threshold alone, as without a quorum.
create temp table s_q1 as select pg_temp.src('quorum 1') id;
select is((pg_temp.fail(id, 'worker-3', 3)).state::text, 'open', 'quorum 1: three failures of one worker open it') from s_q1;
select is((pg_temp.last_transition(id)).workers::text[], array['worker-3'], 'naming that worker') from s_q1;

-- A quorum above the threshold: the streak needs that many distinct workers.
create temp table s_q4 as select pg_temp.src('quorum 4', 4) id;
select pg_temp.fail(id, 'a', 2) from s_q4;
select pg_temp.fail(id, 'b') from s_q4;
select is((pg_temp.fail(id, 'c')).state::text, 'closed', 'quorum 4: three workers are not enough') from s_q4;
select is((pg_temp.fail(id, 'd')).state::text, 'open', 'the fourth opens it') from s_q4;

-- The streak keeps at most 16 names.
create temp table s_cap as select pg_temp.src('cap') id;
select public.configure_breaker(id, failure_threshold => 1000) from s_cap;
select pg_temp.fail(id, 'w' || g) from s_cap, generate_series(1, 20) g;
select is(pg_catalog.cardinality((pg_temp.b(id)).streak_workers), 16, 'twenty workers: the first sixteen are kept') from s_cap;

-- Lowering the quorum below the streak's workers: the next failure opens.
create temp table s_lower as select pg_temp.src('lowered', 3) id;
select pg_temp.fail(id, 'a', 3) from s_lower;
select pg_temp.fail(id, 'b') from s_lower;
select is((public.configure_breaker(id, min_failing_workers => 2)).state::text, 'closed', 'changing the quorum opens nothing by itself') from s_lower;
select is((pg_temp.fail(id, 'a')).state::text, 'open', 'the next failure opens with the lowered quorum') from s_lower;

-- Operator calls: auto and reset end the streak.
create temp table s_op as select pg_temp.src('operator', 2) id;
select pg_temp.fail(id, 'a', 2, '3 hours') from s_op;
select public.force_breaker(id, 'disabled') from s_op;
select is((pg_temp.fail(id, 'b')).streak_workers::text[], array['a', 'b'], 'disabled: failures still join the streak') from s_op;
select is(((public.force_breaker(id, 'auto')).streak_workers::text[], (pg_temp.b(id)).retry_after_until),
  ('{}'::text[], null::timestamptz), 'auto: a fresh breaker, no streak, no Retry-After') from s_op;
select pg_temp.fail(id, 'a', 2, '3 hours') from s_op;
select is(((public.reset_breaker(id)).streak_workers::text[], (pg_temp.b(id)).retry_after_until),
  ('{}'::text[], null::timestamptz), 'reset: no streak, no Retry-After') from s_op;

-- ---- Retry-After -------------------------------------------------------------------
select pg_temp.at('2026-04-02 10:00:00+00');
-- Longer than the back-off: the site's word wins.
create temp table r_long as select pg_temp.src('retry longer') id;
select pg_temp.fail(id, 'a', 2) from r_long;
select is((pg_temp.fail(id, 'a', 1, '3 hours')).open_until, '2026-04-02 13:00:00+00'::timestamptz,
  'Retry-After 3 hours on the failure that opens it: open 3 hours, not 1') from r_long;
select is((pg_temp.last_transition(id)).retry_after_until, '2026-04-02 13:00:00+00'::timestamptz,
  'the transition records the Retry-After it honoured') from r_long;
select is((select retry_at from public.acquire_permit(id)), '2026-04-02 13:00:00+00'::timestamptz,
  'every worker is told to come back then') from r_long;
-- Shorter than the back-off: the back-off wins, the ask is still recorded.
create temp table r_short as select pg_temp.src('retry shorter') id;
select is((pg_temp.fail(id, 'a', 3, '10 minutes')).open_until, '2026-04-02 11:00:00+00'::timestamptz,
  'Retry-After 10 minutes: the hour of back-off holds') from r_short;
select is((pg_temp.last_transition(id)).retry_after_until, '2026-04-02 10:10:00+00'::timestamptz,
  'the transition still records what the site asked') from r_short;
-- Capped by max_open_duration.
create temp table r_cap as select pg_temp.src('retry capped') id;
select public.configure_breaker(id, max_open_duration => '4 hours') from r_cap;
select is((pg_temp.fail(id, 'a', 3, '2 days')).open_until, '2026-04-02 14:00:00+00'::timestamptz,
  'Retry-After 2 days with max_open_duration 4 hours: open 4 hours') from r_cap;
select is((pg_temp.last_transition(id)).retry_after_until, '2026-04-04 10:00:00+00'::timestamptz,
  'the transition records the uncapped ask') from r_cap;
-- While closed below the threshold it opens nothing, but the open that ends the streak
-- honours it, counted from when the site said it.
create temp table r_below as select pg_temp.src('retry below threshold') id;
select is((pg_temp.fail(id, 'a', 1, '3 hours')).state::text, 'closed', 'Retry-After below the threshold: still closed') from r_below;
select is((select allowed from public.acquire_permit(id)), true, 'and permits are granted as before') from r_below;
select is((pg_temp.b(id)).open_until, null, 'no hold while closed') from r_below;
select pg_temp.at('2026-04-02 10:30:00+00');
select is((pg_temp.fail(id, 'b', 2)).open_until, '2026-04-02 13:00:00+00'::timestamptz,
  'the open that follows holds until the time the site asked for (10:00 + 3 hours)') from r_below;
-- Below the quorum too.
create temp table r_quorum as select pg_temp.src('retry below quorum', 2) id;
select pg_temp.at('2026-04-02 10:00:00+00');
select is((pg_temp.fail(id, 'a', 4, '5 hours')).state::text, 'closed', 'Retry-After below the quorum: still closed') from r_quorum;
select is((pg_temp.fail(id, 'b')).open_until, '2026-04-02 15:00:00+00'::timestamptz,
  'the second worker opens it for the 5 hours the site asked the first') from r_quorum;
-- A success forgets it.
create temp table r_forget as select pg_temp.src('retry forgotten') id;
select pg_temp.fail(id, 'a', 1, '3 hours') from r_forget;
select public.record_success(id) from r_forget;
select is((pg_temp.fail(id, 'a', 3)).open_until, '2026-04-02 11:00:00+00'::timestamptz,
  'a success ends the streak and its Retry-After: the next open is the usual hour') from r_forget;
select is((pg_temp.last_transition(id)).retry_after_until, null, 'and none is recorded') from r_forget;
-- One already past when the breaker opens held nothing: not recorded.
create temp table r_past as select pg_temp.src('retry past') id;
select pg_temp.fail(id, 'a', 1, '1 minute') from r_past;
select pg_temp.at('2026-04-02 10:05:00+00');
select is((pg_temp.fail(id, 'a', 2)).open_until, '2026-04-02 11:05:00+00'::timestamptz, 'a Retry-After already past: the usual hour') from r_past;
select is((pg_temp.last_transition(id)).retry_after_until, null, 'and the transition records none') from r_past;
-- A failed probe's Retry-After: longer than its back-off (2 hours at the second open).
create temp table r_probe as select pg_temp.src('retry probe') id;
select pg_temp.at('2026-04-02 10:00:00+00');
select pg_temp.fail(id, 'a', 3) from r_probe;
select pg_temp.at('2026-04-02 11:00:00+00');
create temp table rp as select (select probe_id from public.acquire_permit(id, 'prober')) probe from r_probe;
select is((public.record_failure(source_id => id, probe_id => (select probe from rp), retry_after => '5 hours')).open_until,
  '2026-04-02 16:00:00+00'::timestamptz, 'a failed probe with Retry-After 5 hours: open 5 hours, not the 2 of back-off') from r_probe;
select is(((pg_temp.last_transition(id)).reason, (pg_temp.last_transition(id)).retry_after_until),
  ('probe_failed'::text, '2026-04-02 16:00:00+00'::timestamptz), 'probe_failed records it') from r_probe;
-- Late failures while open: counted, their Retry-After kept for the next open, the
-- current hold unchanged (no transition).
create temp table r_late as select pg_temp.src('retry late') id;
select pg_temp.at('2026-04-02 10:00:00+00');
select pg_temp.fail(id, 'a', 3) from r_late;
select is(((pg_temp.fail(id, 'b', 1, '6 hours')).open_until, (pg_temp.b(id)).retry_after_until),
  ('2026-04-02 11:00:00+00'::timestamptz, '2026-04-02 16:00:00+00'::timestamptz),
  'a late failure''s Retry-After does not move the current hold; it is kept for the next open') from r_late;
select pg_temp.at('2026-04-02 11:00:00+00');
create temp table rl as select (select probe_id from public.acquire_permit(id, 'prober')) probe from r_late;
select is((public.record_failure(source_id => id, probe_id => (select probe from rl))).open_until,
  '2026-04-02 16:00:00+00'::timestamptz, 'the failed probe''s open honours it') from r_late;
select is((select count(*)::int from public.circuit_breaker_transitions
            where workers is not null and reason not in ('failure_threshold', 'probe_failed')), 0,
  'only opening transitions name workers') ;

select * from finish();
rollback;
