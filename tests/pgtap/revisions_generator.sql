-- The revision trigger generator, one piece at a time: each function's text for
-- small inputs, exactly. (That the pieces put together give the installed trigger
-- functions is checked by the equivalence fixtures and by the revisions behaviour tests.)
begin;
set local search_path = public, extensions;
select plan(16);

select is(scrapeguard.revision_changed_sql('title', false), $exp$old.title is distinct from new.title$exp$,
  'changed: a column compared directly');

select is(scrapeguard.revision_changed_sql('Odd "name"', true), $exp$old."Odd ""name"""::pg_catalog.text is distinct from new."Odd ""name"""::pg_catalog.text$exp$,
  'changed: a column compared through its text form, its name quoted');

select is(scrapeguard.revision_when_sql(array['title', 'tags'], array['tags']), $exp$old.id is distinct from new.id or old.title is distinct from new.title or old.tags::pg_catalog.text is distinct from new.tags::pg_catalog.text$exp$,
  'WHEN clause: the id, then each tracked column in order, text form where asked');

select is(scrapeguard.revision_when_sql('{}', '{}'), $exp$old.id is distinct from new.id$exp$,
  'WHEN clause with nothing tracked: the id alone');

select is(scrapeguard.revision_field_check_sql('price_range', false, true), $exp$
  if old.price_range is distinct from new.price_range then
    v_fields := v_fields || 'price_range'::pg_catalog.text;
    v_changes := v_changes || row('price_range', pg_catalog.to_jsonb(old.price_range::pg_catalog.text), pg_catalog.to_jsonb(new.price_range::pg_catalog.text))::scrapeguard.event_revision_change;
  end if;$exp$,
  'field check: a column recorded as its text form');

select is(scrapeguard.revision_field_check_sql('location', true, false), $exp$
  if old.location::pg_catalog.text is distinct from new.location::pg_catalog.text then
    v_fields := v_fields || 'location'::pg_catalog.text;
    v_changes := v_changes || row('location', pg_catalog.to_jsonb(old.location), pg_catalog.to_jsonb(new.location))::scrapeguard.event_revision_change;
  end if;$exp$,
  'field check: a column compared as text, recorded as jsonb');

select is(scrapeguard.revision_notify_sql('new', 'update', 'FIELDS'), $exp$
    -- scrapeguard.event_notifications: 'off' sends none, 'statement' one per statement and
    -- operation (pg_notify delivers identical payloads of a transaction once), anything
    -- else one per recorded change. Each pg_notify is an IF's simple expression, not a query.
    case pg_catalog.current_setting('scrapeguard.event_notifications', true)
      when 'off' then
        null;
      when 'statement' then
        if pg_catalog.pg_notify('scrapeguard_event_changes',
             pg_catalog.format('{"event_id":null,"revision":null,"operation":"update","fields":null,"statement_at":%s}',
                               pg_catalog.to_json(pg_catalog.statement_timestamp()))) is null then
          null;
        end if;
      else
        if pg_catalog.pg_notify('scrapeguard_event_changes',
             pg_catalog.format('{"event_id":"%s","revision":%s,"operation":"update","fields":%s}', new.id, v_rev,
                               FIELDS)) is null then
          null;
        end if;
    end case;$exp$,
  'notification: the setting read once, a statement-level payload, else one per change with the field list given');

select ok(scrapeguard.revision_notify_sql('old', 'delete', null) ~ '"fields":null}'', old.id, v_rev\)\) is null',
  'notification without a field list: "fields":null in the payload itself');

select is(scrapeguard.revision_snapshot_sql('new', 'insert', 'null', 'IMAGE', 'CLOCK', 'RUN', 'ACTOR'), $exp$
    v_at := CLOCK;
    select r.revision + 1 into v_rev
      from public.event_revisions r where r.event_id = new.id
     order by r.revision desc limit 1;
    v_rev := coalesce(v_rev, 1);
    v_run := RUN;
    v_actor := ACTOR;
    insert into public.event_revisions (event_id, revision, operation, old_value, new_value, changed_at, run_id, actor)
    values (new.id, v_rev, 'insert', null, IMAGE, v_at, v_run, v_actor);
    -- scrapeguard.event_notifications: 'off' sends none, 'statement' one per statement and
    -- operation (pg_notify delivers identical payloads of a transaction once), anything
    -- else one per recorded change. Each pg_notify is an IF's simple expression, not a query.
    case pg_catalog.current_setting('scrapeguard.event_notifications', true)
      when 'off' then
        null;
      when 'statement' then
        if pg_catalog.pg_notify('scrapeguard_event_changes',
             pg_catalog.format('{"event_id":null,"revision":null,"operation":"insert","fields":null,"statement_at":%s}',
                               pg_catalog.to_json(pg_catalog.statement_timestamp()))) is null then
          null;
        end if;
      else
        if pg_catalog.pg_notify('scrapeguard_event_changes',
             pg_catalog.format('{"event_id":"%s","revision":%s,"operation":"insert","fields":null}', new.id, v_rev)) is null then
          null;
        end if;
    end case;$exp$,
  'snapshot: a whole-row insert of new with the given clock and attribution expressions');

