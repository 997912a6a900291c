-- scraping_logs partitions: created ahead, default partition catch-all, retention by whole
-- partitions, run retention, pg_cron scheduling.
begin;
set local search_path = public, extensions;
select plan(46);

-- A session time zone other than UTC must not shift the daily (UTC) bounds.
set local timezone = 'Asia/Macau';

insert into public.event_sources (id, name, base_url) values ('9b000000-0000-0000-0000-000000000001', 'partitions', 'https://p');
insert into public.scraping_runs (id, source_id, engine, started_at)
  values ('9b000000-0000-0000-0000-0000000000a1', '9b000000-0000-0000-0000-000000000001', 'api', '2030-01-01 00:00+00');

-- ---------------------------------------------------------------- ensure_log_partitions
set local scrapeguard.now = '2030-01-10 12:00:00+00';
select is(scrapeguard.ensure_log_partitions('2 days'), 3, 'today and 2 days ahead: 3 partitions created');
select results_eq(
  $$select partition::text, lower_bound, upper_bound from scrapeguard.log_partitions()
     where lower_bound >= '2030-01-01 00:00+00' and lower_bound < '2030-02-01 00:00+00' order by lower_bound$$,
  $$values ('scrapeguard.scraping_logs_p20300110', '2030-01-10 00:00+00'::timestamptz, '2030-01-11 00:00+00'::timestamptz),
           ('scrapeguard.scraping_logs_p20300111', '2030-01-11 00:00+00'::timestamptz, '2030-01-12 00:00+00'::timestamptz),
           ('scrapeguard.scraping_logs_p20300112', '2030-01-12 00:00+00'::timestamptz, '2030-01-13 00:00+00'::timestamptz)$$,
  'one partition per UTC day, named by its date, whatever the session time zone');
select is(scrapeguard.ensure_log_partitions('2 days'), 0, 'running it again creates nothing');
select is(scrapeguard.ensure_log_partitions('0 days'), 0, 'ahead 0: only today, which exists');
select is_partition_of('scrapeguard', 'scraping_logs_p20300111', 'public', 'scraping_logs', 'the new tables are partitions of scraping_logs');
select ok((select relrowsecurity from pg_class where oid = 'scrapeguard.scraping_logs_p20300111'::regclass),
  'a new partition has RLS enabled');
select ok(not has_table_privilege('authenticated', 'scrapeguard.scraping_logs_p20300111', 'select')
          and not has_table_privilege('anon', 'scrapeguard.scraping_logs_p20300111', 'select'),
  'a new partition is closed to anon and authenticated');
select is((select array_agg(pg_get_indexdef(i.indexrelid) ~ 'USING (btree \(run_id, level\)|btree \(id, logged_at\)|brin \(logged_at\))' order by 1)
             from pg_index i where i.indrelid = 'scrapeguard.scraping_logs_p20300111'::regclass),
  array[true, true, true], 'a new partition has the (run_id, level), primary key and BRIN indexes');
select is((select count(*)::int from pg_constraint where conrelid = 'scrapeguard.scraping_logs_p20300111'::regclass and contype = 'f'),
  1, 'a new partition has the foreign key to scraping_runs');

-- Logged times: explicit at and clock(); out-of-range times go to the default partition.
select public.append_logs('9b000000-0000-0000-0000-0000000000a1', $$[
  {"level": "info", "message": "in range", "at": "2030-01-11T08:00:00Z"},
  {"level": "info", "message": "far future", "at": "2030-01-20T05:00:00Z"},
  {"level": "info", "message": "far past", "at": "2020-05-05T05:00:00Z"},
  {"level": "info", "message": "very far future", "at": "2099-01-01T00:00:00Z"}
]$$);
select results_eq(
  $$select message, tableoid::regclass::text from public.scraping_logs where run_id = '9b000000-0000-0000-0000-0000000000a1' order by id$$,
  $$values ('in range', 'scrapeguard.scraping_logs_p20300111'), ('far future', 'scrapeguard.scraping_logs_default'),
           ('far past', 'scrapeguard.scraping_logs_default'), ('very far future', 'scrapeguard.scraping_logs_default')$$,
  'rows without a partition of their day land in the default partition, the insert does not fail');
create temp table t_far as select id from public.scraping_logs where message = 'far future';

set local scrapeguard.now = '2030-01-19 12:00:00+00';
select is(scrapeguard.ensure_log_partitions('1 day'), 2, 'later: the partitions of the 19th and 20th are created');
select is((select tableoid::regclass::text from public.scraping_logs where message = 'far future'),
  'scrapeguard.scraping_logs_p20300120', 'the default partition''s row of a new day moves into the new partition');
