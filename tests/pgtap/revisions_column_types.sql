-- The revision triggers on columns a live project's events table may have beyond the
-- minimal base schema's: types of extensions installed in Supabase's extensions schema (whose "="
-- is not in pg_catalog), xml (no "=" at all), arrays of jsonb/json whose elements
-- are JSON arrays, a type with a cast to json (hstore), point. Each must be compared
-- without failing and rebuilt exactly by the as-of reads.
begin;
set local search_path = public, extensions;
select plan(17);

create extension if not exists hstore schema extensions;
create extension if not exists ltree schema extensions;

create domain pg_temp.int_list as int[];
alter table public.events
  add column lists pg_temp.int_list[],
  add column props extensions.hstore,
  add column path extensions.ltree,
  add column paths extensions.ltree[],
  add column feed xml,
  add column feeds xml[],
  add column extras jsonb[],
  add column notes json[],
  add column spot point;
select ok(scrapeguard.refresh_event_revision_trigger(),
  'the refresh accepts columns of extension types, xml, point and arrays of json/jsonb');

select results_eq(
  $$select column_name, compare_as_text, recorded_as_text from scrapeguard.event_revision_columns()
     where column_name in ('props', 'path', 'paths', 'feed', 'feeds', 'extras', 'notes', 'spot', 'price_range', 'tags')
     order by column_name$$,
  $$values ('extras', false, true), ('feed', true, false), ('feeds', true, false), ('notes', true, true),
           ('path', true, false), ('paths', false, false), ('price_range', false, false), ('props', true, true),
           ('spot', true, false), ('tags', false, false)$$,
  'compared as text where "=" is not in pg_catalog or missing; recorded as text where to_jsonb does not read back');

-- The states the event goes through, to compare the as-of reads with.
create temp table states (at timestamptz primary key, image text not null) on commit drop;
create function pg_temp.image_of(e public.events) returns text language sql as $$
  select row(e.title, e.props, e.path, e.paths, e.feed, e.feeds, e.extras, e.notes, e.spot)::text
$$;
create function pg_temp.image(p_id uuid) returns text language sql as $$
  select pg_temp.image_of(e) from public.events e where e.id = p_id
$$;
create function pg_temp.image_as_of(p_id uuid, p_at timestamptz) returns text language sql as $$
  select pg_temp.image_of(e) from public.event_as_of(p_id, p_at) e
$$;

set local scrapeguard.now = '2026-03-01 10:00+00';
insert into public.events (id, title, start_time, props, path, paths, feed, feeds, extras, notes, spot)
values ('00000000-0000-4000-8000-00000000c0e1', 'Typed', '2026-04-01', 'a=>1, b=>NULL', 'top.music', '{a.b,c}',
        '<feed><item>1</item></feed>', array['<a/>'::xml, '<b x="1"/>'],
        array['[1, 2]'::jsonb, '{"k": [3]}', 'null', '"s"'], array['[1,2]'::json, '{ "spaced" : true }'], point(1.5, -2));
insert into states values ('2026-03-01 10:00+00', pg_temp.image('00000000-0000-4000-8000-00000000c0e1'));

set local scrapeguard.now = '2026-03-01 11:00+00';
update public.events set props = 'a=>2', path = 'top.film', extras = array['[[1], [2]]'::jsonb], feeds = array['<c/>'::xml]
 where id = '00000000-0000-4000-8000-00000000c0e1';
insert into states values ('2026-03-01 11:00+00', pg_temp.image('00000000-0000-4000-8000-00000000c0e1'));
select results_eq(
  $$select field_name, old_value, new_value from public.event_revisions
     where event_id = '00000000-0000-4000-8000-00000000c0e1' and revision = 2 order by field_name$$,
  $$values ('extras', to_jsonb('{"[1, 2]","{\"k\": [3]}","null","\"s\""}'::text), to_jsonb('{"[[1], [2]]"}'::text)),
           ('feeds', '["<a/>", "<b x=\"1\"/>"]'::jsonb, '["<c/>"]'::jsonb),
           ('path', '"top.music"'::jsonb, '"top.film"'::jsonb),
           ('props', to_jsonb('"a"=>"1", "b"=>NULL'::text), to_jsonb('"a"=>"2"'::text))$$,
  'changes of each type are one row per field; hstore and jsonb[] as their text form');

