-- Down script of 000001 (foundation): the clock, the admin rule, and the base
-- objects that 000001 created because they were missing (recorded in
-- scrapeguard.created_base_objects); app tables that existed before are never
-- touched. Later scrapeguard migrations must be rolled back first.
drop function if exists scrapeguard.reset_clock();
drop function if exists scrapeguard.freeze_clock(timestamptz);
drop function if exists scrapeguard.advance_clock(interval);
drop function if exists scrapeguard.clock();
drop table if exists scrapeguard.clock_control;
drop function if exists scrapeguard.is_admin();

do $down$
declare
  t text;
begin
  if to_regclass('scrapeguard.created_base_objects') is not null then
    foreach t in array array['public.profiles', 'public.scrape_jobs', 'public.events', 'public.event_sources'] loop
      if exists (select from scrapeguard.created_base_objects where object_kind = 'table' and object_name = t) then
        execute format('drop table if exists %s', t);
      end if;
    end loop;
    if exists (select from scrapeguard.created_base_objects
                where object_kind = 'function' and object_name = 'public.update_updated_at_column()') then
      drop function if exists public.update_updated_at_column();
    end if;
  end if;
end
$down$;

drop table if exists scrapeguard.created_base_objects;
drop schema if exists scrapeguard;
