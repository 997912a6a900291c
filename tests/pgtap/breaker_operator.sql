-- Operator modes and reset: force_breaker(forced_open | disabled | auto), reset_breaker.
begin;
set local search_path = public, extensions;
select plan(41);

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
create function pg_temp.transitions(p_id uuid) returns text language sql as $$
  select coalesce(string_agg(format('%s>%s:%s', from_state, to_state, reason), ' ' order by id), '')
    from public.circuit_breaker_transitions where source_id = p_id
$$;
create function pg_temp.phys(p_id uuid) returns text language sql as $$
  select format('%s/%s/%s', s.ctid, s.xmax, pg_stat_get_xact_tuples_updated('public.circuit_breaker_state'::regclass))
    from public.circuit_breaker_state s where s.source_id = p_id
$$;

select pg_temp.at('2026-04-01 08:00:00+00');

-- ---- forced_open: deny always, never transition on results -----------------------
create temp table s1 as select pg_temp.src('forced') id;
set local scrapeguard.worker = 'ops:alice';
select is((public.force_breaker(id, 'forced_open')).state::text, 'forced_open', 'force_breaker(forced_open) from closed') from s1;
reset scrapeguard.worker;
select results_eq(
  format($$select from_state::text, to_state::text, reason, worker from public.circuit_breaker_transitions where source_id = %L$$, id),
  $$values ('closed', 'forced_open', 'forced_open', 'ops:alice')$$,
  'one transition closed → forced_open, attributed to the scrapeguard.worker setting') from s1;
select results_eq(
  format($$select allowed, state, probe_id, retry_at from public.acquire_permit(%L, 'w')$$, id),
  $$values (false, 'forced_open'::text, null::uuid, null::timestamptz)$$,
  'forced_open + permit: denied, no retry_at (it stays open until an operator acts)') from s1;
select pg_temp.at('2026-05-01 08:00:00+00');
select is((select allowed from public.acquire_permit(id)), false, 'forced_open + permit a month later: still denied') from s1;
select is((pg_temp.fail(id, 5)).state::text, 'forced_open', 'forced_open + 5 failures: no transition') from s1;
select is((pg_temp.b(id)).failure_count::int, 5, 'forced_open: failures are still counted') from s1;
select is((public.record_success(id)).failure_count::int, 0, 'forced_open + success: failures reset, still forced_open') from s1;
select is((pg_temp.b(id)).state::text, 'forced_open', 'forced_open after a success: unchanged') from s1;
create temp table v1 as select (pg_temp.b(id)).version v from s1;
select is((public.force_breaker(id, 'forced_open')).version, (select v from v1), 'forcing the mode it is in: nothing written') from s1;
select is(pg_temp.transitions(id), 'closed>forced_open:forced_open', 'forcing the mode it is in: no transition') from s1;

-- ---- disabled: permit always, never trip ------------------------------------------
select is((public.force_breaker(id, 'disabled')).state::text, 'disabled', 'force_breaker(disabled) from forced_open') from s1;
create temp table snap as select pg_temp.phys(id) phys from s1;
select results_eq(
  format($$select allowed, state, probe_id, retry_at from public.acquire_permit(%L, 'w')$$, id),
  $$values (true, 'disabled'::text, null::uuid, null::timestamptz)$$,
  'disabled + permit: allowed') from s1;
select is(pg_temp.phys(id), (select phys from snap), 'disabled + permit: no write, no row lock') from s1;
select is((pg_temp.fail(id, 10)).state::text, 'disabled', 'disabled + 10 failures (threshold 3): never trips') from s1;
select is((pg_temp.b(id)).failure_count::int, 10, 'disabled: failures are counted') from s1;
select is((pg_temp.b(id)).open_until, null, 'disabled: no open_until') from s1;

-- ---- auto: back to a fresh closed breaker ----------------------------------------
select is((public.force_breaker(id, 'auto')).state::text, 'closed', 'force_breaker(auto) from disabled: closed') from s1;
select is((pg_temp.b(id)).failure_count::int, 0, 'auto starts with no failures') from s1;
select is(pg_temp.transitions(id),
  'closed>forced_open:forced_open forced_open>disabled:disabled disabled>closed:auto',
  'transitions: forced_open, disabled, auto') from s1;
delete from v1;
insert into v1 select (pg_temp.b(id)).version from s1;
select is((public.force_breaker(id, 'auto')).version, (select v from v1), 'auto on an automatic state: nothing written') from s1;
select is((pg_temp.fail(id, 3)).state::text, 'open', 'after auto the breaker trips normally') from s1;
select is((public.force_breaker(id, 'auto')).state::text, 'open', 'auto leaves an open breaker open') from s1;

