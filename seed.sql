-- Development data: Macau event sources with their events, two days of scraping runs
-- with logs, breaker states and event revisions attributed to runs.
-- Re-runnable: fixed ids (derived from names with md5), upserts, and inserts that skip
-- what exists; a second run changes nothing but the breaker of the dead source, which
-- is reset and tripped again (so its transitions show a full cycle).
-- Run as the database owner or the service role: `npm run db:seed` (no psql needed; or psql -f seed.sql).

begin;

create temp table seed_sources (name text, base_url text, source_type text, engine text, health text) on commit drop;
insert into seed_sources values
  ('Macao Government Tourism Office', 'https://www.macaotourism.gov.mo/en/events', 'website', 'firecrawl', 'healthy'),
  ('Macao Cultural Centre', 'https://www.ccm.gov.mo/en/programme', 'website', 'playwright', 'healthy'),
  ('Galaxy Arena', 'https://www.galaxymacau.com/arena/events', 'website', 'devtools', 'flaky'),
  ('Macau Ticketing API', 'https://api.macauticket.example/v2/events', 'api', 'api', 'healthy'),
  ('Macau Grand Prix Feed', 'https://www.macau.grandprix.gov.mo/feed.xml', 'api', 'feed', 'healthy'),
  ('Old Macau Listings Portal', 'https://listings.oldmacau.example/events', 'website', 'firecrawl', 'dead');

-- The same id scheme as the demo (scripts/demo/fleet.ts): md5 of a name, shaped as a UUID.
create or replace function pg_temp.seed_id(name text) returns uuid language sql immutable as $$
  select (substr(h, 1, 8) || '-' || substr(h, 9, 4) || '-4' || substr(h, 14, 3) || '-a' || substr(h, 18, 3)
          || '-' || substr(h, 21, 12))::uuid
    from (select md5('scrapeguard-demo:' || name) as h) x
$$;

insert into public.event_sources (id, name, base_url, source_type, scrape_frequency_hours)
select pg_temp.seed_id(name), name, base_url, source_type, case health when 'healthy' then 6 else 12 end
  from seed_sources
on conflict (id) do update set name = excluded.name, base_url = excluded.base_url, source_type = excluded.source_type;

-- Events as first scraped.
insert into public.events (id, title, start_time, end_time, status, source_url, source_type, price_range, tags)
values
  (pg_temp.seed_id('event:fireworks'), 'Macao International Fireworks Display Contest', '2026-09-13 21:00+08', '2026-09-13 21:40+08',
   'published', 'https://www.macaotourism.gov.mo/en/events/fireworks', 'scraped', '{0,0}', '{fireworks,outdoor}'),
  (pg_temp.seed_id('event:mimf-opening'), 'Macao International Music Festival: Opening Night', '2026-10-02 20:00+08', '2026-10-02 22:30+08',
   'pending', 'https://www.ccm.gov.mo/en/programme/mimf-opening', 'scraped', '{200,800}', '{music,classical}'),
  (pg_temp.seed_id('event:grand-prix'), 'Macau Grand Prix', '2026-11-19 09:00+08', '2026-11-22 18:00+08',
   'published', 'https://www.macau.grandprix.gov.mo', 'api', '{150,1500}', '{motorsport}'),
  (pg_temp.seed_id('event:light-festival'), 'Light Festival at Senado Square', '2026-12-01 19:00+08', '2026-12-31 23:00+08',
   'pending', 'https://www.macaotourism.gov.mo/en/events/light-festival', 'scraped', null, '{lights,family}'),
  (pg_temp.seed_id('event:galaxy-concert'), 'Jacky Cheung 60+ Tour', '2026-12-20 20:00+08', '2026-12-20 23:00+08',
   'published', 'https://www.galaxymacau.com/arena/events/jacky-cheung', 'scraped', '{480,1280}', '{concert,cantopop}')
on conflict (id) do nothing;

-- Two days of runs: one every 4 hours per source (12 each), outcomes by source health.
insert into public.scraping_runs (id, source_id, engine, status, started_at, finished_at, field_coverage,
                                  events_found, events_created, events_updated, events_skipped, error_code,
                                  error_message, worker, metadata)
