-- SECURITY DEFINER code never resolves a name in the caller's temporary schema.
--
-- With search_path = '', PostgreSQL still looks up unqualified type (and table)
-- names in the session's temporary schema before pg_catalog, and any role may create
-- temporary objects. A caller of a SECURITY DEFINER function could shadow "text" or
-- "timestamptz" with a domain whose CHECK runs the caller's code, which would then
-- run as the function's owner. Checked two ways: statically, every SECURITY DEFINER
-- function of scrapeguard and every function of ours they call (transitively) names
-- no type that pg_temp could shadow; and by trying it, as Supabase's roles.
begin;
set local search_path = public, extensions;
select plan(11);

-- Type names a domain in pg_temp can shadow (keywords such as integer, bigint,
-- boolean, numeric, interval, timestamp always mean pg_catalog's).
create function pg_temp.unqualified_types(src text) returns setof text language sql as $$
  with code as (select regexp_replace(src, '--[^\n]*', '', 'g') as c)
  select lower(m[1]) from code, regexp_matches(c,  -- casts
    '::\s*(text|jsonb|json|uuid|timestamptz|date|bytea|int2|int4|int8|bool|float4|float8|oid|name|inet|regclass|regproc|regprocedure|regtype|regnamespace|regrole|tstzrange|daterange)\M', 'gi') m
  union
  select lower(m[1]) from code, regexp_matches(c,  -- declarations
    '\m[a-z_][a-z0-9_]*\s+(text|jsonb|json|uuid|timestamptz|date|bytea|int2|int4|int8|bool|float4|float8|oid|name|inet|regclass|regproc|regprocedure|regtype|regnamespace|regrole|tstzrange|daterange|record)\s*(\[\])?\s*(;|:=|not\s+null|default)', 'gi') m
$$;

create temp table our_functions on commit drop as
  select p.oid, p.oid::regprocedure::text as name, p.prosecdef, p.prosrc
    from pg_proc p
   where p.pronamespace in ('public'::regnamespace, 'scrapeguard'::regnamespace)
     and p.prolang in (select l.oid from pg_language l where l.lanname in ('sql', 'plpgsql'))
     and not exists (select from pg_depend d where d.objid = p.oid and d.deptype = 'e')
     and p.proname <> 'update_updated_at_column';

-- SECURITY DEFINER functions and what they call (any of our functions named in a
-- body as schema.name( ), transitively.
create temp table definer_reach on commit drop as
with recursive reach(oid) as (
  select f.oid from our_functions f where f.prosecdef
  union
  select g.oid
    from reach r
    join our_functions f on f.oid = r.oid
    cross join lateral regexp_matches(f.prosrc, '\m(public|scrapeguard)\.([a-z_][a-z0-9_]*)\s*\(', 'g') m
    join our_functions g on g.oid in (select p.oid from pg_proc p
                                       where p.pronamespace = m[1]::regnamespace and p.proname = m[2])
)
select f.name, f.prosecdef, f.prosrc from reach r join our_functions f on f.oid = r.oid;

select ok((select count(*) from definer_reach where prosecdef) >= 7
          and (select count(*) from definer_reach where not prosecdef) >= 5,
  'the check covers every SECURITY DEFINER function and the helpers they call (clock, attribution, log partitions…)');
select is_empty(
  $$select name || ': ' || t from definer_reach, pg_temp.unqualified_types(prosrc) t$$,
  'none of them names a type without its schema');
select is_empty(
  $$select name || ': ' || m[1] || '.' || m[2] from definer_reach,
            regexp_matches(regexp_replace(prosrc, '--[^\n]*', '', 'g'), '\m([a-z_][a-z0-9_]*)\.([a-z_][a-z0-9_]*)\s*\(', 'g') m
     where m[1] not in ('pg_catalog', 'public', 'scrapeguard')
       and to_regnamespace(m[1]) is not null$$,
  'nor calls a function of another schema (auth.jwt() casts to an unqualified jsonb), where the check cannot see');
select set_eq(
  $$select pg_temp.unqualified_types(E'declare\n  v text;\n  d date := x::date;\n  w pg_catalog.text;\n  n integer;\n  c record;\n  q pg_catalog.record;\nbegin\n  -- a comment about a uuid;\n  perform y::timestamptz, date(z) where oid = 1 and v_name = name;')$$,
  array['text', 'date', 'timestamptz', 'record'],
  'the static check finds unqualified declarations and casts (and ignores qualified names, keywords, calls, comments)');

-- Now try it. The probe runs a statement as a role and records what happened; a
-- shadowing domain's CHECK raises, naming the role it ran as.
-- Written with the revision triggers off: PL/pgSQL resolves a function's types when
-- the session first calls it, so the probes below must be the first calls.
do $$
declare t record;
begin
  for t in select tgname from pg_trigger where tgrelid = 'public.events'::regclass and tgname like '%scrapeguard_event_revisions_%' loop
    execute format('alter table public.events disable trigger %I', t.tgname);
  end loop;
  insert into public.events (id, title, start_time, status)
  values ('00000000-0000-4000-8000-00000000d0e1', 'Probe', '2026-07-01', 'published');
  for t in select tgname from pg_trigger where tgrelid = 'public.events'::regclass and tgname like '%scrapeguard_event_revisions_%' loop
    execute format('alter table public.events enable trigger %I', t.tgname);
  end loop;
end
$$;
create policy "test: editors update events" on public.events
  for update to authenticated using (true) with check (true);

create temp table probe_results (probe pg_catalog.text primary key, outcome pg_catalog.text) on commit drop;
grant all on probe_results to authenticated, service_role;
create function pg_temp.probe(p_name pg_catalog.text, p_role pg_catalog.text, p_sql pg_catalog.text) returns void
  language plpgsql as $$
declare
  v_outcome pg_catalog.text := 'ran';
begin
  execute pg_catalog.format('set local role %I', p_role);
  begin
    execute p_sql;
  exception when others then
    v_outcome := sqlerrm;
  end;
  reset role;
  insert into probe_results values (p_name, v_outcome);
end
$$;
create function pg_temp.shadowed() returns boolean language plpgsql as $$
begin
  raise exception 'shadowing domain ran as %', current_user;
end
$$;
-- A SECURITY DEFINER function written the unsafe way: the probe must catch it.
create function public.test_unsafe_definer() returns pg_catalog.text language plpgsql security definer
  set search_path = '' as $$
declare
  v text := 'x';
begin
  return v;
end
$$;
grant execute on function public.test_unsafe_definer() to authenticated;

-- The shadowing domains, created by an API role (PUBLIC may create temporary objects).
set local role authenticated;
create domain pg_temp.text as pg_catalog.text check (pg_temp.shadowed());
create domain pg_temp.timestamptz as pg_catalog.timestamptz check (pg_temp.shadowed());
create domain pg_temp.jsonb as pg_catalog.jsonb check (pg_temp.shadowed());
create domain pg_temp.uuid as pg_catalog.uuid check (pg_temp.shadowed());
create domain pg_temp.int4 as pg_catalog.int4 check (pg_temp.shadowed());
create domain pg_temp.date as pg_catalog.date check (pg_temp.shadowed());
create domain pg_temp.regclass as pg_catalog.regclass check (pg_temp.shadowed());
create domain pg_temp.record as pg_catalog.text check (pg_temp.shadowed());
reset role;

select pg_temp.probe('unsafe definer', 'authenticated', 'select public.test_unsafe_definer()');
select pg_temp.probe('update', 'authenticated',
  $$update public.events set title = 'Probe 2', price_range = '{1,2}' where id = '00000000-0000-4000-8000-00000000d0e1'$$);
select pg_temp.probe('insert and delete', 'service_role',
  $$with i as (insert into public.events (id, title, start_time)
               values ('00000000-0000-4000-8000-00000000d0e2', 'Probe 3', '2026-07-02') returning id)
    delete from public.events e using i where e.id = i.id$$);
select pg_temp.probe('refresh', 'service_role', 'select scrapeguard.refresh_event_revision_trigger()');
select set_config('request.jwt.claims', '{"sub": "6f0c4e8a-2b7d-4c1e-9a55-0d3b2f1e7c90", "role": "authenticated"}', true);
select pg_temp.probe('fleet sources', 'authenticated', 'select count(*) from scrapeguard.fleet_sources()');
select set_config('request.jwt.claims', '', true);
select pg_temp.probe('log partitions', 'service_role',
  $$select scrapeguard.ensure_log_partitions('1 day'), scrapeguard.drop_expired_logs('30 days')$$);

set local role authenticated;
drop domain pg_temp.text, pg_temp.timestamptz, pg_temp.jsonb, pg_temp.uuid, pg_temp.int4, pg_temp.date, pg_temp.regclass,
  pg_temp.record;
reset role;

select is((select outcome from probe_results where probe = 'unsafe definer'),
  'shadowing domain ran as postgres', 'the probe catches a definer function with an unqualified type (it ran as its owner)');
select is((select outcome from probe_results where probe = 'update'), 'ran',
  'an authenticated update of an event runs the revision triggers without touching the shadowing types');
select is((select outcome from probe_results where probe = 'insert and delete'), 'ran',
  'so do an insert and a delete');
select is((select outcome from probe_results where probe = 'refresh'), 'ran',
  'so does regenerating the triggers');
select is((select outcome from probe_results where probe = 'log partitions'), 'ran',
  'so does the log partition maintenance');
select is((select outcome from probe_results where probe = 'fleet sources'), 'ran',
  'and the admin check inside fleet_sources, called by a signed-in user');
select is((select count(*)::int from event_revisions where event_id = '00000000-0000-4000-8000-00000000d0e1'), 3,
  'the probed update was recorded (a baseline and its two fields)');

select * from finish();
rollback;
