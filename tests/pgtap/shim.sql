-- The Supabase shim: API roles, auth helpers reading request.jwt.claims, realtime publication.
-- pgtap: base tables only (the shim is the same under both templates and touches no app table)
begin;
set local search_path = public, extensions;
select plan(12);

select has_role('anon');
select has_role('authenticated');
select has_role('service_role');
select ok((select rolbypassrls from pg_catalog.pg_roles where rolname = 'service_role'), 'service_role bypasses RLS');
select ok(not (select rolbypassrls from pg_catalog.pg_roles where rolname = 'anon'), 'anon does not bypass RLS');
select has_function('auth', 'uid', '{}'::name[], 'auth.uid() exists');
select has_function('auth', 'jwt', '{}'::name[], 'auth.jwt() exists');

select set_config('request.jwt.claims',
  '{"sub": "6f1c4c46-3b1a-4f0e-9a57-0c7f5c2e9d11", "role": "authenticated", "app_metadata": {"role": "admin"}}', true);
select is(auth.uid(), '6f1c4c46-3b1a-4f0e-9a57-0c7f5c2e9d11'::uuid, 'auth.uid() reads sub from request.jwt.claims');
select is(auth.role(), 'authenticated', 'auth.role() reads role from request.jwt.claims');
select is(auth.jwt() -> 'app_metadata' ->> 'role', 'admin', 'auth.jwt() returns the whole claims object');

select set_config('request.jwt.claims', '', true);
select is(auth.uid(), null, 'auth.uid() is null without claims');

select is(
  (select count(*)::int from pg_catalog.pg_publication where pubname = 'supabase_realtime'),
  1, 'supabase_realtime publication exists');

select * from finish();
rollback;
