-- Restores ingest_events as of 000016.
CREATE OR REPLACE FUNCTION public.ingest_events(run_id uuid, events jsonb, complete boolean DEFAULT false, actor text DEFAULT NULL::text)
 RETURNS jsonb
 LANGUAGE plpgsql
 SET search_path TO ''
 SET enable_memoize TO 'off'
AS $function$
declare
  p_run_id alias for $1;
  p_items alias for $2;
  p_complete alias for $3;
  p_actor alias for $4;
  v_run record;
  v_now timestamptz;
  v_n integer;
  v_prev_run text;
  v_prev_actor text;
  -- Catalog
  v_allowed text[];     -- the names an item may use: "key" and the writable columns
  v_key_column boolean; -- events has a column named "key" (then the isolating path)
  v_alias text;         -- column aliases of the zipped rows
  v_pred text;          -- a tracked column the item names differs
  v_ecols text;         -- the event's columns the comparison reads
  v_compare_text text[];
  v_noise text[];
  -- Per item (1-based)
  v_keys text[];
  v_event_ids uuid[];
  v_bad integer;
  v_distinct integer;
  v_new integer[];      -- items whose key is unknown
  v_known integer[];    -- items whose key is known
  v_stale integer;      -- items whose key names a deleted event
  v_todo integer[];     -- items to update (they differ, or their key was claimed meanwhile)
  v_whole boolean;
  v_updated integer[];
  -- Groups
  g record;
  v_col_list text[];
  v_set text;
  v_gpred text;
  v_done_idx integer[];
  v_done_ids uuid[];
  v_lost integer[];
  v_ids uuid[];
  v_i integer;
  v_state_code text;
  c_created integer := 0;
  c_updated integer := 0;
  v_missing text[];
  v_result jsonb;
