-- scrapeguard migration 000013 (exported from migrations/committed/000013-qualified-type-names-in-security-definer-code.sql by npm run export:supabase).
-- Down script: migrations/rollback/000013.sql

-- No type names looked up in the session's temporary schema by SECURITY DEFINER code.
--
-- With search_path = '', PostgreSQL still resolves an unqualified type or table name
-- in the session's temporary schema first (pg_temp is searched before pg_catalog
-- unless it is listed). Any role may create temporary objects, so a session that can
-- call a SECURITY DEFINER function could create, say, a domain pg_temp.timestamptz
-- whose CHECK runs its own code, and have it run as the function's owner. Every
-- table name in scrapeguard's functions is schema-qualified already; this migration
-- qualifies the type names of the log partition functions (the SECURITY DEFINER
-- ensure_log_partitions and drop_expired_logs, and log_partitions, which they call).
-- The revision triggers and their helpers were qualified by the previous migration.
-- Behaviour is unchanged.

create or replace function scrapeguard.log_partitions()
  returns table (partition regclass, lower_bound timestamptz, upper_bound timestamptz, is_default boolean)
  language sql
  stable
  -- pg_get_expr prints bounds with the session's DateStyle; pin it so they parse back.
  set datestyle = 'ISO, YMD'
  set search_path = ''
as $$
  select c.oid::pg_catalog.regclass,
         case when b.m[1] = 'MINVALUE' then '-infinity'::pg_catalog.timestamptz
              else pg_catalog.btrim(b.m[1], '''')::pg_catalog.timestamptz end,
         case when b.m[2] = 'MAXVALUE' then 'infinity'::pg_catalog.timestamptz
              else pg_catalog.btrim(b.m[2], '''')::pg_catalog.timestamptz end,
         b.m is null
    from pg_catalog.pg_inherits i
    join pg_catalog.pg_class c on c.oid = i.inhrelid
    cross join lateral (
      select pg_catalog.regexp_match(pg_catalog.pg_get_expr(c.relpartbound, c.oid),
                                     '^FOR VALUES FROM \((.*)\) TO \((.*)\)$') as m
    ) b
   where i.inhparent = 'public.scraping_logs'::pg_catalog.regclass
   order by 2 nulls first
$$;


create or replace function scrapeguard.ensure_log_partitions(ahead interval default interval '3 days')
  returns integer
  language plpgsql
  security definer
  set search_path = ''
  -- Never queue behind a long query holding the parent: fail and retry next time.
  set lock_timeout = '5s'
as $$
declare
  now_ pg_catalog.timestamptz := scrapeguard.clock();
  d pg_catalog.date;
  lo pg_catalog.timestamptz;
  hi pg_catalog.timestamptz;
  part pg_catalog.text;
  created integer := 0;
begin
  if ahead is null then
    raise exception 'ensure_log_partitions: ahead must not be null' using errcode = '22004';
  end if;
  if ahead < interval '0' or ahead > interval '366 days' then
    raise exception 'ensure_log_partitions: ahead must be between 0 and 366 days (got %)', ahead
      using errcode = '22023';
  end if;
  for d in
    select g::pg_catalog.date
      from pg_catalog.generate_series((now_ at time zone 'UTC')::pg_catalog.date::timestamp,
                                      ((now_ + ahead) at time zone 'UTC')::pg_catalog.date::timestamp,
                                      interval '1 day') g
  loop
    lo := d::timestamp at time zone 'UTC';
    hi := (d + 1)::timestamp at time zone 'UTC';
    part := 'scraping_logs_p' || pg_catalog.to_char(d, 'YYYYMMDD');
    -- Skip days already covered (by our partition or any other, e.g. a monthly one).
    continue when exists (
      select from scrapeguard.log_partitions() p
       where not p.is_default and p.lower_bound < hi and p.upper_bound > lo);
    -- Writes to scraping_logs pause until commit (reads go on): an INSERT that routed a
    -- row of this day to the default partition before the ATTACH would fail the default
    -- partition's new constraint after it, and a row added between the move below and
    -- ATTACH would make ATTACH fail. This also serializes concurrent callers; look again.
    lock table public.scraping_logs in share row exclusive mode;
    continue when exists (
      select from scrapeguard.log_partitions() p
       where not p.is_default and p.lower_bound < hi and p.upper_bound > lo);
    -- Create detached, move the default partition's rows of that day, then ATTACH
    -- (CREATE … PARTITION OF would take ACCESS EXCLUSIVE on the parent and block
    -- readers too).
    execute pg_catalog.format(
      'create table scrapeguard.%I (like public.scraping_logs including constraints)', part);
    execute pg_catalog.format(
      'with moved as (delete from scrapeguard.scraping_logs_default
                       where logged_at >= $1 and logged_at < $2 returning *)
       insert into scrapeguard.%I overriding system value select * from moved', part)
      using lo, hi;
    execute pg_catalog.format(
      'alter table public.scraping_logs attach partition scrapeguard.%I for values from (%L) to (%L)',
      part, lo, hi);
    execute pg_catalog.format('alter table scrapeguard.%I enable row level security', part);
    execute pg_catalog.format('revoke all on table scrapeguard.%I from public, anon, authenticated', part);
    execute pg_catalog.format(
      'comment on table scrapeguard.%I is %L', part,
      'Daily partition of public.scraping_logs (one UTC day). Created by ensure_log_partitions, dropped by drop_expired_logs. Not reachable through the API.');
    created := created + 1;
  end loop;
  return created;
end
$$;


create or replace function scrapeguard.drop_expired_logs(
  keep interval default interval '30 days',
  detach_only boolean default false
) returns integer
  language plpgsql
  security definer
  set search_path = ''
  set lock_timeout = '5s'
as $$
declare
  cutoff pg_catalog.timestamptz;
  p record;
  dropped integer := 0;
  stray bigint;
begin
  if keep is null or detach_only is null then
    raise exception 'drop_expired_logs: keep and detach_only must not be null' using errcode = '22004';
  end if;
  if keep <= interval '0' then
    raise exception 'drop_expired_logs: keep must be positive (got %)', keep using errcode = '22023';
  end if;
  cutoff := scrapeguard.clock() - keep;
  for p in
    select lp.partition from scrapeguard.log_partitions() lp
     where not lp.is_default and lp.upper_bound <= cutoff
     order by lp.lower_bound
  loop
    if detach_only then
      -- Left in schema scrapeguard (RLS on, no grants) for archiving; dropping it is up to the operator.
      execute pg_catalog.format('alter table public.scraping_logs detach partition %s', p.partition);
    else
      execute pg_catalog.format('drop table %s', p.partition);
    end if;
    dropped := dropped + 1;
  end loop;
  delete from scrapeguard.scraping_logs_default l where l.logged_at < cutoff;
  get diagnostics stray = row_count;
  if stray > 0 then
    raise notice 'drop_expired_logs: deleted % expired rows from the default partition', stray;
  end if;
  return dropped;
end
$$;
