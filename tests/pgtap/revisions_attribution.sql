-- Who and which run a revision is attributed to: set_change_context, a request JWT,
-- or the role. Writes by an authenticated user whom the app's policies allow to
-- edit an event are recorded although that user can neither write nor read
-- event_revisions.
begin;
set local search_path = public, extensions;
select plan(21);

-- Run a statement as another role with a request JWT, then come back (pgTAP's own
-- bookkeeping tables belong to the session user).
create function pg_temp.as_role(p_role text, p_claims text, p_sql text) returns bigint
  language plpgsql
as $$
declare
  n bigint;
begin
  perform set_config('request.jwt.claims', coalesce(p_claims, ''), true);
  execute format('set local role %I', p_role);
  if p_sql ~* '^\s*(select|with|values)' then
    execute format('select count(*) from (%s) q', p_sql) into n;
  else
    execute p_sql;
    get diagnostics n = row_count;
  end if;
  reset role;
  perform set_config('request.jwt.claims', '', true);
  return n;
end
$$;

-- Two real runs (run_id references scraping_runs).
insert into event_sources (id, name, base_url) values ('00000000-0000-4000-8000-00000000a5a5', 'attribution test', 'https://example.com');
create temp table runs on commit drop as
  select start_run('00000000-0000-4000-8000-00000000a5a5', 'api') as r1, start_run('00000000-0000-4000-8000-00000000a5a5', 'api') as r2;

set local scrapeguard.now = '2026-05-01 10:00+00';
insert into events (id, title, start_time, status)
values ('00000000-0000-4000-8000-0000000000a1', 'Open day', '2026-06-01', 'published');

select is(
  (select actor from event_revisions where event_id = '00000000-0000-4000-8000-0000000000a1' and revision = 1),
  'postgres', 'without context or JWT the actor is the database role');

select set_change_context((select r1 from runs), 'worker-7');
select is(current_setting('scrapeguard.run_id'), (select r1::text from runs),
  'set_change_context sets scrapeguard.run_id');
update events set title = 'Open day (2nd edition)' where id = '00000000-0000-4000-8000-0000000000a1';
select results_eq(
  $$select run_id, actor from event_revisions where event_id = '00000000-0000-4000-8000-0000000000a1' and revision = 2$$,
  $$select r1, 'worker-7' from runs$$,
  'an update is attributed to the run and actor of set_change_context');
delete from events where id = '00000000-0000-4000-8000-0000000000a1';
select results_eq(
  $$select operation, run_id, actor from event_revisions where event_id = '00000000-0000-4000-8000-0000000000a1' and revision = 3$$,
  $$select 'delete', r1, 'worker-7' from runs$$,
  'so are inserts and deletes');

select set_change_context((select r2 from runs));
insert into events (id, title, start_time, status)
values ('00000000-0000-4000-8000-0000000000a2', 'Parade', '2026-06-02', 'published');
select results_eq(
  $$select run_id, actor from event_revisions where event_id = '00000000-0000-4000-8000-0000000000a2'$$,
  $$select r2, 'postgres' from runs$$,
  'a run without an actor falls back to the role for the actor');

select set_change_context(null, null);
select is(
  (select as_role from pg_temp.as_role('service_role', null,
     $$update events set title = 'Parade!' where id = '00000000-0000-4000-8000-0000000000a2'$$)), 1::bigint,
  'the service role updates an event');
select results_eq(
  $$select run_id, actor from event_revisions where event_id = '00000000-0000-4000-8000-0000000000a2' and revision = 2$$,
  $$values (null::uuid, 'service_role')$$,
  'nulls clear the context; the actor is then the role switched to (as PostgREST does), not the trigger''s owner');

select throws_ok($$select set_change_context(null, '')$$, '22023', null, 'an empty actor is refused');
select throws_ok($$select set_change_context(null, repeat('x', 201))$$, '22023', null, 'so is one over 200 characters');
select throws_ok($$select set_change_context('00000000-0000-4000-8000-00000000dead', 'worker-7')$$,
  'SG002', null, 'a run that does not exist is refused at once (not as a foreign-key error at the next write)');

-- An app user allowed by the app's own policies to edit events (the base schema has
-- no such policy; the real app has one for authors).
create policy "test: editors update events" on public.events
  for update to authenticated using (true) with check (true);
