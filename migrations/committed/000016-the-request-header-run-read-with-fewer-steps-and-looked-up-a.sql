--! Previous: sha1:99157551c0d9efd06953edf179f43990bb0adfcc
--! Hash: sha1:85495852f1e075a8866ccd6fc42cb6d6bb49e48b
--! Message: The request-header run read with fewer steps and looked up at each call; ingest_events without Memoize

-- The header fallback of the revision triggers, cheaper (measured in instructions per
-- autocommit single-row UPDATE of a tracked field, callgrind on a single-user backend).
--
-- What it cost: in a transaction of one statement (every PostgREST request, every
-- autocommit write) each PL/pgSQL expression and each function or operator in the
-- trigger's statements is set up again (an EXECUTE check and a lookup per function), so
-- the cost followed the number of steps, not the work: 15 expressions of string tests,
-- a regex, statement_timestamp() as text, a cache read, compare and write
-- (set_config through PERFORM, a statement of its own), an EXISTS through SPI. And
-- header_run_id() was VOLATILE, which kept the planner from flattening the trigger's
-- INSERT … SELECT (a subquery scan set up at every write, header or not).
--
-- 1. scrapeguard.header_run_id(): STABLE (it is: one answer for every row of a statement;
--    its reads use the statement's snapshot, so a run finished by an earlier statement is
--    seen); the role test moved in (it was set up at every write as part of the rule);
--    the id read with split_part (no character counting on long headers) and one LIKE of
--    the quoted 8-4-4-4-12 shape, one one-class regex and one NOT LIKE for the digits and
--    the four dashes, so the cast can never fail; the run looked up with one SELECT INTO.
--    No per-statement cache any more: keeping it (the statement's start as text, a
--    setting read, compared and written) cost more in a one-row statement than the
--    lookup it saves, and without it a run finished or a header changed is seen by the
--    next statement even inside one simple-query string (which shared
--    statement_timestamp() and hence the cached answer).
-- 2. scrapeguard.current_change_run_id(): STABLE, and when no change context is set it
--    tests for the header with split_part (byte search; strpos counts characters up to
--    the match) before calling header_run_id().
-- 3. public.ingest_events: enable_memoize off for the call (see below).
--
-- Every statement is idempotent: running this file twice leaves the same catalog.

-- The header's run, or null. Never raises: the app's write must not fail over a header.
-- Only for requests as service_role (or without SET ROLE): an app user cannot claim a
-- run. The id is the quoted value right after the header's name ("x-scrapeguard-run-id",
-- then spaces and a colon), exactly 8-4-4-4-12 hex digits: the LIKE fixes the length,
-- the quotes and the four dashes' places, the class regex allows only hex digits and
-- dashes, the NOT LIKE no fifth dash; only then is it cast. The run must exist (the
-- foreign key of event_revisions.run_id must not fail the write) and be running.
-- Types schema-qualified: the revision triggers (SECURITY DEFINER) call this, and an
-- unqualified type name is looked up in the caller's temporary schema first.
create or replace function scrapeguard.header_run_id() returns uuid
  language plpgsql
  stable
  set search_path = ''
as $$
declare
  v_rest pg_catalog.text := pg_catalog.ltrim(pg_catalog.split_part(
    pg_catalog.current_setting('request.headers', true), '"x-scrapeguard-run-id"', 2), ' :');
  v_text pg_catalog.text := pg_catalog.substr(v_rest, 2, 36);
  v_id pg_catalog.uuid;
begin
  if pg_catalog.current_setting('role') in ('service_role', 'none')
     and v_rest like '"________-____-____-____-____________"%'
     and v_text operator(pg_catalog.~) '^[0-9A-Fa-f-]+$'
     and v_text not like '%-%-%-%-%-%' then
    select r.id into v_id from public.scraping_runs r where r.id = v_text::pg_catalog.uuid and r.status = 'running';
  end if;
  return v_id;
end
$$;
comment on function scrapeguard.header_run_id() is
  'The running run named by the request header x-scrapeguard-run-id for requests as service_role (or without SET ROLE), else null (another role, malformed, unknown or finished run); never raises. Used by current_change_run_id().';
revoke all on function scrapeguard.header_run_id() from public, anon, authenticated;
grant execute on function scrapeguard.header_run_id() to service_role;

-- Still one SELECT of one expression without a subquery (refresh_event_revision_trigger()
-- embeds it in the generated trigger code; a table named there would be locked and set up
-- at every write). Every write sets up all of it, header or not, so it holds only the
-- test for the header; the role and the id are header_run_id()'s.
create or replace function scrapeguard.current_change_run_id() returns uuid
  language sql
  stable
  set search_path = ''
as $$
  select coalesce(
    nullif(pg_catalog.current_setting('scrapeguard.run_id', true), '')::pg_catalog.uuid,
    case
      when pg_catalog.split_part(pg_catalog.current_setting('request.headers', true), '"x-scrapeguard-run-id"', 2) <> ''
      then scrapeguard.header_run_id()
    end)
$$;
comment on function scrapeguard.current_change_run_id() is
  'The scraping run of the current change: set_change_context''s run for this transaction, else (requests as service_role) the running run named by the request header x-scrapeguard-run-id, else null. An unknown, malformed or finished run in the header is ignored.';
revoke all on function scrapeguard.current_change_run_id() from public, anon, authenticated;
grant execute on function scrapeguard.current_change_run_id() to service_role;

-- The revision triggers embed current_change_run_id()'s body: regenerate them.
select scrapeguard.refresh_event_revision_trigger();

-- ingest_events reads each item's event with a parameterized probe of events by the id its
-- key names; the planner, without statistics on the items, puts a Memoize cache over it,
-- and every item names another event, so the cache never hits and only costs: 7.2 million
-- of ≈ 218 million instructions of a 1,000-item batch of which 100 items changed (3.3 %,
-- callgrind). The setting holds for the call only (the statements it runs, triggers
-- included); nothing in them repeats a probe.
alter function public.ingest_events(uuid, jsonb, boolean, text) set enable_memoize = off;