-- ---- forcing while a probe is out invalidates the probe -------------------------
create temp table s2 as select pg_temp.src('probe-then-forced') id;
select pg_temp.at('2026-06-01 00:00:00+00');
select pg_temp.fail(id, 3) from s2;
select pg_temp.at('2026-06-01 01:00:00+00');
create temp table p2 as select * from public.acquire_permit((select id from s2), 'prober');
select is((public.force_breaker(id, 'forced_open')).probe_id, null, 'forced_open from half_open: the probe is withdrawn') from s2;
select is((pg_temp.b(id)).opened_count::int, 0, 'forced_open: back-off level reset') from s2;
select is((public.record_success(id, (select probe_id from p2))).state::text, 'forced_open',
  'the withdrawn probe''s success does not close a forced_open breaker') from s2;
select is(pg_temp.transitions(id),
  'closed>open:failure_threshold open>half_open:open_expired half_open>forced_open:forced_open',
  'transitions of the forced probe') from s2;

-- ---- reset_breaker ------------------------------------------------------------------
create temp table s3 as select pg_temp.src('reset') id;
select pg_temp.at('2026-07-01 00:00:00+00');
select pg_temp.fail(id, 3) from s3;
select pg_temp.at('2026-07-01 01:00:00+00');
create temp table p3 as select * from public.acquire_permit((select id from s3), 'prober');
select public.record_failure(id, 'down', (select probe_id from p3)) from s3;        -- open, level 2
create temp table r3 as select (public.reset_breaker(id)).* from s3;
select is((select state::text from r3), 'closed', 'reset from open: closed');
select is((select failure_count::int from r3), 0, 'reset: no failures');
select is((select opened_count::int from r3), 0, 'reset: back-off forgotten');
select is((select open_until from r3), null, 'reset: no open_until');
select is((select last_error::text from r3), 'down', 'reset keeps the last error for the record');
select results_eq(
  format($$select from_state::text, to_state::text, reason from public.circuit_breaker_transitions
            where source_id = %L order by id desc limit 1$$, id),
  $$values ('open', 'closed', 'reset')$$,
  'transition open → closed (reset)') from s3;
select pg_temp.at('2026-07-01 02:00:00+00');
select is((pg_temp.fail(id, 3)).open_until, '2026-07-01 03:00:00+00'::timestamptz,
  'after a reset the next open lasts the base duration again') from s3;

create temp table s4 as select pg_temp.src('reset-half-open') id;
select pg_temp.at('2026-08-01 00:00:00+00');
select pg_temp.fail(id, 3) from s4;
select pg_temp.at('2026-08-01 01:00:00+00');
create temp table p4 as select * from public.acquire_permit((select id from s4), 'prober');
select is((public.reset_breaker(id)).probe_id, null, 'reset from half_open: the probe is withdrawn') from s4;
select is((public.record_failure(id, 'late', (select probe_id from p4))).failure_count::int, 1,
  'the withdrawn probe''s failure counts as an ordinary failure of the closed breaker') from s4;
select is((public.reset_breaker(id)).failure_count::int, 0, 'reset of a closed breaker with failures: failures cleared') from s4;
select is(pg_temp.transitions(id),
  'closed>open:failure_threshold open>half_open:open_expired half_open>closed:reset closed>closed:reset',
  'a reset of a closed breaker with failures is recorded too') from s4;
delete from v1;
insert into v1 select (pg_temp.b(id)).version from s4;
select is((public.reset_breaker(id)).version, (select v from v1), 'reset of a clean closed breaker: nothing written') from s4;

create temp table s5 as select pg_temp.src('reset-modes') id;
select public.force_breaker(id, 'disabled') from s5;
select is((public.reset_breaker(id)).state::text, 'closed', 'reset from disabled: closed (operator modes are cleared too)') from s5;

-- ---- operator calls create the breaker row lazily --------------------------------
create temp table s6 as
  with s as (insert into public.event_sources (name, base_url) values ('lazy-op', 'https://example.com/lazy') returning id)
  select id from s;
select is((public.force_breaker(id, 'forced_open')).failure_threshold::int, 3,
  'force_breaker on a source without a breaker creates it with defaults') from s6;
select is((select count(*)::int from public.circuit_breaker_transitions where source_id = (select id from s6)), 1,
  '... and records the transition') from s6;

select * from finish();
rollback;