select is(scrapeguard.revision_insert_delete_body(array['hs'], 'CLOCK', 'RUN', 'ACTOR'), $exp$
-- Generated by scrapeguard.refresh_event_revision_trigger(); do not edit.
-- One whole-row revision per inserted or deleted event, so that a deleted event's
-- history keeps its last state. SECURITY DEFINER: see event_revisions_on_truncate().
declare
  v_rev pg_catalog.int4;
  v_at pg_catalog.timestamptz;
  v_run pg_catalog.uuid;
  v_actor pg_catalog.text;
begin
  if tg_op = 'INSERT' then
    v_at := CLOCK;
    select r.revision + 1 into v_rev
      from public.event_revisions r where r.event_id = new.id
     order by r.revision desc limit 1;
    v_rev := coalesce(v_rev, 1);
    v_run := RUN;
    v_actor := ACTOR;
    insert into public.event_revisions (event_id, revision, operation, old_value, new_value, changed_at, run_id, actor)
    values (new.id, v_rev, 'insert', null, (pg_catalog.to_jsonb(new) || pg_catalog.jsonb_build_object('hs', new.hs::pg_catalog.text)), v_at, v_run, v_actor);
    -- scrapeguard.event_notifications: 'off' sends none, 'statement' one per statement and
    -- operation (pg_notify delivers identical payloads of a transaction once), anything
    -- else one per recorded change. Each pg_notify is an IF's simple expression, not a query.
    case pg_catalog.current_setting('scrapeguard.event_notifications', true)
      when 'off' then
        null;
      when 'statement' then
        if pg_catalog.pg_notify('scrapeguard_event_changes',
             pg_catalog.format('{"event_id":null,"revision":null,"operation":"insert","fields":null,"statement_at":%s}',
                               pg_catalog.to_json(pg_catalog.statement_timestamp()))) is null then
          null;
        end if;
      else
        if pg_catalog.pg_notify('scrapeguard_event_changes',
             pg_catalog.format('{"event_id":"%s","revision":%s,"operation":"insert","fields":null}', new.id, v_rev)) is null then
          null;
        end if;
    end case;
  else
    v_at := CLOCK;
    select r.revision + 1 into v_rev
      from public.event_revisions r where r.event_id = old.id
     order by r.revision desc limit 1;
    v_rev := coalesce(v_rev, 1);
    v_run := RUN;
    v_actor := ACTOR;
    insert into public.event_revisions (event_id, revision, operation, old_value, new_value, changed_at, run_id, actor)
    values (old.id, v_rev, 'delete', (pg_catalog.to_jsonb(old) || pg_catalog.jsonb_build_object('hs', old.hs::pg_catalog.text)), null, v_at, v_run, v_actor);
    -- scrapeguard.event_notifications: 'off' sends none, 'statement' one per statement and
    -- operation (pg_notify delivers identical payloads of a transaction once), anything
    -- else one per recorded change. Each pg_notify is an IF's simple expression, not a query.
    case pg_catalog.current_setting('scrapeguard.event_notifications', true)
      when 'off' then
        null;
      when 'statement' then
        if pg_catalog.pg_notify('scrapeguard_event_changes',
             pg_catalog.format('{"event_id":null,"revision":null,"operation":"delete","fields":null,"statement_at":%s}',
                               pg_catalog.to_json(pg_catalog.statement_timestamp()))) is null then
          null;
        end if;
      else
        if pg_catalog.pg_notify('scrapeguard_event_changes',
             pg_catalog.format('{"event_id":"%s","revision":%s,"operation":"delete","fields":null}', old.id, v_rev)) is null then
          null;
        end if;
    end case;
  end if;
  return null;
end
$exp$,
  'insert/delete body: the two snapshots, a text-form column in the images');

