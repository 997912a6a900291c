/**
 * The statements both breaker benchmarks send (bench/breaker.ts times them,
 * bench/breaker-instructions.ts counts their instructions), so the two measure the
 * same thing.
 */

/**
 * The raw baseline: the UPDATEs a failure and a success write, to the same row of the
 * same table (so the table's own cost, its invariant CHECKs, is on both sides). A
 * failure without a worker makes the streak's workers {NULL} (the anonymous worker), a
 * success empties them: the row's invariants hold for the baseline's writes too.
 * `table` is public.circuit_breaker_state or a copy of it.
 */
export const rawFailureSql = (table: string): string =>
  `update ${table} set failure_count = failure_count + 1, streak_workers = '{NULL}', last_failure_at = now(), ` +
  `last_error = $2, updated_at = now(), version = version + 1 where source_id = $1`;
export const rawSuccessSql = (table: string): string =>
  `update ${table} set failure_count = 0, streak_workers = '{}', last_success_at = now(), updated_at = now(), ` +
  `version = version + 1 where source_id = $1`;

/**
 * An RPC as the SDK calls it: the row comes back as a composite and is expanded outside
 * the call (`offset 0` keeps the function from being expanded once per column; a
 * function in FROM costs a function-scan set-up per call).
 */
export const rpcCallSql = (fn: string, args: string): string =>
  `select (r).state, (r).failure_count, (r).open_until from (select ${fn}(${args}) r offset 0) x`;

/**
 * The floor of any pair of RPCs: two plpgsql functions (search_path pinned, as every
 * scrapeguard function) that each run one raw UPDATE and return the row the way
 * record_failure and record_success return it. Created in a private database copy.
 */
export const FLOOR_FUNCTIONS = `
create schema if not exists bench;
create function bench.floor_failure(p_source_id uuid, p_error text) returns public.circuit_breaker_state
  language plpgsql set search_path = '' as $fn$
declare v record;
begin
  update public.circuit_breaker_state s set failure_count = s.failure_count + 1, streak_workers = '{NULL}',
         last_failure_at = now(), last_error = p_error, updated_at = now(), version = s.version + 1
   where s.source_id = p_source_id returning s into v;
  return v.s;
end $fn$;
create function bench.floor_success(p_source_id uuid) returns public.circuit_breaker_state
  language plpgsql set search_path = '' as $fn$
declare v record;
begin
  update public.circuit_breaker_state s set failure_count = 0, streak_workers = '{}',
         last_success_at = now(), updated_at = now(), version = s.version + 1
   where s.source_id = p_source_id returning s into v;
  return v.s;
end $fn$;`;
