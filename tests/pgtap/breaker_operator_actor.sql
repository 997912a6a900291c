-- Operator calls record who acted: force_breaker/reset_breaker's actor, in the transition.
begin;
set local search_path = public, extensions;
select plan(10);

insert into public.event_sources (id, name, base_url)
values ('ac7021aa-0000-4000-8000-000000000001', 'Actor Source', 'https://actor.example/events');
create function pg_temp.last_transition() returns public.circuit_breaker_transitions language sql as $$
  select * from public.circuit_breaker_transitions where source_id = 'ac7021aa-0000-4000-8000-000000000001' order by id desc limit 1
$$;

select public.force_breaker('ac7021aa-0000-4000-8000-000000000001', 'forced_open', actor => 'alice');
select is((pg_temp.last_transition()).actor, 'alice', 'force_breaker records its actor');
select public.force_breaker('ac7021aa-0000-4000-8000-000000000001', 'auto', 'bob');
select is(((pg_temp.last_transition()).reason, (pg_temp.last_transition()).actor), ('auto'::text, 'bob'::text), 'auto too');
select public.force_breaker('ac7021aa-0000-4000-8000-000000000001', 'disabled');
select is((pg_temp.last_transition()).actor, current_user::text, 'without an actor: the role in effect');
select public.reset_breaker('ac7021aa-0000-4000-8000-000000000001', 'carol');
select is(((pg_temp.last_transition()).reason, (pg_temp.last_transition()).actor), ('reset'::text, 'carol'::text), 'reset_breaker records its actor');

select set_config('request.jwt.claims', '{"sub": "d1e2f3a4-0000-4000-8000-000000000009", "role": "service_role"}', true);
select public.force_breaker('ac7021aa-0000-4000-8000-000000000001', 'forced_open');
select is((pg_temp.last_transition()).actor, 'd1e2f3a4-0000-4000-8000-000000000009', 'through the API: the JWT''s sub');
select set_config('request.jwt.claims', '', true);

select throws_ok($$select public.reset_breaker('ac7021aa-0000-4000-8000-000000000001', '  ')$$, '22023', null, 'a blank actor: 22023');
select throws_ok(format('select public.reset_breaker(%L, %L)', 'ac7021aa-0000-4000-8000-000000000001', repeat('x', 201)), '22023', null,
  'an actor over 200 characters: 22023');
select is((select state::text from public.circuit_breaker_state where source_id = 'ac7021aa-0000-4000-8000-000000000001'),
  'forced_open', 'a refused call changes nothing');

select throws_ok($$insert into public.circuit_breaker_transitions
  (source_id, from_state, to_state, reason, failure_count, opened_count, open_until, version, actor)
  values ('ac7021aa-0000-4000-8000-000000000001', 'half_open', 'open', 'probe_failed', 3, 1, now(), 99, 'mallory')$$,
  '23514', null, 'an automatic transition has no actor (CHECK)');
select is((select count(*)::int from public.circuit_breaker_transitions where actor is null and reason in ('forced_open', 'disabled', 'auto', 'reset')),
  0, 'every operator transition here names its actor');

select * from finish();
rollback;
