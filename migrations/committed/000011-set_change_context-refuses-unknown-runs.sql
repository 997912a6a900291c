--! Previous: sha1:9f4106a82746ea38764f3b854c0c87abfa8d66c8
--! Hash: sha1:becc4fdbe457a77451e28da38d8945e4b8d52b3c
--! Message: set_change_context refuses unknown runs

-- set_change_context refuses a run that does not exist.
--
-- event_revisions.run_id references scraping_runs, so a context naming an unknown
-- run used to surface later, at the first change of an event, as a foreign-key
-- violation (23503) raised from inside the revision trigger, far from its cause.
-- Now the context itself is refused with SG002 (unknown run, as start/finish/append
-- do for runs), and nothing is set. The check is one primary-key lookup per call.

create or replace function public.set_change_context(run_id uuid, actor text default null) returns void
  language plpgsql
  volatile
  set search_path = ''
as $$
begin
  if set_change_context.actor is not null
     and (set_change_context.actor = '' or pg_catalog.length(set_change_context.actor) > 200) then
    raise exception 'set_change_context: actor must be 1 to 200 characters (or null)'
      using errcode = '22023';
  end if;
  if set_change_context.run_id is not null
     and not exists (select from public.scraping_runs r where r.id = set_change_context.run_id) then
    raise exception 'set_change_context: unknown run %', set_change_context.run_id
      using errcode = 'SG002',
            hint = 'Pass the id returned by start_run(), or null for changes outside a run.';
  end if;
  -- is_local = true: the values end with the transaction, so a pooled connection
  -- (Supavisor in transaction mode) never carries them into someone else's work.
  -- (A SET clause on this function restores only search_path on exit; these stay.)
  perform pg_catalog.set_config('scrapeguard.run_id', coalesce(set_change_context.run_id::text, ''), true);
  perform pg_catalog.set_config('scrapeguard.actor', coalesce(set_change_context.actor, ''), true);
end
$$;
comment on function public.set_change_context(uuid, text) is
  'Attributes the event changes of the current transaction to a scraping run and/or an actor (transaction-local settings scrapeguard.run_id / scrapeguard.actor). Nulls clear them. SG002 for a run that does not exist.';
