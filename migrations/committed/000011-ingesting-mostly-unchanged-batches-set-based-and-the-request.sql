--! Previous: sha1:5e0d029d6918d567df077e35a8c2a77cd1da8edd
--! Hash: sha1:aa62e4441105112b1998815f654035a21108c392
--! Message: Ingesting mostly unchanged batches set-based, and the request-header run read once per statement

-- Cheaper ingest and header attribution.
--
-- 1. public.ingest_events: a batch whose items are all well formed is done set-based,
--    in one subtransaction: one statement reads every item (JSON to rows once for the
--    whole batch), looks its key up and compares it with its event; only new keys and
--    items that differ are written, as before (claims in key order, locks in id order,
--    the UPDATE compares again). If anything in it fails on an item's data, that
--    subtransaction is rolled back and the batch is done again item-isolating by
--    scrapeguard.ingest_events_isolating() — the previous ingest_events, unchanged — which
--    reports each bad item with its SQLSTATE and writes the rest. Batches with a badly
--    shaped item (no key, unknown column…), a key repeated in the batch, or a key whose
--    event the app deleted go there directly. The catalog facts the statements are built
--    from are read without a dynamic statement per column.
-- 2. scrapeguard.current_change_run_id(): no subquery any more (the trigger statement that
--    embeds it no longer names scraping_runs, which it locked and set up at every write,
--    header or not); when the headers name x-scrapeguard-run-id and the role may use it,
--    scrapeguard.header_run_id() reads the id with plain string tests (the anchored
--    pattern with counted repetitions cost ≈ 50 µs a call) and looks the run up once per
--    statement (kept in scrapeguard.header_run, keyed by the id and the statement's start).
--
-- Every statement is idempotent: running this file twice leaves the same catalog.

-- ---------------------------------------------------------------------------------
-- 1. The run of a change
-- ---------------------------------------------------------------------------------

-- The header's run, when the headers name one: the id is read right after the header's
-- name ("x-scrapeguard-run-id", optional spaces, a colon, optional spaces, a quoted
-- 8-4-4-4-12 hex id) with LIKE, a one-class pattern and a length, so the cast to uuid
-- can never fail; a malformed id names no run. The run must exist and be running; the
-- answer is kept in the transaction-local setting scrapeguard.header_run as
-- "<id><+|-><statement start>", so the other rows of the same statement reuse it and the
-- next statement (a run finished meanwhile, another header) looks again. PL/pgSQL: its
-- lookup's plan is kept for the session (a SQL function called from a trigger is planned
-- again at every call). It never raises: the app's write must not fail over a header.
create or replace function scrapeguard.header_run_id() returns uuid
  language plpgsql
  volatile
  set search_path = ''
as $$
declare
  -- Types schema-qualified: the revision triggers (SECURITY DEFINER) call this, and an
  -- unqualified type name is looked up in the caller's temporary schema first.
  v_headers pg_catalog.text := pg_catalog.current_setting('request.headers', true);
  v_at pg_catalog.text := pg_catalog.statement_timestamp()::pg_catalog.text;
  v_cache pg_catalog.text := pg_catalog.current_setting('scrapeguard.header_run', true);
  v_rest pg_catalog.text;
  v_id pg_catalog.text;
  v_running boolean;
begin
  v_rest := pg_catalog.ltrim(pg_catalog.substr(v_headers, pg_catalog.strpos(v_headers, '"x-scrapeguard-run-id"') + 22, 64), ' ');
  if coalesce(pg_catalog.strpos(v_headers, '"x-scrapeguard-run-id"'), 0) = 0
     or pg_catalog.left(v_rest, 1) is distinct from ':' then
    return null;
  end if;
  v_rest := pg_catalog.ltrim(pg_catalog.substr(v_rest, 2), ' ');
  v_id := pg_catalog.substr(v_rest, 2, 36);
  if not coalesce(v_rest like '"________-____-____-____-____________"%'
                  and v_id operator(pg_catalog.~) '^[0-9A-Fa-f-]+$'
                  and pg_catalog.length(pg_catalog.replace(v_id, '-', '')) = 32, false) then
    return null;
  end if;
  if v_cache = v_id || '+' || v_at then
    return v_id::pg_catalog.uuid;
  end if;
  if v_cache = v_id || '-' || v_at then
    return null;
  end if;
  v_running := exists (select from public.scraping_runs r where r.id = v_id::pg_catalog.uuid and r.status = 'running');
  perform pg_catalog.set_config('scrapeguard.header_run', v_id || case when v_running then '+' else '-' end || v_at, true);
  return case when v_running then v_id::pg_catalog.uuid end;
end
$$;
comment on function scrapeguard.header_run_id() is
  'The running run named by the request header x-scrapeguard-run-id, else null (malformed, unknown or finished); looked up once per statement. Used by current_change_run_id(), which checks the role first.';
revoke all on function scrapeguard.header_run_id() from public, anon, authenticated;
grant execute on function scrapeguard.header_run_id() to service_role;