select pg_temp.seed_id(format('run:%s:%s', s.name, n)),
       pg_temp.seed_id(s.name),
       s.engine,
       outcome.status,
       started,
       started + make_interval(secs => 2 + (n * 7 + length(s.name)) % 40),
       case when outcome.status = 'failed' then null else 78 + (n * 3 + length(s.name)) % 22 end,
       case when outcome.status = 'failed' then 0 else 4 + n % 5 end,
       case when outcome.status = 'failed' or n > 1 then 0 else 1 end,
       case when outcome.status = 'failed' then 0 else n % 3 end,
       case when outcome.status = 'failed' then 0 else 3 end,
       case when outcome.status = 'failed' then case s.health when 'dead' then 'HTTP_404' else 'HTTP_503' end end,
       case when outcome.status = 'failed' then format('GET %s failed', s.base_url) end,
       format('worker-%s', 1 + n % 4),
       jsonb_build_object('seed', true)
  from seed_sources s
 cross join generate_series(1, 12) as n
 cross join lateral (select scrapeguard.clock() - make_interval(hours => 4 * (13 - n)) as started) t
 cross join lateral (
   select case
            when s.health = 'dead' then 'failed'
            when s.health = 'flaky' and n % 3 = 0 then 'failed'
            when s.health = 'flaky' and n % 4 = 1 then 'partial'
            else 'succeeded'
          end as status
 ) outcome
on conflict (id) do nothing;

-- A few log lines per run (only for runs that have none yet).
insert into public.scraping_logs (run_id, level, message, metadata, logged_at)
select r.id, l.level, l.message, l.metadata, r.started_at + l.offset_by
  from public.scraping_runs r
 cross join lateral (
   values
     ('debug', 'permit granted', jsonb_build_object('engine', r.engine), interval '0'),
     ('info', 'fetching listing', jsonb_build_object('url', (select base_url from public.event_sources where id = r.source_id)), interval '100 ms'),
     (case r.status when 'failed' then 'error' when 'partial' then 'warn' else 'info' end,
      case r.status when 'failed' then 'fetch failed' when 'partial' then 'some events lack prices' else 'page scraped' end,
      jsonb_build_object('status', r.status, 'events', r.events_found), interval '1 second')
 ) as l (level, message, metadata, offset_by)
 where r.metadata ->> 'seed' = 'true'
   and not exists (select from public.scraping_logs x where x.run_id = r.id);

-- Revisions attributed to the latest successful run of each event's source: a price and a
-- status change (no-ops on a second run: the values are already there). Those runs are
-- history, already finished, and set_change_context takes only running runs: the seed
-- sets the two transaction settings it would set (scrapeguard.run_id, scrapeguard.actor).
select pg_catalog.set_config('scrapeguard.run_id', pg_temp.seed_id(format('run:%s:%s', 'Macao Cultural Centre', 12))::text, true),
       pg_catalog.set_config('scrapeguard.actor', 'seed:playwright', true);
update public.events set status = 'published', price_range = '{250,880}'
 where id = pg_temp.seed_id('event:mimf-opening');
select pg_catalog.set_config('scrapeguard.run_id', pg_temp.seed_id(format('run:%s:%s', 'Galaxy Arena', 11))::text, true),
       pg_catalog.set_config('scrapeguard.actor', 'seed:devtools', true);
update public.events set price_range = '{580,1380}', tags = '{concert,cantopop,sold-out-soon}'
 where id = pg_temp.seed_id('event:galaxy-concert');
select public.set_change_context(null, null);

-- Breakers: the dead source is open after three failures; the flaky one has one failure.
select public.reset_breaker(pg_temp.seed_id('Old Macau Listings Portal'));
select public.record_failure(pg_temp.seed_id('Old Macau Listings Portal'), 'HTTP 404 on the listing page')
  from generate_series(1, 3);
select public.reset_breaker(pg_temp.seed_id('Galaxy Arena'));
select public.record_failure(pg_temp.seed_id('Galaxy Arena'), 'HTTP 503');
select public.record_success(pg_temp.seed_id(name)) from seed_sources where health = 'healthy';

commit;