select is(scrapeguard.revision_update_body(array['title', 'tags'], array['updated_at'], array['tags'], array['tags'], 'CLOCK', 'RUN', 'ACTOR'), $exp$
-- Generated by scrapeguard.refresh_event_revision_trigger() from the columns of
-- public.events; do not edit. After the app changes the columns of events, or
-- after editing scrapeguard.revision_noise_columns, the refresh regenerates it.
--   tracked: title, tags
--   noise (not recorded): updated_at
--   recorded as text: tags
-- SECURITY DEFINER: see event_revisions_on_truncate().
declare
  v_fields pg_catalog.text[];
  v_changes scrapeguard.event_revision_change[];
  v_rev pg_catalog.int4;
  v_at pg_catalog.timestamptz;
  v_run pg_catalog.uuid;
  v_actor pg_catalog.text;
begin
  if old.id is distinct from new.id then
    -- A new identity: the old id's history ends with a delete, the new id's
    -- starts with an insert, each with the whole row.
    v_at := CLOCK;
    select r.revision + 1 into v_rev
      from public.event_revisions r where r.event_id = old.id
     order by r.revision desc limit 1;
    v_rev := coalesce(v_rev, 1);
    v_run := RUN;
    v_actor := ACTOR;
    insert into public.event_revisions (event_id, revision, operation, old_value, new_value, changed_at, run_id, actor)
    values (old.id, v_rev, 'delete', (pg_catalog.to_jsonb(old) || pg_catalog.jsonb_build_object('tags', old.tags::pg_catalog.text)), null, v_at, v_run, v_actor);
    -- scrapeguard.event_notifications: 'off' sends none, 'statement' one per statement and
    -- operation (pg_notify delivers identical payloads of a transaction once), anything
    -- else one per recorded change. Each pg_notify is an IF's simple expression, not a query.
    case pg_catalog.current_setting('scrapeguard.event_notifications', true)
      when 'off' then
        null;
      when 'statement' then
        if pg_catalog.pg_notify('scrapeguard_event_changes',
             pg_catalog.format('{"event_id":null,"revision":null,"operation":"delete","fields":null,"statement_at":%s}',
                               pg_catalog.to_json(pg_catalog.statement_timestamp()))) is null then
          null;
        end if;
      else
        if pg_catalog.pg_notify('scrapeguard_event_changes',
             pg_catalog.format('{"event_id":"%s","revision":%s,"operation":"delete","fields":null}', old.id, v_rev)) is null then
          null;
        end if;
    end case;
    v_at := CLOCK;
    select r.revision + 1 into v_rev
      from public.event_revisions r where r.event_id = new.id
     order by r.revision desc limit 1;
    v_rev := coalesce(v_rev, 1);
    v_run := RUN;
    v_actor := ACTOR;
    insert into public.event_revisions (event_id, revision, operation, old_value, new_value, changed_at, run_id, actor)
    values (new.id, v_rev, 'insert', null, (pg_catalog.to_jsonb(new) || pg_catalog.jsonb_build_object('tags', new.tags::pg_catalog.text)), v_at, v_run, v_actor);
    -- scrapeguard.event_notifications: 'off' sends none, 'statement' one per statement and
    -- operation (pg_notify delivers identical payloads of a transaction once), anything
    -- else one per recorded change. Each pg_notify is an IF's simple expression, not a query.
    case pg_catalog.current_setting('scrapeguard.event_notifications', true)
      when 'off' then
        null;
      when 'statement' then
        if pg_catalog.pg_notify('scrapeguard_event_changes',
             pg_catalog.format('{"event_id":null,"revision":null,"operation":"insert","fields":null,"statement_at":%s}',
                               pg_catalog.to_json(pg_catalog.statement_timestamp()))) is null then
          null;
        end if;
      else
        if pg_catalog.pg_notify('scrapeguard_event_changes',
             pg_catalog.format('{"event_id":"%s","revision":%s,"operation":"insert","fields":null}', new.id, v_rev)) is null then
          null;
        end if;
    end case;
    return null;
  end if;
  -- Only the real columns are compared, and only changed ones become jsonb.
  if old.title is distinct from new.title then
    v_fields := v_fields || 'title'::pg_catalog.text;
    v_changes := v_changes || row('title', pg_catalog.to_jsonb(old.title), pg_catalog.to_jsonb(new.title))::scrapeguard.event_revision_change;
  end if;
  if old.tags::pg_catalog.text is distinct from new.tags::pg_catalog.text then
    v_fields := v_fields || 'tags'::pg_catalog.text;
    v_changes := v_changes || row('tags', pg_catalog.to_jsonb(old.tags::pg_catalog.text), pg_catalog.to_jsonb(new.tags::pg_catalog.text))::scrapeguard.event_revision_change;
  end if;
  if v_fields is null then
    return null;
  end if;
  -- The time, run and actor are read once per change (every row of the revision has
  -- the same changed_at), each a PL/pgSQL expression, prepared once per transaction,
  -- rather than a column of the statements, whose expressions PostgreSQL would set
  -- up again at every execution.
  v_at := CLOCK;
  -- Race-free: the UPDATE that fired this holds the event row's lock until it
  -- commits, so a concurrent writer of the same event waits and then sees this
  -- revision. One backward descent of the (event_id, revision, …) index.
  select r.revision + 1 into v_rev
    from public.event_revisions r where r.event_id = new.id
   order by r.revision desc limit 1;
  if v_rev is null then
    -- The event predates its history (it existed before scrapeguard was installed,
    -- or was written with triggers disabled): keep the state before this change.
    insert into public.event_revisions (event_id, revision, operation, new_value, changed_at)
    values (old.id, 1, 'baseline', (pg_catalog.to_jsonb(old) || pg_catalog.jsonb_build_object('tags', old.tags::pg_catalog.text)), v_at);
    v_rev := 2;
  end if;
  v_run := RUN;
  v_actor := ACTOR;
  insert into public.event_revisions
    (event_id, revision, operation, field_name, old_value, new_value, changed_at, run_id, actor)
  select new.id, v_rev, 'update', u.field_name, u.old_value, u.new_value, v_at, v_run, v_actor
    from pg_catalog.unnest(v_changes) as u;
  -- pg_notify refuses payloads of 8,000 bytes or more: a field list that long
  -- (only with very many long column names) is sent as null; event_history has it.
  -- The size is tested only when the list of every tracked column could reach it.
    -- scrapeguard.event_notifications: 'off' sends none, 'statement' one per statement and
    -- operation (pg_notify delivers identical payloads of a transaction once), anything
    -- else one per recorded change. Each pg_notify is an IF's simple expression, not a query.
    case pg_catalog.current_setting('scrapeguard.event_notifications', true)
      when 'off' then
        null;
      when 'statement' then
        if pg_catalog.pg_notify('scrapeguard_event_changes',
             pg_catalog.format('{"event_id":null,"revision":null,"operation":"update","fields":null,"statement_at":%s}',
                               pg_catalog.to_json(pg_catalog.statement_timestamp()))) is null then
          null;
        end if;
      else
        if pg_catalog.pg_notify('scrapeguard_event_changes',
             pg_catalog.format('{"event_id":"%s","revision":%s,"operation":"update","fields":%s}', new.id, v_rev,
                               pg_catalog.array_to_json(v_fields)::pg_catalog.text)) is null then
          null;
        end if;
    end case;
  return null;
end
$exp$,
  'update body: the id change, one check per tracked column, the baseline and the notification');

