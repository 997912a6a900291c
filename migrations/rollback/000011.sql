-- Down script of the migration in migrations/current.sql: ingest_events and
-- current_change_run_id() as they were (schema/ before this migration), without the
-- item-isolating function (its body is ingest_events' again) and without header_run_id(),
-- and the revision triggers regenerated with the previous run rule (before header_run_id()
-- is dropped: the current triggers call it).

CREATE OR REPLACE FUNCTION public.ingest_events(run_id uuid, events jsonb, complete boolean DEFAULT false, actor text DEFAULT NULL::text)
 RETURNS jsonb
 LANGUAGE plpgsql
 SET search_path TO ''
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
  -- Per item (1-based like the arrays; reported 0-based as "index").
  v_keys text[];
  v_bodies jsonb[];
  v_cols text[];        -- the item's column list, sorted and joined (its group)
  v_event_ids uuid[];
  v_state text[];       -- null: to do; created, updated, unchanged, failed
  v_errors jsonb := '[]';
  -- Catalog
  v_writable text[];
  v_all_cols text[];
  v_compare_text text[];
  v_noise text[];
  -- Groups
  g record;
  v_idx integer[];
  v_ids uuid[];
  v_gkeys text[];
  v_gbodies jsonb[];
  v_col_list text[];
  v_insert_sql text;
  v_update_sql text;
  v_changed_sql text;
  v_pred text;
  v_set text;
  v_stack integer[];
  v_lo integer;
  v_hi integer;
  v_mid integer;
  v_done_idx integer[];
  v_done_ids uuid[];
  v_lost integer[];
  v_stale uuid[];
  v_stale_idx integer[];
  v_stale_ids uuid[];
  v_state_code text;
  v_message text;
  v_i integer;
  c_created integer := 0;
  c_updated integer := 0;
  c_unchanged integer := 0;
  c_failed integer := 0;
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
  v_now := scrapeguard.clock();

  -- The columns an item may set: every column of events but id (the key names the
  -- event), generated columns and identities that are always generated. Noise columns
  -- are written along with a real change, never on their own.
  select coalesce(pg_catalog.array_agg(a.attname::text order by a.attnum)
                    filter (where a.attname <> 'id' and a.attgenerated = '' and a.attidentity <> 'a'), '{}'),
         coalesce(pg_catalog.array_agg(a.attname::text order by a.attnum)
                    filter (where not scrapeguard.type_has_equality(a.atttypid)), '{}'),
         coalesce(pg_catalog.array_agg(a.attname::text order by a.attnum)
                    filter (where exists (select from scrapeguard.revision_noise_columns n
                                           where n.column_name = a.attname::text)), '{}'),
         pg_catalog.array_agg(a.attname::text)
    into v_writable, v_compare_text, v_noise, v_all_cols
    from pg_catalog.pg_attribute a
   where a.attrelid = 'public.events'::pg_catalog.regclass and a.attnum > 0 and not a.attisdropped;

  -- Shape of every item, in one pass: the first problem of each, or its key, body and
  -- group. A key repeated in the batch: its later items are refused (21000, what one
  -- statement affecting a row twice raises).
  with items as (
    select e.ord::integer as ord, e.item,
           case when pg_catalog.jsonb_typeof(e.item) = 'object' and pg_catalog.jsonb_typeof(e.item -> 'key') = 'string'
                then e.item ->> 'key' end as key
      from pg_catalog.jsonb_array_elements(p_items) with ordinality as e (item, ord)
  ),
  checked as (
    select i.ord, i.item, i.key,
           case
             when pg_catalog.jsonb_typeof(i.item) <> 'object' then '22023'
             when i.key is null or i.key = '' or pg_catalog.octet_length(i.key) > 2000 then '22023'
             when u.unknown is not null then '42703'
             when u.refused is not null then '428C9'
             when pg_catalog.row_number() over (partition by i.key order by i.ord) > 1 then '21000'
           end as code,
           case
             when pg_catalog.jsonb_typeof(i.item) <> 'object' then 'ingest_events: the item is not a JSON object'
             when i.key is null or i.key = '' or pg_catalog.octet_length(i.key) > 2000 then
               'ingest_events: "key" must be a non-empty string of at most 2000 bytes'
             when u.unknown is not null then
               pg_catalog.format('ingest_events: public.events has no column %s', u.unknown)
             when u.refused is not null then
               pg_catalog.format('ingest_events: column %s cannot be written (id is assigned by ingest_events; generated columns and identities are computed)', u.refused)
             when pg_catalog.row_number() over (partition by i.key order by i.ord) > 1 then
               'ingest_events: the key appears earlier in the same batch'
           end as message,
           u.cols
      from items i
      left join lateral (
        select pg_catalog.string_agg(pg_catalog.quote_ident(k.k), ', ' order by k.k)
                 filter (where k.k not in ('id', 'key') and not k.k = any (v_all_cols)) as unknown,
               pg_catalog.string_agg(pg_catalog.quote_ident(k.k), ', ' order by k.k)
                 filter (where k.k = 'id' or (k.k <> 'key' and not k.k = any (v_writable) and k.k = any (v_all_cols))) as refused,
               pg_catalog.string_agg(k.k, ',' order by k.k) filter (where k.k <> 'key') as cols
          from pg_catalog.jsonb_object_keys(case when pg_catalog.jsonb_typeof(i.item) = 'object' then i.item else '{}' end) as k (k)
      ) u on true
  )
  select pg_catalog.array_agg(c.key order by c.ord),
         pg_catalog.array_agg(case when c.code is null then c.item - 'key' end order by c.ord),
         pg_catalog.array_agg(case when c.code is null then coalesce(c.cols, '') end order by c.ord),
         pg_catalog.array_agg(case when c.code is not null then 'failed' end order by c.ord),
         coalesce(pg_catalog.jsonb_agg(pg_catalog.jsonb_build_object(
                    'index', c.ord - 1, 'key', c.key, 'sqlstate', c.code, 'message', c.message) order by c.ord)
                    filter (where c.code is not null), '[]')
    into v_keys, v_bodies, v_cols, v_state, v_errors
    from checked c;
  v_event_ids := pg_catalog.array_fill(null::uuid, array[v_n]);
  if v_n = 0 then
    v_keys := '{}'; v_bodies := '{}'; v_cols := '{}'; v_state := '{}'; v_event_ids := '{}';
  end if;

  -- Attribution for everything written below; the caller's context is given back at
  -- the end (the settings are transaction-local, and a pg caller may go on).
  v_prev_run := pg_catalog.current_setting('scrapeguard.run_id', true);
  v_prev_actor := pg_catalog.current_setting('scrapeguard.actor', true);
  perform pg_catalog.set_config('scrapeguard.run_id', p_run_id::text, true);
  if p_actor is not null then
    perform pg_catalog.set_config('scrapeguard.actor', p_actor, true);
  end if;

  -- Known keys: their events. A key whose event the app deleted is new again: its
  -- stale row is replaced in the same subtransaction as the new event. (A mapping row
  -- and its event are committed together, so one snapshot sees both or neither.)
  select pg_catalog.array_agg(t.ord::integer) filter (where e.id is not null),
         pg_catalog.array_agg(m.event_id) filter (where e.id is not null),
         pg_catalog.array_agg(t.ord::integer) filter (where e.id is null),
         pg_catalog.array_agg(m.event_id) filter (where e.id is null)
    into v_idx, v_ids, v_stale_idx, v_stale_ids
    from rows from (pg_catalog.unnest(v_keys), pg_catalog.unnest(v_state)) with ordinality as t (key, state, ord)
    -- LATERAL with LIMIT (which keeps the planner from flattening it into a join): one
    -- primary-key lookup per item, whatever the statistics say (a new source has none,
    -- and the join the other way round rescans the items once per key).
    cross join lateral (select m.event_id from public.event_source_keys m
                         where m.source_id = v_run.source_id and m.key = t.key limit 1) m
    left join lateral (select e.id from public.events e where e.id = m.event_id limit 1) e on true
   where t.state is null;
  for v_i in 1 .. coalesce(pg_catalog.cardinality(v_idx), 0) loop
    v_event_ids[v_idx[v_i]] := v_ids[v_i];
  end loop;
  v_stale := pg_catalog.array_fill(null::uuid, array[greatest(v_n, 1)]);
  for v_i in 1 .. coalesce(pg_catalog.cardinality(v_stale_idx), 0) loop
    v_stale[v_stale_idx[v_i]] := v_stale_ids[v_i];
  end loop;

  -- New keys, one INSERT per group. The key is claimed first (its mapping row, with a
  -- fresh event id, in key order so that concurrent batches wait for each other instead
  -- of deadlocking); a key another transaction claimed meanwhile (ON CONFLICT waits for
  -- it to commit) is left for the update pass below; the same statement inserts the
  -- events of the keys it claimed. Never ON CONFLICT DO UPDATE with a look at events:
  -- its subquery would read the statement's snapshot, older than the conflicting row,
  -- and take a key claimed a moment ago for a stale one.
  for g in
    select t.cols, pg_catalog.array_agg(t.ord::integer order by k.key) as idx
      from rows from (pg_catalog.unnest(v_cols), pg_catalog.unnest(v_state), pg_catalog.unnest(v_event_ids)) with ordinality as t (cols, state, event_id, ord)
      join pg_catalog.unnest(v_keys) with ordinality as k (key, ord2) on k.ord2 = t.ord
     where t.state is null and t.event_id is null
     group by t.cols
  loop
    v_col_list := case when g.cols = '' then '{}'::text[] else pg_catalog.string_to_array(g.cols, ',') end;
    v_insert_sql := pg_catalog.format($sql$
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
        select r.id%2$s
          from pg_catalog.jsonb_populate_recordset(null::public.events,
                 (select pg_catalog.jsonb_agg(k.body || pg_catalog.jsonb_build_object('id', c.event_id))
                    from claimed c
                    join rows from (pg_catalog.unnest($3::text[]), pg_catalog.unnest($4::jsonb[])) as k (key, body)
                      on k.key = c.key)) as r
        returning 1
      )
      -- (A data-modifying WITH query always runs to completion, read or not.)
      select pg_catalog.array_agg(k.ord::integer), pg_catalog.array_agg(c.event_id)
        from claimed c
        join pg_catalog.unnest($3::text[]) with ordinality as k (key, ord) on k.key = c.key
    $sql$,
      (select coalesce(pg_catalog.string_agg(', ' || pg_catalog.quote_ident(x), '' order by o), '')
         from pg_catalog.unnest(v_col_list) with ordinality as u (x, o)),
      (select coalesce(pg_catalog.string_agg(', r.' || pg_catalog.quote_ident(x), '' order by o), '')
         from pg_catalog.unnest(v_col_list) with ordinality as u (x, o)));
    v_stack := array[1, pg_catalog.cardinality(g.idx)];
    while pg_catalog.cardinality(v_stack) > 0 loop
      v_lo := v_stack[pg_catalog.cardinality(v_stack) - 1];
      v_hi := v_stack[pg_catalog.cardinality(v_stack)];
      v_stack := v_stack[1 : pg_catalog.cardinality(v_stack) - 2];
      begin
        -- Stale rows of keys whose event the app deleted (only if still stale: a
        -- concurrent ingest may have replaced one already).
        delete from public.event_source_keys m
         using pg_catalog.unnest(g.idx[v_lo : v_hi]) as i (i)
         where v_stale[i.i] is not null
           and m.source_id = v_run.source_id and m.key = v_keys[i.i] and m.event_id = v_stale[i.i];
        execute v_insert_sql into v_done_idx, v_done_ids
          using v_run.source_id, v_now,
                array(select v_keys[i] from pg_catalog.unnest(g.idx[v_lo : v_hi]) as i),
                array(select v_bodies[i] from pg_catalog.unnest(g.idx[v_lo : v_hi]) as i);
        for v_i in 1 .. coalesce(pg_catalog.cardinality(v_done_idx), 0) loop
          v_event_ids[g.idx[v_lo + v_done_idx[v_i] - 1]] := v_done_ids[v_i];
          v_state[g.idx[v_lo + v_done_idx[v_i] - 1]] := 'created';
        end loop;
      exception when others then
        get stacked diagnostics v_state_code = returned_sqlstate, v_message = message_text;
        if not scrapeguard.ingest_item_error(v_state_code) then
          raise;
        end if;
        if v_lo = v_hi then
          v_state[g.idx[v_lo]] := 'failed';
          v_errors := v_errors || pg_catalog.jsonb_build_object(
            'index', g.idx[v_lo] - 1, 'key', v_keys[g.idx[v_lo]], 'sqlstate', v_state_code, 'message', v_message);
        else
          v_mid := (v_lo + v_hi) / 2;
          v_stack := v_stack || array[v_mid + 1, v_hi, v_lo, v_mid];
        end if;
      end;
    end loop;
  end loop;

  -- Keys claimed by a concurrent ingest between our lookup and our claim: their events
  -- exist now (the claim waited for that transaction to commit); update them.
  select pg_catalog.array_agg(t.ord::integer), pg_catalog.array_agg(m.event_id)
    into v_lost, v_ids
    from rows from (pg_catalog.unnest(v_keys), pg_catalog.unnest(v_state), pg_catalog.unnest(v_event_ids)) with ordinality as t (key, state, event_id, ord)
    cross join lateral (select m.event_id from public.event_source_keys m
                         where m.source_id = v_run.source_id and m.key = t.key limit 1) m
   where t.state is null and t.event_id is null;
  for v_i in 1 .. coalesce(pg_catalog.cardinality(v_lost), 0) loop
    v_event_ids[v_lost[v_i]] := v_ids[v_i];
  end loop;

  -- Known keys, one UPDATE per group, of the events whose tracked columns differ. The
  -- rows to change are locked first in id order (concurrent batches wait instead of
  -- deadlocking); the UPDATE compares again, so a row changed meanwhile is compared as
  -- it is now. Columns whose type has no equality are compared as text, like the
  -- revision trigger does.
  for g in
    select t.cols, pg_catalog.array_agg(t.ord::integer order by t.event_id) as idx
      from rows from (pg_catalog.unnest(v_cols), pg_catalog.unnest(v_state), pg_catalog.unnest(v_event_ids)) with ordinality as t (cols, state, event_id, ord)
     where t.state is null and t.event_id is not null
     group by t.cols
  loop
    v_col_list := case when g.cols = '' then '{}'::text[] else pg_catalog.string_to_array(g.cols, ',') end;
    select coalesce(pg_catalog.string_agg(
             case when x = any (v_compare_text)
                  then pg_catalog.format('e.%1$I::text is distinct from r.%1$I::text', x)
                  else pg_catalog.format('e.%1$I is distinct from r.%1$I', x) end,
             ' or ' order by o) filter (where not x = any (v_noise)), 'false'),
           coalesce(pg_catalog.string_agg(pg_catalog.format('%1$I = r.%1$I', x), ', ' order by o), '')
      into v_pred, v_set
      from pg_catalog.unnest(v_col_list) with ordinality as u (x, o);
    if v_pred = 'false' then
      -- Nothing but noise columns (or no column at all): never a change.
      for v_i in 1 .. pg_catalog.cardinality(g.idx) loop
        v_state[g.idx[v_i]] := 'unchanged';
      end loop;
      continue;
    end if;
    v_changed_sql := pg_catalog.format($sql$
      select pg_catalog.array_agg(r.ordinality::integer order by e.id)
        from rows from (pg_catalog.jsonb_populate_recordset(null::public.events, $1)) with ordinality as r
        join public.events e on e.id = r.id
       where %1$s
    $sql$, v_pred);
    v_update_sql := pg_catalog.format($sql$
      with locked as (
        select e.id from public.events e
         where e.id in (select (x ->> 'id')::uuid from pg_catalog.jsonb_array_elements($1) as x)
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
    $sql$, v_pred, v_set);
    -- Which items differ: read only. (The event id rides in each item's JSON, so one
    -- jsonb_populate_recordset call converts the group and its rows join events by id.)
    begin
      execute v_changed_sql into v_done_idx
        using pg_catalog.to_jsonb(array(select v_bodies[i] || pg_catalog.jsonb_build_object('id', v_event_ids[i])
                                          from pg_catalog.unnest(g.idx) as i));
    exception when others then
      get stacked diagnostics v_state_code = returned_sqlstate;
      if not scrapeguard.ingest_item_error(v_state_code) then
        raise;
      end if;
      -- A value its column's type or domain refuses: find which items, one by one (no
      -- write), and compare the others.
      for v_i in 1 .. pg_catalog.cardinality(g.idx) loop
        begin
          execute 'select pg_catalog.jsonb_populate_record(null::public.events, $1) is null' using v_bodies[g.idx[v_i]];
        exception when others then
          get stacked diagnostics v_state_code = returned_sqlstate, v_message = message_text;
          if not scrapeguard.ingest_item_error(v_state_code) then
            raise;
          end if;
          v_state[g.idx[v_i]] := 'failed';
          v_errors := v_errors || pg_catalog.jsonb_build_object(
            'index', g.idx[v_i] - 1, 'key', v_keys[g.idx[v_i]], 'sqlstate', v_state_code, 'message', v_message);
        end;
      end loop;
      g.idx := array(select i from pg_catalog.unnest(g.idx) as i where v_state[i] is null);
      execute v_changed_sql into v_done_idx
        using pg_catalog.to_jsonb(array(select v_bodies[i] || pg_catalog.jsonb_build_object('id', v_event_ids[i])
                                          from pg_catalog.unnest(g.idx) as i));
    end;
    -- The others are unchanged: nothing written.
    for v_i in 1 .. coalesce(pg_catalog.cardinality(v_done_idx), 0) loop
      v_state[g.idx[v_done_idx[v_i]]] := 'changing';
    end loop;
    for v_i in 1 .. pg_catalog.cardinality(g.idx) loop
      if v_state[g.idx[v_i]] is null then
        v_state[g.idx[v_i]] := 'unchanged';
      end if;
    end loop;
    v_idx := array(select g.idx[i] from pg_catalog.unnest(v_done_idx) as i order by i);
    v_stack := case when pg_catalog.cardinality(v_idx) > 0 then array[1, pg_catalog.cardinality(v_idx)] else '{}' end;
    while pg_catalog.cardinality(v_stack) > 0 loop
      v_lo := v_stack[pg_catalog.cardinality(v_stack) - 1];
      v_hi := v_stack[pg_catalog.cardinality(v_stack)];
      v_stack := v_stack[1 : pg_catalog.cardinality(v_stack) - 2];
      begin
        execute v_update_sql into v_done_idx
          using pg_catalog.to_jsonb(array(select v_bodies[i] || pg_catalog.jsonb_build_object('id', v_event_ids[i])
                                            from pg_catalog.unnest(v_idx[v_lo : v_hi]) as i));
        -- Items the UPDATE did not change (equal by now, after a concurrent write): unchanged.
        for v_i in v_lo .. v_hi loop
          v_state[v_idx[v_i]] := 'unchanged';
        end loop;
        for v_i in 1 .. coalesce(pg_catalog.cardinality(v_done_idx), 0) loop
          v_state[v_idx[v_lo + v_done_idx[v_i] - 1]] := 'updated';
        end loop;
      exception when others then
        get stacked diagnostics v_state_code = returned_sqlstate, v_message = message_text;
        if not scrapeguard.ingest_item_error(v_state_code) then
          raise;
        end if;
        if v_lo = v_hi then
          v_state[v_idx[v_lo]] := 'failed';
          v_errors := v_errors || pg_catalog.jsonb_build_object(
            'index', v_idx[v_lo] - 1, 'key', v_keys[v_idx[v_lo]], 'sqlstate', v_state_code, 'message', v_message);
        else
          v_mid := (v_lo + v_hi) / 2;
          v_stack := v_stack || array[v_mid + 1, v_hi, v_lo, v_mid];
        end if;
      end;
    end loop;
  end loop;

  -- The keys this call saw, once per run: moves last_seen_at of the known keys that
  -- were updated or unchanged (created ones carry it already; failed ones wrote nothing).
  -- (key = any (array): one scan of the primary key for all of them.)
  update public.event_source_keys m
     set last_seen_at = greatest(v_now, m.first_seen_at)
   where m.source_id = v_run.source_id
     and m.key = any (array(select t.key from rows from (pg_catalog.unnest(v_keys), pg_catalog.unnest(v_state)) as t (key, state)
                             where t.state in ('updated', 'unchanged')))
     and m.last_seen_at < v_run.started_at;

  select pg_catalog.count(*) filter (where t.state = 'created'),
         pg_catalog.count(*) filter (where t.state = 'updated'),
         pg_catalog.count(*) filter (where t.state = 'unchanged'),
         pg_catalog.count(*) filter (where t.state = 'failed')
    into c_created, c_updated, c_unchanged, c_failed
    from pg_catalog.unnest(v_state) as t (state);
  -- Counted into the run in one statement, last (its row lock is held to the commit):
  -- concurrent batches of one run add up. A run finished meanwhile takes nothing more.
  update public.scraping_runs r
     set events_found = r.events_found + v_n,
         events_created = r.events_created + c_created,
         events_updated = r.events_updated + c_updated,
         events_skipped = r.events_skipped + c_unchanged,
         events_failed = r.events_failed + c_failed
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
    'unchanged', c_unchanged,
    'failed', c_failed,
    'errors', (select coalesce(pg_catalog.jsonb_agg(x order by (x ->> 'index')::integer), '[]')
                 from pg_catalog.jsonb_array_elements(v_errors) as x),
    'event_ids', pg_catalog.to_jsonb(v_event_ids));
  if p_complete then
    v_result := v_result || pg_catalog.jsonb_build_object('missing_keys', pg_catalog.to_jsonb(v_missing));
  end if;
  return v_result;
