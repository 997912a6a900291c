/**
 * supabase-js transport: a CONTRACT TEST against a PostgREST stand-in (see
 * postgrest-standin.ts), not against PostgREST itself, which cannot be installed on
 * these machines. It checks the requests the transport sends (paths, methods, named
 * arguments as JSON, filters, the service key as apikey and bearer) and that it returns
 * exactly what the pg transport returns for the same calls on the same database.
 */
import { createClient } from '@supabase/supabase-js';
import { describe, expect, test } from 'vitest';
import {
  CircuitOpenError,
  createScrapeguard,
  FUNCTION_RETURNS,
  PermissionDeniedError,
  SupabaseTransport,
  TestClock,
  UnknownSourceError,
  type Database,
  type FunctionName,
  type RpcArgs,
} from '../../sdk/index.js';
import { makeJwt, PostgrestStandIn } from './postgrest-standin.js';
import { sdkFixture } from './support.js';

const f = await sdkFixture();
const standIn = new PostgrestStandIn(f.pool);
const serviceKey = makeJwt({ role: 'service_role', iss: 'supabase' });

/** Realtime is not used by the transport; Node 20 has no WebSocket, so give it one that refuses. */
class NoRealtime {
  constructor() {
    throw new Error('realtime is not used in these tests');
  }
}

function supabaseWith(key: string) {
  return createClient<Database>('http://project.supabase.test', key, {
    global: { fetch: standIn.fetch },
    auth: { persistSession: false, autoRefreshToken: false },
    realtime: { transport: NoRealtime as never },
  });
}

const viaSupabase = createScrapeguard({ supabase: supabaseWith(serviceKey) });