-- The notification's size test: left out while even the list of every tracked column is
-- shorter than 7,000 bytes as JSON (a changed subset never is longer), kept beyond.
select ok(scrapeguard.revision_update_body(array['title', 'tags'], '{}', '{}', '{}', 'CLOCK', 'RUN', 'ACTOR')
            !~ 'octet_length',
  'update body: no size test of the field list when every tracked name together is short');

select ok(scrapeguard.revision_update_body(
            array(select pg_catalog.rpad('c' || g, 63, 'x') from pg_catalog.generate_series(1, 110) g),
            '{}', '{}', '{}', 'CLOCK', 'RUN', 'ACTOR')
            ~ 'when pg_catalog\.octet_length\(pg_catalog\.array_to_json\(v_fields\)::pg_catalog\.text\) <= 7000 then pg_catalog\.array_to_json\(v_fields\)::pg_catalog\.text else ''null'' end',
  'update body: the field list sent as null beyond 7,000 bytes when the tracked names could reach it');

select is(scrapeguard.revision_update_body('{}', '{}', '{}', '{}', 'CLOCK', 'RUN', 'ACTOR'), $exp$
-- Generated by scrapeguard.refresh_event_revision_trigger() from the columns of
-- public.events; do not edit. After the app changes the columns of events, or
-- after editing scrapeguard.revision_noise_columns, the refresh regenerates it.
--   tracked: (none)
--   noise (not recorded): (none)
--   recorded as text: (none)
-- SECURITY DEFINER: see event_revisions_on_truncate().
declare
  v_fields pg_catalog.text[];
  v_changes scrapeguard.event_revision_change[];
  v_rev pg_catalog.int4;
  v_at pg_catalog.timestamptz;
  v_run pg_catalog.uuid;
  v_actor pg_catalog.text;
begin
  if old.id is distinct from new.id then
    -- A new identity: the old id's history ends with a delete, the new id's
    -- starts with an insert, each with the whole row.
    v_at := CLOCK;
    select r.revision + 1 into v_rev
      from public.event_revisions r where r.event_id = old.id
     order by r.revision desc limit 1;
    v_rev := coalesce(v_rev, 1);
    v_run := RUN;
    v_actor := ACTOR;
    insert into public.event_revisions (event_id, revision, operation, old_value, new_value, changed_at, run_id, actor)
    values (old.id, v_rev, 'delete', pg_catalog.to_jsonb(old), null, v_at, v_run, v_actor);
    -- scrapeguard.event_notifications: 'off' sends none, 'statement' one per statement and
    -- operation (pg_notify delivers identical payloads of a transaction once), anything
    -- else one per recorded change. Each pg_notify is an IF's simple expression, not a query.
    case pg_catalog.current_setting('scrapeguard.event_notifications', true)
      when 'off' then
        null;
      when 'statement' then
        if pg_catalog.pg_notify('scrapeguard_event_changes',
             pg_catalog.format('{"event_id":null,"revision":null,"operation":"delete","fields":null,"statement_at":%s}',
                               pg_catalog.to_json(pg_catalog.statement_timestamp()))) is null then
          null;
        end if;
      else
        if pg_catalog.pg_notify('scrapeguard_event_changes',
             pg_catalog.format('{"event_id":"%s","revision":%s,"operation":"delete","fields":null}', old.id, v_rev)) is null then
          null;
        end if;
    end case;
    v_at := CLOCK;
    select r.revision + 1 into v_rev
      from public.event_revisions r where r.event_id = new.id
     order by r.revision desc limit 1;
    v_rev := coalesce(v_rev, 1);
    v_run := RUN;
    v_actor := ACTOR;
    insert into public.event_revisions (event_id, revision, operation, old_value, new_value, changed_at, run_id, actor)
    values (new.id, v_rev, 'insert', null, pg_catalog.to_jsonb(new), v_at, v_run, v_actor);
    -- scrapeguard.event_notifications: 'off' sends none, 'statement' one per statement and
    -- operation (pg_notify delivers identical payloads of a transaction once), anything
    -- else one per recorded change. Each pg_notify is an IF's simple expression, not a query.
    case pg_catalog.current_setting('scrapeguard.event_notifications', true)
      when 'off' then
        null;
      when 'statement' then
        if pg_catalog.pg_notify('scrapeguard_event_changes',
             pg_catalog.format('{"event_id":null,"revision":null,"operation":"insert","fields":null,"statement_at":%s}',
                               pg_catalog.to_json(pg_catalog.statement_timestamp()))) is null then
          null;
        end if;
      else
        if pg_catalog.pg_notify('scrapeguard_event_changes',
             pg_catalog.format('{"event_id":"%s","revision":%s,"operation":"insert","fields":null}', new.id, v_rev)) is null then
          null;
        end if;
    end case;
    return null;
  end if;
  -- Only the real columns are compared, and only changed ones become jsonb.
  if v_fields is null then
    return null;
  end if;
  -- The time, run and actor are read once per change (every row of the revision has
  -- the same changed_at), each a PL/pgSQL expression, prepared once per transaction,
  -- rather than a column of the statements, whose expressions PostgreSQL would set
  -- up again at every execution.
  v_at := CLOCK;
  -- Race-free: the UPDATE that fired this holds the event row's lock until it
  -- commits, so a concurrent writer of the same event waits and then sees this
  -- revision. One backward descent of the (event_id, revision, …) index.
  select r.revision + 1 into v_rev
    from public.event_revisions r where r.event_id = new.id
   order by r.revision desc limit 1;
  if v_rev is null then
    -- The event predates its history (it existed before scrapeguard was installed,
    -- or was written with triggers disabled): keep the state before this change.
    insert into public.event_revisions (event_id, revision, operation, new_value, changed_at)
    values (old.id, 1, 'baseline', pg_catalog.to_jsonb(old), v_at);
    v_rev := 2;
  end if;
  v_run := RUN;
  v_actor := ACTOR;
  insert into public.event_revisions
    (event_id, revision, operation, field_name, old_value, new_value, changed_at, run_id, actor)
  select new.id, v_rev, 'update', u.field_name, u.old_value, u.new_value, v_at, v_run, v_actor
    from pg_catalog.unnest(v_changes) as u;
  -- pg_notify refuses payloads of 8,000 bytes or more: a field list that long
  -- (only with very many long column names) is sent as null; event_history has it.
  -- The size is tested only when the list of every tracked column could reach it.
    -- scrapeguard.event_notifications: 'off' sends none, 'statement' one per statement and
    -- operation (pg_notify delivers identical payloads of a transaction once), anything
    -- else one per recorded change. Each pg_notify is an IF's simple expression, not a query.
    case pg_catalog.current_setting('scrapeguard.event_notifications', true)
      when 'off' then
        null;
      when 'statement' then
        if pg_catalog.pg_notify('scrapeguard_event_changes',
             pg_catalog.format('{"event_id":null,"revision":null,"operation":"update","fields":null,"statement_at":%s}',
                               pg_catalog.to_json(pg_catalog.statement_timestamp()))) is null then
          null;
        end if;
      else
        if pg_catalog.pg_notify('scrapeguard_event_changes',
             pg_catalog.format('{"event_id":"%s","revision":%s,"operation":"update","fields":%s}', new.id, v_rev,
                               pg_catalog.array_to_json(v_fields)::pg_catalog.text)) is null then
          null;
        end if;
    end case;
  return null;
end
$exp$,
  'update body with nothing tracked or noise: no checks, "(none)" in the header');