select is((select id from public.scraping_logs where message = 'far future'), (select id from t_far), 'keeping its id');
select is((select count(*)::int from scrapeguard.scraping_logs_default where logged_at >= '2030-01-20' and logged_at < '2030-01-21'),
  0, 'and leaves the default partition');

-- A day already covered by another partition (here a monthly one) is skipped.
create table scrapeguard.custom_2031_02 partition of public.scraping_logs
  for values from ('2031-02-01 00:00+00') to ('2031-03-01 00:00+00');
set local scrapeguard.now = '2031-02-27 12:00:00+00';
select is(scrapeguard.ensure_log_partitions('3 days'), 2, 'days covered by an existing partition are skipped (only March 1 and 2 are created)');
select ok(to_regclass('scrapeguard.scraping_logs_p20310302') is not null and to_regclass('scrapeguard.scraping_logs_p20310228') is null,
  'the covered days got no partition of their own');
set local scrapeguard.now = '2030-01-19 12:00:00+00';

select throws_ok($$select scrapeguard.ensure_log_partitions(null)$$, '22004', null, 'ahead null: 22004');
select throws_ok($$select scrapeguard.ensure_log_partitions('-1 day')$$, '22023', null, 'ahead negative: 22023');
select throws_ok($$select scrapeguard.ensure_log_partitions('400 days')$$, '22023', null, 'ahead over 366 days: 22023');

-- log_partitions() reads the bounds whatever the session DateStyle.
set local datestyle = 'SQL, DMY';
select is((select upper_bound from scrapeguard.log_partitions() where partition = 'scrapeguard.scraping_logs_p20300111'::regclass),
  '2030-01-12 00:00+00'::timestamptz, 'partition bounds are read correctly under another DateStyle');
reset datestyle;

-- ---------------------------------------------------------------- drop_expired_logs
-- Another run's rows on the 15th and 16th (partitions created for them).
set local scrapeguard.now = '2030-01-15 00:00:00+00';
select scrapeguard.ensure_log_partitions('1 day');
select public.append_logs('9b000000-0000-0000-0000-0000000000a1', $$[
  {"level": "warn", "message": "on the 15th", "at": "2030-01-15T23:59:59Z"},
  {"level": "warn", "message": "on the 16th", "at": "2030-01-16T00:00:00Z"}
]$$);

-- Cutoff = 2030-02-15 12:00 - 30 days = 2030-01-16 12:00: the 15th's partition ends before
-- it (dropped); the 16th's ends after it (kept whole, though half of it is older).
set local scrapeguard.now = '2030-02-15 12:00:00+00';
create temp table t_before as
  select partition, upper_bound from scrapeguard.log_partitions() where not is_default;
create temp table t_dropped as select scrapeguard.drop_expired_logs() as n;
select is((select n from t_dropped), (select count(*)::int from t_before where upper_bound <= '2030-01-16 12:00+00'),
  'drop_expired_logs returns the number of partitions dropped');
select is((select count(*)::int from scrapeguard.log_partitions() where not is_default and upper_bound <= '2030-01-16 12:00+00'),
  0, 'every partition entirely older than 30 days is gone');
select ok(to_regclass('scrapeguard.scraping_logs_p20300115') is null, 'the 15th''s partition was dropped (table gone)');
select ok(to_regclass('scrapeguard.scraping_logs_p20300116') is not null, 'the 16th''s partition, partly younger than the cutoff, is kept');
select is((select count(*)::int from scrapeguard.log_partitions() where not is_default),
  (select count(*)::int from t_before where upper_bound > '2030-01-16 12:00+00'),
  'every younger partition is kept');
select results_eq(
  $$select message from public.scraping_logs where run_id = '9b000000-0000-0000-0000-0000000000a1' order by logged_at$$,
  $$values ('on the 16th'), ('far future'), ('very far future')$$,
  'rows of dropped partitions are gone, expired default-partition rows are deleted, the rest stays');
select is(scrapeguard.drop_expired_logs(), 0, 'running it again drops nothing');

-- detach_only keeps the expired partition as a standalone table (for archiving).
set local scrapeguard.now = '2030-02-17 12:00:00+00';
select is(scrapeguard.drop_expired_logs('30 days', detach_only => true), 1, 'detach_only: the 16th''s partition is detached');
select ok(to_regclass('scrapeguard.scraping_logs_p20300116') is not null
          and not (select relispartition from pg_class where oid = 'scrapeguard.scraping_logs_p20300116'::regclass),
  'the detached table still exists, no longer a partition');
