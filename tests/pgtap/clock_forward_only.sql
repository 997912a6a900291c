-- The shared clock never goes back behind a time scrapeguard recorded, unless forced.
begin;
set local search_path = public, extensions;
select plan(21);

select is(scrapeguard.latest_recorded_time(), null, 'nothing recorded yet: no latest time');
select scrapeguard.freeze_clock('2031-05-01 12:00+00');
select lives_ok($$select scrapeguard.freeze_clock('2031-04-01 00:00+00')$$, 'with nothing recorded the clock may go back');

-- A breaker transition at 2031-04-01 02:00 (the shared clock, frozen).
select scrapeguard.advance_clock('2 hours');
insert into public.event_sources (id, name, base_url)
values ('7c10c4aa-0000-4000-8000-000000000001', 'Clock Source', 'https://clock.example/events');
select public.force_breaker('7c10c4aa-0000-4000-8000-000000000001', 'forced_open', 'ops');
select is(scrapeguard.latest_recorded_time(), '2031-04-01 02:00+00'::timestamptz, 'the transition''s time is the latest recorded');

select throws_ok($$select scrapeguard.advance_clock('-1 minute')$$, '55000',
  'scrapeguard: the clock would go back to 2031-04-01 01:59:00+00, before the latest recorded time 2031-04-01 02:00:00+00',
  'advance_clock back behind it: 55000');
select is(scrapeguard.clock(), '2031-04-01 02:00+00'::timestamptz, 'and the clock did not move');
select throws_ok($$select scrapeguard.freeze_clock('2031-03-31 00:00+00')$$, '55000', null, 'freeze_clock before it: 55000');
select throws_ok($$select scrapeguard.reset_clock()$$, '55000', null, 'reset_clock to a wall clock behind it: 55000');
select throws_ok($$select scrapeguard.freeze_clock(null)$$, '55000', null, 'unfreezing to a running clock behind it: 55000');
select is(scrapeguard.clock(), '2031-04-01 02:00+00'::timestamptz, 'none of them moved the clock');

select lives_ok($$select scrapeguard.freeze_clock('2031-04-01 02:00+00')$$, 'freezing exactly at the latest time is allowed');
select is(scrapeguard.advance_clock('1 hour'), '2031-04-01 03:00+00'::timestamptz, 'forward is always allowed');
select is(scrapeguard.advance_clock('-30 minutes', force => true), '2031-04-01 02:30+00'::timestamptz,
  'back with force => true');
select is(scrapeguard.freeze_clock('2031-01-01 00:00+00', true), '2031-01-01 00:00+00'::timestamptz, 'freeze back with force');
select ok(abs(extract(epoch from scrapeguard.reset_clock(force => true) - clock_timestamp())) < 1, 'reset with force');

select lives_ok($$select scrapeguard.advance_clock('2 days')$$,
  'forward is allowed from a clock forced back, even while still behind the recorded 2031');
select throws_ok($$select scrapeguard.advance_clock('-1 day')$$, '55000', null, 'but not back again');
-- A run stamped ahead of the wall clock blocks a plain reset.
select scrapeguard.freeze_clock('2031-06-01 00:00+00');
select public.start_run('7c10c4aa-0000-4000-8000-000000000001', 'api');
select throws_ok($$select scrapeguard.reset_clock()$$, '55000', null, 'a run recorded in 2031 blocks reset_clock');

set local role service_role;
select throws_ok($$select scrapeguard.advance_clock('-1 day')$$, '55000', null,
  'the service role (tests, the demo) gets the same check: it may read every recorded time');
select lives_ok($$select scrapeguard.advance_clock('-1 day', force => true)$$, 'and may force it');
reset role;

select throws_ok($$select scrapeguard.advance_clock(null)$$, '22004', null, 'a null interval: 22004');
select throws_ok($$select scrapeguard.reset_clock(null)$$, '22004', null, 'a null force: 22004');

select * from finish();
rollback;