select is(
  (select as_role from pg_temp.as_role('authenticated',
     '{"sub": "6f0c4e8a-2b7d-4c1e-9a55-0d3b2f1e7c90", "role": "authenticated"}',
     $$update events set title = 'Parade (moved)' where id = '00000000-0000-4000-8000-0000000000a2'$$)), 1::bigint,
  'an authenticated editor updates an event');
select results_eq(
  $$select field_name, run_id, actor from event_revisions where event_id = '00000000-0000-4000-8000-0000000000a2' and revision = 3$$,
  $$values ('title', null::uuid, '6f0c4e8a-2b7d-4c1e-9a55-0d3b2f1e7c90')$$,
  'the change is recorded (SECURITY DEFINER trigger) and attributed to the JWT''s sub');
-- Supabase third-party auth (Clerk, Firebase, Auth0…): the sub is not a uuid.
select is(
  (select as_role from pg_temp.as_role('authenticated',
     '{"sub": "user_2NNEqL2nrIRdJ194ndJqAHwEfxC", "role": "authenticated"}',
     $$update events set description = 'Route changed' where id = '00000000-0000-4000-8000-0000000000a2'$$)), 1::bigint,
  'a user whose JWT sub is not a uuid (third-party auth) updates an event');
select is(
  (select actor from event_revisions where event_id = '00000000-0000-4000-8000-0000000000a2' and revision = 4),
  'user_2NNEqL2nrIRdJ194ndJqAHwEfxC',
  'the change is recorded and attributed to that sub as it is');
select set_config('request.jwt.claim.sub', 'auth0|5f7c8ec7c33c6c004bbafe82', true);
select pg_temp.as_role('authenticated', null,
  $$update events set description = 'Route changed again' where id = '00000000-0000-4000-8000-0000000000a2'$$);
select set_config('request.jwt.claim.sub', '', true);
select is(
  (select actor from event_revisions where event_id = '00000000-0000-4000-8000-0000000000a2' and revision = 5),
  'auth0|5f7c8ec7c33c6c004bbafe82',
  'so is the sub of the older per-claim setting (request.jwt.claim.sub)');
select is(
  (select as_role from pg_temp.as_role('authenticated',
     '{"sub": "6f0c4e8a-2b7d-4c1e-9a55-0d3b2f1e7c90", "role": "authenticated"}',
     $$select * from event_revisions$$)), 0::bigint,
  'that editor cannot read the history (not an admin)');
select throws_ok(
  $$select pg_temp.as_role('authenticated', '{"sub": "6f0c4e8a-2b7d-4c1e-9a55-0d3b2f1e7c90", "role": "authenticated"}',
      $q$insert into event_revisions (event_id, revision, operation, new_value, changed_at, actor)
         values (gen_random_uuid(), 1, 'insert', '{}', now(), 'forged')$q$)$$,
  '42501', null, 'nor write it directly');
select throws_ok(
  $$select pg_temp.as_role('authenticated', '{"sub": "6f0c4e8a-2b7d-4c1e-9a55-0d3b2f1e7c90", "role": "authenticated"}',
      $q$select set_change_context(null, 'someone else')$q$)$$,
  '42501', null, 'nor claim another actor with set_change_context');

select is(
  (select as_role from pg_temp.as_role('authenticated',
     '{"sub": "11111111-2222-4333-8444-555555555555", "role": "authenticated", "app_metadata": {"role": "admin"}}',
     $$select * from event_history('00000000-0000-4000-8000-0000000000a2')$$)), 5::bigint,
  'an admin reads the history through event_history');
select is(
  (select as_role from pg_temp.as_role('authenticated',
     '{"sub": "6f0c4e8a-2b7d-4c1e-9a55-0d3b2f1e7c90", "role": "authenticated"}',
     $$select * from event_history('00000000-0000-4000-8000-0000000000a2')$$)), 0::bigint,
  'a non-admin gets nothing from event_history (RLS decides, SECURITY INVOKER)');

select is(
  (select actor from event_revisions where event_id = '00000000-0000-4000-8000-0000000000a2' and revision = 1),
  scrapeguard.current_change_actor(),
  'scrapeguard.current_change_actor() states the rule the triggers embed');

select * from finish();
rollback;