end
$function$;
comment on function public.ingest_events(uuid,jsonb,boolean,text) is
  'Upserts scraped events by the source''s own key ([{"key": …, <events columns>…}], at most 10000): inserts unknown keys, updates only real differences of known ones, attributed to the run (actor: the given one, else the caller''s), counted into it. A bad item is reported in errors[] (index, key, sqlstate, message) and writes nothing. Returns {created, updated, unchanged, failed, errors, event_ids} and, with complete => true, missing_keys: the source''s keys not seen since the run started. SG002 unknown run, SG003 finished run.';

drop function if exists scrapeguard.ingest_events_isolating(uuid, jsonb, boolean, text);

CREATE OR REPLACE FUNCTION scrapeguard.current_change_run_id()
 RETURNS uuid
 LANGUAGE sql
 STABLE
 SET search_path TO ''
AS $function$
  select coalesce(
    nullif(pg_catalog.current_setting('scrapeguard.run_id', true), '')::pg_catalog.uuid,
    (select r.id
       from public.scraping_runs r
      where r.id = (select pg_catalog.substring(
                             pg_catalog.substr(h.v, pg_catalog.strpos(h.v, '"x-scrapeguard-run-id"') + 22, 60),
                             '^ *: *"([0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12})"'
                           )::pg_catalog.uuid
                      from (select pg_catalog.current_setting('request.headers', true) as v) h
                     where pg_catalog.strpos(h.v, '"x-scrapeguard-run-id"') > 0)
        and r.status = 'running'
        and pg_catalog.current_setting('role') in ('service_role', 'none')))
$function$;
comment on function scrapeguard.current_change_run_id() is
  'The scraping run of the current change: set_change_context''s run for this transaction, else (requests as service_role) the running run named by the request header x-scrapeguard-run-id, else null. An unknown, malformed or finished run in the header is ignored.';

-- The revision triggers embed current_change_run_id()'s body: regenerate them.
select scrapeguard.refresh_event_revision_trigger();
drop function if exists scrapeguard.header_run_id();