select is(scrapeguard.revision_truncate_body('{}'), $exp$
-- Generated by scrapeguard.refresh_event_revision_trigger(); do not edit.
-- TRUNCATE fires no row triggers; record it as a delete of every event so that no
-- history silently ends without its last state.
--
-- SECURITY DEFINER (the three trigger functions): an authenticated user whom the
-- app's policies allow to edit an event must still get the change recorded, but may
-- neither write nor read event_revisions. They run as their owner, the migration
-- role, which owns event_revisions; they only write rows built from the event and
-- the attribution settings, with search_path = ''.
declare
  v_at pg_catalog.timestamptz := scrapeguard.clock();
  v_run pg_catalog.uuid := scrapeguard.current_change_run_id();
  v_actor pg_catalog.text := scrapeguard.current_change_actor();
  -- scrapeguard.event_notifications: see the update trigger.
  v_notify pg_catalog.text := pg_catalog.current_setting('scrapeguard.event_notifications', true);
  v_count pg_catalog.int8;
begin
  with gone as (
    insert into public.event_revisions (event_id, revision, operation, old_value, changed_at, run_id, actor)
    select e.id,
           coalesce((select max(r.revision) from public.event_revisions r where r.event_id = e.id), 0) + 1,
           'delete', pg_catalog.to_jsonb(e), v_at, v_run, v_actor
      from public.events e
    returning event_id, revision
  )
  select count(pg_catalog.pg_notify('scrapeguard_event_changes',
           pg_catalog.format('{"event_id":"%s","revision":%s,"operation":"delete","fields":null}', g.event_id, g.revision)))
           filter (where v_notify is null or v_notify not in ('off', 'statement'))
    into v_count
    from gone g;
  if v_notify = 'statement' then
    if pg_catalog.pg_notify('scrapeguard_event_changes',
         pg_catalog.format('{"event_id":null,"revision":null,"operation":"delete","fields":null,"statement_at":%s}',
                           pg_catalog.to_json(pg_catalog.statement_timestamp()))) is null then
      null;
    end if;
  end if;
  return null;
end
$exp$,
  'truncate body: one statement, the helpers called once');

-- The pieces read no catalog: the same arguments give the same text whatever public.events holds.
select is(scrapeguard.revision_when_sql(array['no_such_column'], '{}'),
  'old.id is distinct from new.id or old.no_such_column is distinct from new.no_such_column',
  'the WHEN clause is built from its arguments only');

select * from finish();
rollback;
