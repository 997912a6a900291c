-- Development data: Macau event sources and events. Re-runnable: fixed ids, upserts.
insert into public.event_sources (id, name, base_url, source_type, scrape_frequency_hours)
values
  ('0b6a3a8e-1c55-4c59-9a1e-5f0f6f8a0001', 'Macao Government Tourism Office', 'https://www.macaotourism.gov.mo/en/events', 'website', 6),
  ('0b6a3a8e-1c55-4c59-9a1e-5f0f6f8a0002', 'Macao Cultural Centre', 'https://www.ccm.gov.mo/en/programme', 'website', 12),
  ('0b6a3a8e-1c55-4c59-9a1e-5f0f6f8a0003', 'Galaxy Arena', 'https://www.galaxymacau.com/arena/events', 'website', 24),
  ('0b6a3a8e-1c55-4c59-9a1e-5f0f6f8a0004', 'Macau Ticketing API', 'https://api.macauticket.example/v2/events', 'api', 3)
on conflict (id) do update set name = excluded.name, base_url = excluded.base_url,
  source_type = excluded.source_type, scrape_frequency_hours = excluded.scrape_frequency_hours;

insert into public.events (id, title, start_time, end_time, status, source_url, source_type, price_range, tags)
values
  ('5e7d1c2a-8b3f-4e6a-9c1d-2f3a4b5c0001', 'Macao International Fireworks Display Contest', '2026-09-13 21:00+08', '2026-09-13 21:40+08',
   'published', 'https://www.macaotourism.gov.mo/en/events/fireworks', 'scraped', '{0,0}', '{fireworks,outdoor}'),
  ('5e7d1c2a-8b3f-4e6a-9c1d-2f3a4b5c0002', 'Macao International Music Festival: Opening Night', '2026-10-02 20:00+08', '2026-10-02 22:30+08',
   'published', 'https://www.ccm.gov.mo/en/programme/mimf-opening', 'scraped', '{200,800}', '{music,classical}'),
  ('5e7d1c2a-8b3f-4e6a-9c1d-2f3a4b5c0003', 'Macau Grand Prix', '2026-11-19 09:00+08', '2026-11-22 18:00+08',
   'published', 'https://www.macau.grandprix.gov.mo', 'api', '{150,1500}', '{motorsport}'),
  ('5e7d1c2a-8b3f-4e6a-9c1d-2f3a4b5c0004', 'Light Festival at Senado Square', '2026-12-01 19:00+08', '2026-12-31 23:00+08',
   'pending', 'https://www.macaotourism.gov.mo/en/events/light-festival', 'scraped', null, '{lights,family}')
on conflict (id) do update set title = excluded.title, start_time = excluded.start_time, end_time = excluded.end_time,
  status = excluded.status, source_url = excluded.source_url, source_type = excluded.source_type,
  price_range = excluded.price_range, tags = excluded.tags;