-- Still one SELECT of one expression (refresh_event_revision_trigger() embeds it in the
-- generated trigger code), now without a subquery: the statement of the trigger that
-- embeds it reads no table but event_revisions. A subquery of scraping_runs in it, even
-- one never run, was locked and set up at every execution (a plan that names a table
-- locks it each time it runs): ≈ 10 % of a single-row update without any header. Without
-- a change context: no header, or a role that may not use it, costs one setting read and
-- one strpos; the header calls header_run_id().
create or replace function scrapeguard.current_change_run_id() returns uuid
  language sql
  volatile
  set search_path = ''
as $$
  select coalesce(
    nullif(pg_catalog.current_setting('scrapeguard.run_id', true), '')::pg_catalog.uuid,
    case
      when pg_catalog.strpos(pg_catalog.current_setting('request.headers', true), '"x-scrapeguard-run-id"') > 0
       and pg_catalog.current_setting('role') in ('service_role', 'none')
      then scrapeguard.header_run_id()
    end)
$$;
comment on function scrapeguard.current_change_run_id() is
  'The scraping run of the current change: set_change_context''s run for this transaction, else (requests as service_role) the running run named by the request header x-scrapeguard-run-id (looked up once per statement), else null. An unknown, malformed or finished run in the header is ignored.';
revoke all on function scrapeguard.current_change_run_id() from public, anon, authenticated;
grant execute on function scrapeguard.current_change_run_id() to service_role;

-- ---------------------------------------------------------------------------------
-- 2. The item-isolating path: the previous ingest_events, as it was
-- ---------------------------------------------------------------------------------

-- Called by ingest_events when its set-based pass cannot take the batch. Same
-- arguments, checks, writes, counts and result as ingest_events.
create or replace function scrapeguard.ingest_events_isolating(
  run_id uuid,
  events jsonb,
  complete boolean,
  actor text
) returns jsonb
  language plpgsql
  volatile
  set search_path = ''
as $function$
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
comment on function scrapeguard.ingest_events_isolating(uuid, jsonb, boolean, text) is
  'ingest_events item by item: each group of items one statement in a subtransaction, split in halves around a bad item until it is alone. What ingest_events falls back to when its set-based pass fails on an item or the batch has a bad item.';
revoke all on function scrapeguard.ingest_events_isolating(uuid, jsonb, boolean, text) from public, anon, authenticated;
grant execute on function scrapeguard.ingest_events_isolating(uuid, jsonb, boolean, text) to service_role;

-- ---------------------------------------------------------------------------------
-- 3. ingest_events: set-based when the batch allows it
-- ---------------------------------------------------------------------------------

-- The common batch (every item well formed, most of them known and unchanged) in a few
-- statements whatever its size:
--   a. one pass over the JSON: shape, key, columns (item minus the names it may use is
--      empty), keys unique in the batch;
--   b. one statement: every item's row (jsonb_populate_recordset over the whole array,
--      zipped with the items), its key's row, its event, and whether a tracked column the
--      item names differs (jsonb_exists: a column the item does not name is not compared);
--   c. new keys: claimed and inserted per group of items naming the same columns, as
--      before; keys a concurrent ingest claimed meanwhile go to the update step;
--   d. items that differ: locked in id order and updated per group of columns, the
--      UPDATE comparing again, as before;
--   e. last_seen_at of the keys seen, once per run;
--   then, after the subtransaction, the run's counts (one UPDATE, as before).
-- b to e run in one subtransaction: if an item's data fails anywhere (a type, a domain,
-- a constraint, a trigger of the app), it is rolled back and the batch goes to
-- scrapeguard.ingest_events_isolating(), which finds the bad items. So a clean batch
-- costs one subtransaction; a batch with a bad item costs what it cost before, plus the
-- failed attempt.
create or replace function public.ingest_events(
  run_id uuid,
  events jsonb,
  complete boolean default false,
  actor text default null
) returns jsonb
  language plpgsql
  volatile
  set search_path = ''
as $function$
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
comment on function public.ingest_events(uuid, jsonb, boolean, text) is
  'Upserts scraped events by the source''s own key ([{"key": …, <events columns>…}], at most 10000): inserts unknown keys, updates only real differences of known ones, attributed to the run (actor: the given one, else the caller''s), counted into it. A bad item is reported in errors[] (index, key, sqlstate, message) and writes nothing. Returns {created, updated, unchanged, failed, errors, event_ids} and, with complete => true, missing_keys: the source''s keys not seen since the run started. SG002 unknown run, SG003 finished run.';
revoke all on function public.ingest_events(uuid, jsonb, boolean, text) from public, anon, authenticated;
grant execute on function public.ingest_events(uuid, jsonb, boolean, text) to service_role;

-- The revision triggers embed current_change_run_id()'s body: regenerate them.
select scrapeguard.refresh_event_revision_trigger();
