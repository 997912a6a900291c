-- scrapeguard.clock() skips its control row until the shared clock is first moved
-- (scrapeguard.clock_moved), and follows every way the row can be written.
begin;
set local search_path = public, extensions;
select plan(17);

select is(coalesce(pg_sequence_last_value('scrapeguard.clock_moved'), 0), 0::bigint,
  'a fresh database has never moved its clock');
select ok(scrapeguard.clock() between clock_timestamp() - interval '1 second' and clock_timestamp(),
  'unmoved, the clock is the wall clock');
select unalike(pg_get_functiondef('scrapeguard.clock()'::regprocedure), '%clock_control%',
  'unmoved, clock() runs no query');
select unalike(pg_get_functiondef('scrapeguard.event_revisions_on_update()'::regprocedure), '%clock_control%',
  'the revision triggers embed the same expression (no query of clock_control per changed event)');

-- A move that rolls back leaves the flag set, which only means the row is read.
savepoint before_move;
select scrapeguard.freeze_clock('2030-06-01 12:00+00');
rollback to savepoint before_move;
select is(pg_sequence_last_value('scrapeguard.clock_moved'), 1::bigint,
  'a move sets the flag at once, and rolling the move back does not clear it');
select ok(scrapeguard.clock() between clock_timestamp() - interval '1 second' and clock_timestamp(),
  'with the flag set and the row not moved, the clock is still the wall clock');

select scrapeguard.freeze_clock('2030-06-01 12:00+00');
select is(scrapeguard.clock(), '2030-06-01 12:00+00'::timestamptz, 'a frozen clock is read from the row');
select is(scrapeguard.advance_clock('1 hour'), '2030-06-01 13:00+00'::timestamptz, 'and moved by advance_clock');

-- The row written directly (the service role has UPDATE on it), not through the functions.
set local role service_role;
update scrapeguard.clock_control set frozen_at = '2031-01-01 00:00+00' where id;
select is(scrapeguard.clock(), '2031-01-01 00:00+00'::timestamptz, 'a direct update of the row is followed too');
select throws_ok($$select setval('scrapeguard.clock_moved', 0)$$, '42501', null,
  'the service role cannot clear the flag');
reset role;

set local role authenticated;
select is(scrapeguard.clock(), '2031-01-01 00:00+00'::timestamptz, 'signed-in users read the moved clock');
reset role;

-- A revision written now is stamped with the moved clock.
insert into public.event_sources (id, name, base_url)
values ('00000000-0000-0000-0000-0000000000c1', 'clock source', 'https://clock.example');
insert into public.events (id, title, start_time, source_url)
values ('00000000-0000-0000-0000-0000000000e1', 'clocked', '2031-02-01 20:00+00', 'https://clock.example/e1');
update public.events set title = 'clocked again' where id = '00000000-0000-0000-0000-0000000000e1';
select is((select array_agg(distinct changed_at) from public.event_revisions
            where event_id = '00000000-0000-0000-0000-0000000000e1'),
          array['2031-01-01 00:00+00'::timestamptz], 'revisions are stamped with the moved clock');

-- The breaker's failure/success pair embeds the same expression (calling clock() cost a
-- function call with its own search_path per call): the same text, and the same time.
select ok(
  (select bool_and(strpos(regexp_replace(p.prosrc, '\s+', ' ', 'g'),
                          regexp_replace(substr(c.body, 2, length(c.body) - 3), '\s+', ' ', 'g')) > 0
                   and p.prosrc !~ 'scrapeguard\.clock\(\)')
     from pg_proc p,
          (select scrapeguard.function_body_expression('scrapeguard.clock()') as body) c
    where p.oid in ('public.record_failure(uuid, text, uuid, text, interval)'::regprocedure,
                    'public.record_success(uuid, uuid)'::regprocedure)),
  'record_failure and record_success embed clock()''s body, word for word, and do not call it');
select is((public.record_failure('00000000-0000-0000-0000-0000000000c1', 'HTTP 503')).last_failure_at,
  '2031-01-01 00:00+00'::timestamptz, 'a failure is stamped with the moved clock');
select is((public.record_success('00000000-0000-0000-0000-0000000000c1')).last_success_at,
  '2031-01-01 00:00+00'::timestamptz, 'and the success that ends its streak too');

select scrapeguard.reset_clock(force => true);
select ok(scrapeguard.clock() between clock_timestamp() - interval '1 second' and clock_timestamp(),
  'reset, the clock is the wall clock again (read from the row)');
select is(pg_sequence_last_value('scrapeguard.clock_moved'), 1::bigint, 'the flag stays set for good');

select * from finish();
rollback;