begin
  if p_run_id is null or p_items is null then
    raise exception 'ingest_events: run_id and events must not be null' using errcode = '22004';
  end if;
  if pg_catalog.jsonb_typeof(p_items) <> 'array' then
    raise exception 'ingest_events: events must be a JSON array of objects' using errcode = '22023';
  end if;
  v_n := pg_catalog.jsonb_array_length(p_items);
  if v_n > 10000 then
    raise exception 'ingest_events: at most 10000 events per call (got %)', v_n using errcode = '22023';
  end if;
  if p_complete is null then
    raise exception 'ingest_events: complete must not be null' using errcode = '22004';
  end if;
  if p_actor is not null and (pg_catalog.btrim(p_actor) = '' or pg_catalog.char_length(p_actor) > 200) then
    raise exception 'ingest_events: actor must be 1 to 200 characters and not blank (or null)' using errcode = '22023';
  end if;
  select r.source_id, r.status, r.started_at into v_run from public.scraping_runs r where r.id = p_run_id;
  if not found then
    raise exception 'ingest_events: unknown run %', p_run_id using errcode = 'SG002',
      hint = 'Pass the id returned by start_run().';
  end if;
  if v_run.status <> 'running' then
    raise exception 'ingest_events: run % is already finished (status %)', p_run_id, v_run.status
      using errcode = 'SG003', hint = 'Ingest while the run is running (before finish_run).';
  end if;
  if v_n = 0 then
    return scrapeguard.ingest_events_isolating(p_run_id, p_items, p_complete, p_actor);
  end if;
  v_now := scrapeguard.clock();

  -- The catalog, as the isolating path reads it. Whether a type has an equality is asked
  -- of type_has_equality() (a dynamic statement in a subtransaction) only for types
  -- that have no "=" of their own in pg_catalog (or through one binary-coercible cast,
  -- like varchar): the built-in types answer from pg_operator.
  with cols as (
    select a.attnum, a.attname::text as name,
           a.attname <> 'id' and a.attgenerated = '' and a.attidentity <> 'a' as writable,
           exists (select from scrapeguard.revision_noise_columns n where n.column_name = a.attname::text) as noise,
           not (case
                  when exists (select from pg_catalog.pg_operator o
                                where o.oprname = '=' and o.oprnamespace = 'pg_catalog'::pg_catalog.regnamespace
                                  and o.oprleft = a.atttypid and o.oprright = a.atttypid)
                  then true
                  when (select pg_catalog.count(*) from pg_catalog.pg_cast k
                         where k.castsource = a.atttypid and k.castmethod = 'b' and k.castcontext = 'i'
                           and exists (select from pg_catalog.pg_operator o
                                        where o.oprname = '=' and o.oprnamespace = 'pg_catalog'::pg_catalog.regnamespace
                                          and o.oprleft = k.casttarget and o.oprright = k.casttarget)) = 1
                       and (select t.typtype from pg_catalog.pg_type t where t.oid = a.atttypid) = 'b'
                  then true
                  else scrapeguard.type_has_equality(a.atttypid)
                end) as as_text
      from pg_catalog.pg_attribute a
     where a.attrelid = 'public.events'::pg_catalog.regclass and a.attnum > 0 and not a.attisdropped
  )
  select array['key'] || coalesce(pg_catalog.array_agg(c.name order by c.attnum) filter (where c.writable), '{}'),
         coalesce(bool_or(c.name = 'key'), false),
         pg_catalog.string_agg(pg_catalog.quote_ident(c.name), ', ' order by c.attnum),
         coalesce(pg_catalog.string_agg(
           pg_catalog.format(case when c.as_text
                                  then '(pg_catalog.jsonb_exists(z."scrapeguard.item", %1$L) and z.%2$I::text is distinct from e.%2$I::text)'
                                  else '(pg_catalog.jsonb_exists(z."scrapeguard.item", %1$L) and z.%2$I is distinct from e.%2$I)' end,
                             c.name, c.name),
           ' or ' order by c.attnum) filter (where c.writable and not c.noise), 'false'),
         coalesce(pg_catalog.string_agg(', e.' || pg_catalog.quote_ident(c.name), '' order by c.attnum)
                    filter (where c.writable and not c.noise), ''),
         coalesce(pg_catalog.array_agg(c.name) filter (where c.as_text), '{}'),
         coalesce(pg_catalog.array_agg(c.name) filter (where c.noise), '{}')
    into v_allowed, v_key_column, v_alias, v_pred, v_ecols, v_compare_text, v_noise
    from cols c;
  if v_key_column then
    -- The item's "key" would also fill that column: the isolating path strips it.
    return scrapeguard.ingest_events_isolating(p_run_id, p_items, p_complete, p_actor);
  end if;

  -- a. Shape, in one pass. Anything wrong goes to the isolating path, which reports it.
  select pg_catalog.count(*) filter (where not (
           pg_catalog.jsonb_typeof(e.item) = 'object'
           and pg_catalog.jsonb_typeof(e.item -> 'key') = 'string'
           and pg_catalog.octet_length(e.item ->> 'key') between 1 and 2000
           and case when pg_catalog.jsonb_typeof(e.item) = 'object'
                    then (e.item operator(pg_catalog.-) v_allowed) = '{}'::jsonb end)),
         pg_catalog.count(distinct e.item ->> 'key'),
         pg_catalog.array_agg(e.item ->> 'key' order by e.ord)
    into v_bad, v_distinct, v_keys
    from pg_catalog.jsonb_array_elements(p_items) with ordinality as e (item, ord);
  if v_bad > 0 or v_distinct <> v_n then
    raise debug 'ingest_events: the batch goes item by item (a badly shaped item or a repeated key)';
    return scrapeguard.ingest_events_isolating(p_run_id, p_items, p_complete, p_actor);
  end if;

  v_prev_run := pg_catalog.current_setting('scrapeguard.run_id', true);
  v_prev_actor := pg_catalog.current_setting('scrapeguard.actor', true);
  begin
    perform pg_catalog.set_config('scrapeguard.run_id', p_run_id::text, true);
    if p_actor is not null then
      perform pg_catalog.set_config('scrapeguard.actor', p_actor, true);
    end if;

    -- b. Every item at once: its row, its key's event, and whether it differs. (LATERAL
    -- with LIMIT: one primary-key probe per item, whatever the statistics say.)
    execute pg_catalog.format($sql$
      select pg_catalog.array_agg(m.event_id order by z."scrapeguard.ord"),
             pg_catalog.array_agg(z."scrapeguard.ord"::integer order by z."scrapeguard.ord") filter (where m.event_id is null),
             pg_catalog.array_agg(z."scrapeguard.ord"::integer order by z."scrapeguard.ord") filter (where m.event_id is not null),
             pg_catalog.count(*) filter (where m.event_id is not null and e.id is null),
             pg_catalog.array_agg(z."scrapeguard.ord"::integer order by z."scrapeguard.ord")
               filter (where e.id is not null and (%1$s))
        from rows from (pg_catalog.jsonb_array_elements($1), pg_catalog.jsonb_populate_recordset(null::public.events, $1))
               with ordinality as z ("scrapeguard.item", %2$s, "scrapeguard.ord")
        left join lateral (select m.event_id from public.event_source_keys m
                            where m.source_id = $2 and m.key = z."scrapeguard.item" ->> 'key' limit 1) m on true
        left join lateral (select e.id%3$s from public.events e where e.id = m.event_id limit 1) e on true
    $sql$, v_pred, v_alias, v_ecols)
      into v_event_ids, v_new, v_known, v_stale, v_todo
      using p_items, v_run.source_id;
    if v_stale > 0 then
      -- A key whose event the app deleted: the isolating path replaces its row.
      raise exception using errcode = 'SGI01';
    end if;

    -- c. New keys, one INSERT per group of items naming the same columns: the key is
    -- claimed (in key order; ON CONFLICT waits for a concurrent claim to commit) and the
    -- claimed keys' events inserted by the same statement.
    for g in
      select s.cols, pg_catalog.array_agg(s.i order by v_keys[s.i]) as idx
        from (select u.i, (select pg_catalog.string_agg(k, ',') from pg_catalog.jsonb_object_keys(p_items -> (u.i - 1)) as k
                            where k <> 'key') as cols
                from pg_catalog.unnest(v_new) as u (i)) s
       group by s.cols
    loop
      v_col_list := case when g.cols is null then '{}'::text[] else pg_catalog.string_to_array(g.cols, ',') end;
      -- A group of the whole batch (all new, same columns: a first scrape) takes the
      -- batch as it came (the claim sorts the keys itself): no copy of the items.
      v_whole := pg_catalog.cardinality(g.idx) = v_n;
      if v_whole then
        g.idx := array(select pg_catalog.generate_series(1, v_n));
      end if;
      execute pg_catalog.format($sql$
        with claimed as (
          insert into public.event_source_keys as m (source_id, key, event_id, first_seen_at, last_seen_at)
          select $1, k.key, pg_catalog.gen_random_uuid(), $2, $2
            from pg_catalog.unnest($3::text[]) as k (key)
           order by k.key
          on conflict (source_id, key) do nothing
          returning m.key, m.event_id
        ),
        inserted as (
          insert into public.events (id%1$s)
          select c.event_id%2$s
            from rows from (pg_catalog.jsonb_array_elements($4), pg_catalog.jsonb_populate_recordset(null::public.events, $4))
                   as z ("scrapeguard.item", %3$s)
            join claimed c on c.key = z."scrapeguard.item" ->> 'key'
          returning 1
        )
        -- (A data-modifying WITH query always runs to completion, read or not.)
        select pg_catalog.array_agg(k.ord::integer), pg_catalog.array_agg(c.event_id)
          from claimed c
          join pg_catalog.unnest($3::text[]) with ordinality as k (key, ord) on k.key = c.key
      $sql$,
        (select coalesce(pg_catalog.string_agg(', ' || pg_catalog.quote_ident(x), '' order by o), '')
           from pg_catalog.unnest(v_col_list) with ordinality as u (x, o)),
        (select coalesce(pg_catalog.string_agg(', z.' || pg_catalog.quote_ident(x), '' order by o), '')
           from pg_catalog.unnest(v_col_list) with ordinality as u (x, o)),
        v_alias)
        into v_done_idx, v_done_ids
        using v_run.source_id, v_now,
              case when v_whole then v_keys else array(select v_keys[i] from pg_catalog.unnest(g.idx) as i) end,
              case when v_whole then p_items
                   else pg_catalog.to_jsonb(array(select p_items -> (i - 1) from pg_catalog.unnest(g.idx) as i)) end;
      for v_i in 1 .. coalesce(pg_catalog.cardinality(v_done_idx), 0) loop
        v_event_ids[g.idx[v_done_idx[v_i]]] := v_done_ids[v_i];
      end loop;
      c_created := c_created + coalesce(pg_catalog.cardinality(v_done_idx), 0);
    end loop;

    -- Keys claimed by a concurrent ingest between the lookup and the claim: their events
    -- exist now; the update step compares them.
    if v_new is not null then
      select pg_catalog.array_agg(u.i), pg_catalog.array_agg(m.event_id)
        into v_lost, v_ids
        from pg_catalog.unnest(v_new) as u (i)
        cross join lateral (select m.event_id from public.event_source_keys m
                             where m.source_id = v_run.source_id and m.key = v_keys[u.i] limit 1) m
       where v_event_ids[u.i] is null;
      for v_i in 1 .. coalesce(pg_catalog.cardinality(v_lost), 0) loop
        v_event_ids[v_lost[v_i]] := v_ids[v_i];
      end loop;
      v_todo := coalesce(v_todo, '{}') || coalesce(v_lost, '{}');
    end if;

    -- d. Items that differ, one UPDATE per group of columns: the rows locked first in id
    -- order (concurrent batches wait instead of deadlocking); the UPDATE compares again, so
    -- a row changed meanwhile is compared as it is now.
    for g in
      select s.cols, pg_catalog.array_agg(s.i order by v_event_ids[s.i]) as idx
        from (select u.i, (select pg_catalog.string_agg(k, ',') from pg_catalog.jsonb_object_keys(p_items -> (u.i - 1)) as k
                            where k <> 'key') as cols
                from pg_catalog.unnest(v_todo) as u (i)) s
       group by s.cols
    loop
      v_col_list := case when g.cols is null then '{}'::text[] else pg_catalog.string_to_array(g.cols, ',') end;
      select coalesce(pg_catalog.string_agg(
               case when x = any (v_compare_text)
                    then pg_catalog.format('e.%1$I::text is distinct from r.%1$I::text', x)
                    else pg_catalog.format('e.%1$I is distinct from r.%1$I', x) end,
               ' or ' order by o) filter (where not x = any (v_noise)), 'false'),
             coalesce(pg_catalog.string_agg(pg_catalog.format('%1$I = r.%1$I', x), ', ' order by o), '')
        into v_gpred, v_set
        from pg_catalog.unnest(v_col_list) with ordinality as u (x, o);
      if v_gpred = 'false' then
        continue;  -- nothing but noise columns: never a change
      end if;
      execute pg_catalog.format($sql$
        with locked as (
          select e.id from public.events e
           where e.id = any ($2)
           order by e.id for no key update
        ),
        changed as (
          update public.events e
             set %2$s
            from rows from (pg_catalog.jsonb_populate_recordset(null::public.events, $1)) with ordinality as r
           where e.id = r.id
             and (select pg_catalog.count(*) from locked) >= 0
             and (%1$s)
          returning r.ordinality::integer as ord
        )
        select pg_catalog.array_agg(c.ord) from changed c
      $sql$, v_gpred, v_set)
        into v_done_idx
        using pg_catalog.to_jsonb(array(select (p_items -> (i - 1)) || pg_catalog.jsonb_build_object('id', v_event_ids[i])
                                          from pg_catalog.unnest(g.idx) as i)),
              array(select v_event_ids[i] from pg_catalog.unnest(g.idx) as i);
      v_updated := coalesce(v_updated, '{}') || array(select g.idx[d] from pg_catalog.unnest(v_done_idx) as d);
    end loop;
    c_updated := coalesce(pg_catalog.cardinality(v_updated), 0);

    -- e. The keys this call saw, once per run: known keys (created ones carry it already).
    update public.event_source_keys m
       set last_seen_at = greatest(v_now, m.first_seen_at)
     where m.source_id = v_run.source_id
       and m.key = any (array(select v_keys[i] from pg_catalog.unnest(coalesce(v_known, '{}') || coalesce(v_lost, '{}')) as i))
       and m.last_seen_at < v_run.started_at;
  exception when others then
    get stacked diagnostics v_state_code = returned_sqlstate;
    if v_state_code = 'SGI01' or scrapeguard.ingest_item_error(v_state_code) then
      -- Rolled back to the start of the block (settings included): item by item.
      raise debug 'ingest_events: the batch goes item by item (%)', v_state_code;
      return scrapeguard.ingest_events_isolating(p_run_id, p_items, p_complete, p_actor);
    end if;
    raise;
  end;

  -- Counted into the run in one statement, last (its row lock is held to the commit):
  -- concurrent batches of one run add up. A run finished meanwhile takes nothing more.
  update public.scraping_runs r
     set events_found = r.events_found + v_n,
         events_created = r.events_created + c_created,
         events_updated = r.events_updated + c_updated,
         events_skipped = r.events_skipped + (v_n - c_created - c_updated)
   where r.id = p_run_id and r.status = 'running';
  if not found then
    raise exception 'ingest_events: run % was finished during the call', p_run_id using errcode = 'SG003';
  end if;

  if p_complete then
    select coalesce(pg_catalog.array_agg(m.key order by m.key), '{}') into v_missing
      from public.event_source_keys m
     where m.source_id = v_run.source_id and m.last_seen_at < v_run.started_at;
  end if;

  perform pg_catalog.set_config('scrapeguard.run_id', coalesce(v_prev_run, ''), true);
  perform pg_catalog.set_config('scrapeguard.actor', coalesce(v_prev_actor, ''), true);

  v_result := pg_catalog.jsonb_build_object(
    'created', c_created,
    'updated', c_updated,
    'unchanged', v_n - c_created - c_updated,
    'failed', 0,
    'errors', '[]'::jsonb,
    'event_ids', pg_catalog.to_jsonb(v_event_ids));
  if p_complete then
    v_result := v_result || pg_catalog.jsonb_build_object('missing_keys', pg_catalog.to_jsonb(v_missing));
  end if;
  return v_result;
end
$function$;
comment on function public.ingest_events(uuid,jsonb,boolean,text) is
  'Upserts scraped events by the source''s own key ([{"key": …, <events columns>…}], at most 10000): inserts unknown keys, updates only real differences of known ones, attributed to the run (actor: the given one, else the caller''s), counted into it. A bad item is reported in errors[] (index, key, sqlstate, message) and writes nothing. Returns {created, updated, unchanged, failed, errors, event_ids} and, with complete => true, missing_keys: the source''s keys not seen since the run started. SG002 unknown run, SG003 finished run.';
grant execute on function public.ingest_events(uuid,jsonb,boolean,text) to service_role;
