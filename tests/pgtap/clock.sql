-- scrapeguard.clock(): wall clock unless frozen per transaction or shared-offset.
begin;
set local search_path = public, extensions;
select plan(10);

select has_function('scrapeguard', 'clock', '{}'::name[]);
select ok(scrapeguard.clock() between clock_timestamp() - interval '1 second' and clock_timestamp(),
  'runs with the wall clock by default');

set local scrapeguard.now = '2026-01-01 00:00:00+00';
select is(scrapeguard.clock(), '2026-01-01 00:00:00+00'::timestamptz, 'scrapeguard.now freezes it for this transaction');
reset scrapeguard.now;

select scrapeguard.freeze_clock('2030-06-01 12:00+00');
select is(scrapeguard.clock(), '2030-06-01 12:00+00'::timestamptz, 'freeze_clock stops the shared clock');
select is(scrapeguard.advance_clock('1 hour'), '2030-06-01 13:00+00'::timestamptz, 'advance_clock moves a frozen clock');
select scrapeguard.freeze_clock(null);
select ok(scrapeguard.clock() between clock_timestamp() + interval '59 minutes' and clock_timestamp() + interval '61 minutes',
  'unfrozen, the offset stays');
select ok(abs(extract(epoch from scrapeguard.reset_clock() - clock_timestamp())) < 1, 'reset_clock returns to the wall clock');
select throws_ok($$insert into scrapeguard.clock_control (id) values (false)$$, '23514', null, 'there is only one clock row');

set local role service_role;
select lives_ok($$select scrapeguard.advance_clock('1 minute')$$, 'the service role may move the shared clock');
reset role;
set local role authenticated;
select throws_ok($$select scrapeguard.advance_clock('1 minute')$$, '42501', null, 'authenticated users may not');
reset role;

select * from finish();
rollback;
