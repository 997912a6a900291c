-- Down script of 000011: set_change_context as 000009 wrote it (no run check).
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
  -- is_local = true: the values end with the transaction, so a pooled connection
  -- (Supavisor in transaction mode) never carries them into someone else's work.
  -- (A SET clause on this function restores only search_path on exit; these stay.)
  perform pg_catalog.set_config('scrapeguard.run_id', coalesce(set_change_context.run_id::text, ''), true);
  perform pg_catalog.set_config('scrapeguard.actor', coalesce(set_change_context.actor, ''), true);
end
$$;
comment on function public.set_change_context(uuid, text) is
  'Attributes the event changes of the current transaction to a scraping run and/or an actor (transaction-local settings scrapeguard.run_id / scrapeguard.actor). Nulls clear them.';