describe('supabase-js transport (contract test against a PostgREST stand-in)', () => {
  test('an RPC is a POST to /rpc/<name> with named arguments and the service key', async () => {
    const source = await f.createSource('Contract Source');
    standIn.requests.length = 0;
    await viaSupabase.breaker.recordFailure(source, 'HTTP 500');
    const [req] = standIn.requests;
    expect(req).toMatchObject({
      method: 'POST',
      path: '/rpc/record_failure',
      body: { source_id: source, error: 'HTTP 500', probe_id: null },
    });
    expect(req?.headers.apikey).toBe(serviceKey);
    expect(req?.headers.authorization).toBe(`Bearer ${serviceKey}`);
  });

  test('a failure\'s worker and Retry-After travel as named arguments (the interval as text)', async () => {
    const source = await f.createSource('Contract Quorum Source');
    standIn.requests.length = 0;
    const row = await viaSupabase.breaker.recordFailure(source, 'HTTP 429', null, { worker: 'worker-3', retryAfter: 90 });
    expect(standIn.requests[0]).toMatchObject({
      path: '/rpc/record_failure',
      body: { source_id: source, error: 'HTTP 429', probe_id: null, worker: 'worker-3', retry_after: '90 seconds' },
    });
    expect(row).toMatchObject({ failure_count: 1, streak_workers: ['worker-3'] });
    expect(row.retry_after_until).not.toBeNull();
  });

  test('a permit check reads the state row with an eq filter, then asks acquire_permit when not closed', async () => {
    const source = await f.createSource('Contract Permit');
    for (let i = 0; i < 3; i += 1) await f.sg.breaker.recordFailure(source, 'down');
    standIn.requests.length = 0;
    const err = await viaSupabase.breaker.withCircuit(source, async () => 'x').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CircuitOpenError);
    expect(standIn.requests.map((r) => `${r.method} ${r.path}`)).toEqual([
      'GET /circuit_breaker_state',
      'POST /rpc/acquire_permit',
    ]);
    expect(standIn.requests[0]?.query).toMatchObject({ source_id: `eq.${source}` });
  });

  test('results are the same as over the pg transport', async () => {
    const source = await f.createSource('Contract Same');
    const run = await f.sg.runs.start({ sourceId: source, engine: 'api' }, { intervalMs: 0 });
    run.log.info('hello', { n: 1 });
    await run.finish({ status: 'succeeded', fieldCoverage: 90, eventsFound: 3 });
    await f.sg.breaker.recordFailure(source, 'once');

    expect(await viaSupabase.runs.list(source)).toEqual(await f.sg.runs.list(source));
    expect(await viaSupabase.breaker.recordSuccess(source)).toEqual(await f.sg.breaker.recordSuccess(source));
    expect(await viaSupabase.health.fleet()).toEqual(await f.sg.health.fleet());
    const permitA = await viaSupabase.breaker.acquire(source);
    expect(permitA).toEqual(await f.sg.breaker.acquire(source));
  });

  test('every result shape of the generated table is the same over both transports (set, one row, no row, scalar, void)', async () => {
    const source = await f.createSource('Contract Shapes');
    const pgT = f.sg.transport;
    const sbT = viaSupabase.transport;
    const both = async <F extends FunctionName>(fn: F, args: RpcArgs<F>) => {
      const [a, b] = [await pgT.rpc(fn, args), await sbT.rpc(fn, args)];
      expect(b, fn).toEqual(a);
      return a;
    };
    const shapes = new Set<string>();
    const seen = <F extends FunctionName>(fn: F) => shapes.add(FUNCTION_RETURNS[fn].shape);

    // scalar: start_run and append_logs write, so each transport writes its own and both results are compared by kind.
    const [runA, runB] = [
      await pgT.rpc('start_run', { source_id: source, engine: 'api' }),
      await sbT.rpc('start_run', { source_id: source, engine: 'api' }),
    ];
    expect([typeof runA, typeof runB]).toEqual(['string', 'string']);
    seen('start_run');
    const entries = [{ level: 'warn' as const, message: 'slow', metadata: { ms: 1200 } }];
    expect(await pgT.rpc('append_logs', { run_id: runA, entries })).toBe(1);
    expect(await sbT.rpc('append_logs', { run_id: runA, entries })).toBe(1);
    // rows (RETURNS TABLE), rows (setof a table), row and no row (a table's row type), row (OUT parameters)
    const logs = await both('run_logs', { run_id: runA, min_level: 'info' });
    expect(logs).toMatchObject([{ level: 'warn', message: 'slow', metadata: { ms: 1200 }, matching: 2 }, { matching: 2 }]);
    seen('run_logs');
    expect(await both('event_history', { event_id: '00000000-0000-4000-8000-00000000e0e0' })).toEqual([]);
    seen('event_history');
    expect(await both('event_as_of', { event_id: '00000000-0000-4000-8000-00000000e0e0', at: '2026-01-01T00:00:00Z' })).toBeNull();
    seen('event_as_of');
    const state = await both('configure_breaker', { source_id: source, failure_threshold: 4 });
    expect(state).toMatchObject({ source_id: source, failure_threshold: 4, state: 'closed' });
    const pruned = await both('prune_event_revisions', { keep_last: 1000 });
    expect(pruned).toEqual({ events_pruned: 0, rows_deleted: 0, baselines_written: 0 });
    seen('prune_event_revisions');
    // void: the change context of a run; set on its own it ends with its one-statement transaction.
    expect(await pgT.rpc('set_change_context', { run_id: runB })).toBeUndefined();
    expect(await sbT.rpc('set_change_context', { run_id: runB })).toBeUndefined();
    seen('set_change_context');
    expect([...shapes].sort()).toEqual(['row', 'rows', 'scalar', 'void']);
  });

  test('PostgREST errors map to the same typed errors', async () => {
    const err = await viaSupabase.breaker.recordFailure('00000000-0000-4000-8000-000000000000').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UnknownSourceError);
    const anon = createScrapeguard({ supabase: supabaseWith(makeJwt({ role: 'anon' })) });
    await expect(anon.breaker.recordFailure('00000000-0000-4000-8000-000000000000')).rejects.toBeInstanceOf(
      PermissionDeniedError,
    );
  });

  test('change contexts and the shared clock need the pg transport', async () => {
    await expect(viaSupabase.transport.withChangeContext({ runId: null }, async () => 1)).rejects.toThrow(/pg transport/);
    expect(viaSupabase.clock).toBeNull();
    expect(f.sg.clock).toBeInstanceOf(TestClock);
    expect((await f.sg.clock!.read()).now).toMatch(/^\d{4}-\d\d-\d\dT/);
  });

  test('a request with no HTTP answer → ConnectionLostError (a write may have committed, a read not)', async () => {
    const unreachable = createClient<Database>('http://project.supabase.test', serviceKey, {
      global: { fetch: () => Promise.reject(new TypeError('fetch failed')) },
      auth: { persistSession: false, autoRefreshToken: false },
      realtime: { transport: NoRealtime as never },
    });
    const t = new SupabaseTransport(unreachable);
    await expect(t.rpc('record_failure', { source_id: '00000000-0000-4000-8000-000000000001' })).rejects.toMatchObject({
      name: 'ConnectionLostError',
      retryable: true,
      mayHaveCommitted: true,
    });
    await expect(t.select('circuit_breaker_state')).rejects.toMatchObject({ name: 'ConnectionLostError', mayHaveCommitted: false });
  });
});