select ok((select relrowsecurity from pg_class where oid = 'scrapeguard.scraping_logs_p20300116'::regclass)
          and not has_table_privilege('authenticated', 'scrapeguard.scraping_logs_p20300116', 'select'),
  'and stays closed to the API roles');
select is((select count(*)::int from scrapeguard.scraping_logs_p20300116), 1, 'with its rows');

select throws_ok($$select scrapeguard.drop_expired_logs(null)$$, '22004', null, 'keep null: 22004');
select throws_ok($$select scrapeguard.drop_expired_logs('0 days')$$, '22023', null, 'keep 0: 22023');
select throws_ok($$select scrapeguard.drop_expired_logs('-30 days')$$, '22023', null, 'keep negative: 22023');

-- The service role (not the table owner) runs the maintenance functions.
set local role service_role;
select lives_ok($$select scrapeguard.ensure_log_partitions('1 day')$$, 'service_role can create partitions');
select lives_ok($$select scrapeguard.drop_expired_logs()$$, 'service_role can drop expired partitions');
reset role;

-- ---------------------------------------------------------------- prune_runs
set local scrapeguard.now = '2030-07-01 00:00:00+00';
insert into public.scraping_runs (id, source_id, engine, status, started_at, finished_at) values
  ('9b000000-0000-0000-0000-0000000000b1', '9b000000-0000-0000-0000-000000000001', 'api', 'succeeded', '2029-12-31 23:00+00', '2029-12-31 23:05+00'),
  ('9b000000-0000-0000-0000-0000000000b2', '9b000000-0000-0000-0000-000000000001', 'api', 'succeeded', '2030-01-02 00:00+00', '2030-01-02 00:05+00'),
  ('9b000000-0000-0000-0000-0000000000b3', '9b000000-0000-0000-0000-000000000001', 'api', 'failed', '2030-06-30 00:00+00', '2030-06-30 00:05+00');
-- 2030-07-01 - 180 days = 2030-01-02 00:00: runs started before it go.
select is(scrapeguard.prune_runs(), 2, 'prune_runs deletes the runs started more than 180 days ago');
select results_eq(
  $$select id from public.scraping_runs where source_id = '9b000000-0000-0000-0000-000000000001' order by started_at$$,
  $$values ('9b000000-0000-0000-0000-0000000000b2'::uuid), ('9b000000-0000-0000-0000-0000000000b3'::uuid)$$,
  'the run started exactly at the cutoff and younger ones stay');
select is((select count(*)::int from public.scraping_logs where run_id = '9b000000-0000-0000-0000-0000000000a1'), 0,
  'logs of pruned runs go with them');
select is(scrapeguard.prune_runs('1 day'), 1, 'keep is a parameter');
select throws_ok($$select scrapeguard.prune_runs(null)$$, '22004', null, 'keep null: 22004');
select throws_ok($$select scrapeguard.prune_runs('-1 day')$$, '22023', null, 'keep negative: 22023');

-- ---------------------------------------------------------------- pg_cron
select is(scrapeguard.schedule_maintenance(), 0, 'without pg_cron, scheduling is a no-op');
-- A stand-in for pg_cron's cron.schedule(name, schedule, command) (upsert by name).
create schema cron;
create table cron.job (jobid bigserial primary key, jobname text unique, schedule text, command text);
create function cron.schedule(job_name text, schedule text, command text) returns bigint language sql as $$
  insert into cron.job (jobname, schedule, command) values (job_name, schedule, command)
  on conflict (jobname) do update set schedule = excluded.schedule, command = excluded.command
  returning jobid
$$;
select is(scrapeguard.schedule_maintenance(), 3, 'with pg_cron, three jobs are scheduled');
select is(scrapeguard.schedule_maintenance(), 3, 'scheduling again');
select results_eq(
  $$select jobname, schedule, command from cron.job order by jobname$$,
  $$values ('scrapeguard-drop-expired-logs', '17 3 * * *', 'select scrapeguard.drop_expired_logs()'),
           ('scrapeguard-ensure-log-partitions', '7 * * * *', 'select scrapeguard.ensure_log_partitions()'),
           ('scrapeguard-prune-runs', '27 3 * * *', 'select scrapeguard.prune_runs()')$$,
  'hourly partition creation, daily log and run retention, each job once');

select * from finish();
rollback;
