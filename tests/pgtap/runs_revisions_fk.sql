-- event_revisions.run_id -> scraping_runs(id) ON DELETE SET NULL: deleting a run keeps the
-- revisions it made.
begin;
set local search_path = public, extensions;
select plan(7);

select fk_ok('public', 'event_revisions', 'run_id', 'public', 'scraping_runs', 'id');
select is((select confdeltype::text from pg_constraint where conname = 'event_revisions_run_id_fkey'), 'n',
          'deleting a run keeps the revisions it made, with run_id set null');
select ok((select convalidated from pg_constraint where conname = 'event_revisions_run_id_fkey'), 'the foreign key is validated');
select ok(exists (select from pg_index i join pg_attribute a on a.attrelid = i.indrelid and a.attnum = i.indkey[0]
                   where i.indrelid = 'public.event_revisions'::regclass and a.attname = 'run_id'),
          'event_revisions.run_id is indexed (the delete of a run finds its revisions)');

insert into public.event_sources (id, name, base_url) values ('fc000000-0000-0000-0000-000000000001', 'fk', 'https://fk');
create temp table t_run as select public.start_run('fc000000-0000-0000-0000-000000000001', 'api') as id;

select lives_ok(format($$select public.set_change_context(%L, 'scraper');
                         insert into public.events (id, title, start_time)
                         values ('fc000000-0000-0000-0000-0000000000e1', 'FK test', '2026-06-01 20:00+08')$$, (select id from t_run)),
                'an event change attributed to a real run is recorded');

delete from public.scraping_runs where id = (select id from t_run);

select results_eq($$select run_id from public.event_revisions where event_id = 'fc000000-0000-0000-0000-0000000000e1'$$,
                  $$values (null::uuid)$$,
                  'deleting the run kept the revision and set its run_id to null');
-- set_change_context refuses an unknown run itself (SG002, revisions_attribution.sql);
-- the key still holds when the run goes away after the context was set.
create temp table t_run2 as select public.start_run('fc000000-0000-0000-0000-000000000001', 'api') as id;
select throws_ok(format($$select public.set_change_context(%L, 'scraper');
                          delete from public.scraping_runs where id = %L;
                          update public.events set title = 'FK test 2' where id = 'fc000000-0000-0000-0000-0000000000e1'$$,
                        (select id from t_run2), (select id from t_run2)),
                 '23503', null, 'a change attributed to a run deleted after set_change_context is refused by the foreign key');

select * from finish();
rollback;