set local scrapeguard.now = '2026-03-01 12:00+00';
select lives_ok(
  $$update public.events set last_scraped_at = '2026-03-01 12:00+00', scrape_hash = 'h2'
     where id = '00000000-0000-4000-8000-00000000c0e1'$$,
  'a noise-only update of an event holding an xml[] value works (the WHEN clause compares it as text)');
select lives_ok(
  $$update public.events set feeds = feeds, props = props, extras = extras, spot = spot
     where id = '00000000-0000-4000-8000-00000000c0e1'$$,
  'so does a no-op update of those columns');
select is((select max(revision) from public.event_revisions where event_id = '00000000-0000-4000-8000-00000000c0e1'), 2,
  'and neither writes a revision');

set local scrapeguard.now = '2026-03-01 13:00+00';
update public.events set paths = '{x.y.z}', notes = array['[]'::json], spot = point(0, 0), feed = null
 where id = '00000000-0000-4000-8000-00000000c0e1';
insert into states values ('2026-03-01 13:00+00', pg_temp.image('00000000-0000-4000-8000-00000000c0e1'));
select is((select count(*)::int from public.event_revisions
            where event_id = '00000000-0000-4000-8000-00000000c0e1' and revision = 3), 4,
  'the second change: four fields');

-- Every state, read back exactly (row text: xml, json spacing and all).
select is(pg_temp.image_as_of('00000000-0000-4000-8000-00000000c0e1', s.at), s.image,
          format('event_as_of rebuilds the state of %s exactly', s.at))
  from states s order by s.at;
select is(
  (select pg_temp.image_of(e) from public.events_as_of('2026-03-01 11:30+00') e
    where e.id = '00000000-0000-4000-8000-00000000c0e1'),
  (select image from states where at = '2026-03-01 11:00+00'),
  'events_as_of too');
select is(pg_temp.image_as_of('00000000-0000-4000-8000-00000000c0e1', '2026-03-01 10:30+00'),
  (select image from states where at = '2026-03-01 10:00+00'),
  'between revisions, the earlier state');

set local scrapeguard.now = '2026-03-01 14:00+00';
delete from public.events where id = '00000000-0000-4000-8000-00000000c0e1';
select is(
  (select new_value is null and old_value ->> 'props' = '"a"=>"2"' and old_value ->> 'extras' = '{"[[1], [2]]"}'
     from public.event_revisions where event_id = '00000000-0000-4000-8000-00000000c0e1' and operation = 'delete'),
  true, 'the delete keeps the last state, text-form columns as text');
select is(pg_temp.image_as_of('00000000-0000-4000-8000-00000000c0e1', '2026-03-01 13:30+00'),
  (select image from states where at = '2026-03-01 13:00+00'),
  'and the state before the delete still reads back');

-- An array of arrays (an array of a domain over an array type; the column was added
-- at the top: the reads keep the row shape of events for the rest of a transaction).
select is((select recorded_as_text from scrapeguard.event_revision_columns() where column_name = 'lists'), true,
  'an array of a domain over an array is recorded as text');
insert into public.events (id, title, start_time, lists)
values ('00000000-0000-4000-8000-00000000c0e3', 'Lists', '2026-04-03', array['{1,2}'::pg_temp.int_list, '{3}'::pg_temp.int_list]);
select is((select (public.event_as_of('00000000-0000-4000-8000-00000000c0e3', clock_timestamp())).lists::text),
  '{"{1,2}","{3}"}', 'and reads back as it was');

-- The same values written by TRUNCATE (a statement trigger with its own image of the row).
insert into public.events (id, title, start_time, props, extras)
values ('00000000-0000-4000-8000-00000000c0e2', 'Truncated', '2026-04-02', 'k=>v', array['[7]'::jsonb]);
truncate public.events cascade;
select is(
  (select old_value ->> 'props' || ' ' || (old_value ->> 'extras') from public.event_revisions
    where event_id = '00000000-0000-4000-8000-00000000c0e2' and operation = 'delete'),
  '"k"=>"v" {[7]}', 'a truncate records text-form columns as text too');

select * from finish();
rollback;
