-- Index use at realistic volume: 120,000 runs over 200 sources and 200,000 log lines over
-- 5 daily partitions, analyzed; the real plans (EXPLAIN (FORMAT JSON), default settings) are
-- inspected, and fleet_health() is checked to read scraping_runs only through indexes.
-- pgtap: base tables only (the plans are of scrapeguard's own tables; of the app's, only
-- event_sources' 200 rows are read, whole, by fleet_health. The volume build is the slowest
-- step of the suite, so it runs once.)
begin;
set local search_path = public, extensions;
select plan(12);

-- Partitions for 2030-05-06 .. 2030-05-13 (5 days of data, the rest empty).
set local scrapeguard.now = '2030-05-06 00:00:00+00';
select scrapeguard.ensure_log_partitions('7 days');
set local scrapeguard.now = '2030-05-10 12:00:00+00';

insert into public.event_sources (id, name, base_url)
select ('e0000000-0000-0000-0000-' || lpad(to_hex(g), 12, '0'))::uuid, 'plan source ' || g, 'https://s/' || g
  from generate_series(1, 200) g;
-- 600 finished runs per source spread over the 180-day run retention.
insert into public.scraping_runs (source_id, engine, status, started_at, finished_at, field_coverage)
select s.id, 'playwright', (array['succeeded', 'partial', 'failed'])[1 + g % 3],
       t, t + (5 + g % 60) * interval '1 second', g % 101
  from public.event_sources s
 cross join generate_series(1, 600) g
 cross join lateral (select timestamptz '2030-05-10 11:00+00' - g * interval '7 hours 11 minutes' as t) x
 where s.name like 'plan source %';
-- 2,000 recent runs with 100 log lines each (25 per level), over 5 days.
create temp table t_log_runs as
  select r.id, r.started_at from public.scraping_runs r
   where r.started_at >= '2030-05-06 00:00+00' and r.started_at < '2030-05-10 11:00+00'
   order by r.id  -- random ids: runs of every day
   limit 2000;
insert into public.scraping_logs (run_id, level, message, metadata, logged_at)
select r.id, (array['debug', 'info', 'warn', 'error'])[1 + g % 4], 'line ' || g, '{}',
       r.started_at + g * interval '1 second'
  from t_log_runs r cross join lateral generate_series(0, 99) g;
analyze public.scraping_runs;
analyze public.scraping_logs;

select ok((select count(*) from public.scraping_runs) >= 100000, 'at least 100,000 runs');
select ok((select count(*) from public.scraping_logs) >= 100000, 'at least 100,000 log lines');

create function pg_temp.plan(q text) returns jsonb language plpgsql as $$
declare
  p json;
begin
  execute 'explain (format json) ' || q into p;
  return p::jsonb;
end
$$;
create function pg_temp.nodes(p jsonb) returns setof jsonb language sql as $$
  select n from jsonb_path_query(p, 'strict $.**') n where jsonb_typeof(n) = 'object' and n ? 'Node Type'
$$;

-- ---------------------------------------------------------------- (source_id, started_at)
create temp table t_src as select id from public.event_sources where name = 'plan source 77';
create temp table t_p1 as
  select pg_temp.plan(format('select * from public.scraping_runs where source_id = %L order by started_at desc limit 20',
                             (select id from t_src))) as p;
select ok(exists (select from t_p1, pg_temp.nodes(p) n
                   where n->>'Node Type' = 'Index Scan' and n->>'Index Name' = 'scraping_runs_source_started_idx'),
  'a source''s last runs: Index Scan on scraping_runs_source_started_idx');
select ok(not exists (select from t_p1, pg_temp.nodes(p) n where n->>'Node Type' in ('Seq Scan', 'Sort')),
  'with no Seq Scan and no Sort (the index gives the order)');

create temp table t_p2 as
  select pg_temp.plan(format($$select count(*) from public.scraping_runs where source_id = %L
                                 and started_at > '2030-05-09 12:00+00' and started_at <= '2030-05-10 12:00+00'$$,
                             (select id from t_src))) as p;
select ok(exists (select from t_p2, pg_temp.nodes(p) n
                   where n->>'Index Name' = 'scraping_runs_source_started_idx')
          and not exists (select from t_p2, pg_temp.nodes(p) n where n->>'Node Type' = 'Seq Scan'),
  'a source''s runs of the last 24 h: range scan of the same index');

-- fleet_health() touches scraping_runs only through indexes (per-transaction statistics).
create temp table t_stat0 as
  select seq_scan, idx_scan from pg_stat_xact_user_tables where relid = 'public.scraping_runs'::regclass;
select is((select count(*)::int from public.fleet_health()), 200, 'fleet_health() over 200 sources');
create temp table t_stat1 as
  select seq_scan, idx_scan from pg_stat_xact_user_tables where relid = 'public.scraping_runs'::regclass;
select is((select t1.seq_scan - t0.seq_scan from t_stat0 t0, t_stat1 t1), 0::bigint,
  'fleet_health() does not scan scraping_runs sequentially');
select ok((select t1.idx_scan - t0.idx_scan from t_stat0 t0, t_stat1 t1) >= 3 * 200,
  'it reads each source''s runs through the index (last run, recent window, last N)');

-- ---------------------------------------------------------------- (run_id, level)
create temp table t_run as select id from t_log_runs offset 1234 limit 1;
create temp table t_full as
  select c.relname::text as relname from pg_inherits i join pg_class c on c.oid = i.inhrelid
   where i.inhparent = 'public.scraping_logs'::regclass and c.reltuples > 0;
create temp table t_p3 as
  select pg_temp.plan(format($$select * from public.scraping_logs where run_id = %L and level = 'warn'$$,
                             (select id from t_run))) as p;
select is((select count(*)::int from t_full), 5, 'the log lines fill 5 partitions');
select ok((select bool_and(exists (select from t_p3, pg_temp.nodes(p) n
                                    where n->>'Index Name' = f.relname || '_run_id_level_idx'))
             from t_full f),
  'a run''s lines of one level: the (run_id, level) index of every partition holding rows');
select is((select count(*)::int from t_p3, pg_temp.nodes(p) n
            where n->>'Node Type' = 'Seq Scan' and n->>'Relation Name' in (select relname from t_full)),
  0, 'no partition holding rows is scanned sequentially');
create temp table t_p4 as
  select pg_temp.plan(format($$select * from public.scraping_logs where run_id = %L and level = 'warn'
                                  and logged_at >= '2030-05-08 00:00+00' and logged_at < '2030-05-09 00:00+00'$$,
                             (select id from t_run))) as p;
select is((select array_agg(distinct n->>'Relation Name') from t_p4, pg_temp.nodes(p) n where n ? 'Relation Name'),
  array['scraping_logs_p20300508'], 'with a logged_at range, partition pruning leaves one partition');

select * from finish();
rollback;
