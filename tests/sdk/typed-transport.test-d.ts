/**
 * Type-level tests of the SDK's transports: both implement one interface typed by the
 * generated schema, so a wrong function or relation name, a wrong argument name or type,
 * or a result field that does not exist fails to compile, over either transport.
 * Checked by `vitest --typecheck` (part of `npm test`).
 */
import { describe, expectTypeOf, test } from 'vitest';
import {
  FUNCTION_RETURNS,
  PgTransport,
  SupabaseTransport,
  type BreakerState,
  type BreakerStateRow,
  type Database,
  type FleetHealthRow,
  type Json,
  type RunRow,
  type Scrapeguard,
  type Transport,
  type TransitionRow,
} from '../../sdk/index.js';

type Functions = Database['public']['Functions'];
type Tables = Database['public']['Tables'];

declare const pgTransport: PgTransport;
declare const supabaseTransport: SupabaseTransport;
declare const sg: Scrapeguard;

describe('the generated table of result shapes', () => {
  test('names exactly the functions of the generated Database type', () => {
    expectTypeOf<keyof typeof FUNCTION_RETURNS>().toEqualTypeOf<keyof Functions>();
  });
});

describe('both transports', () => {
  test('have exactly the typed methods of the Transport interface', () => {
    expectTypeOf<PgTransport['rpc']>().toEqualTypeOf<Transport['rpc']>();
    expectTypeOf<SupabaseTransport['rpc']>().toEqualTypeOf<Transport['rpc']>();
    expectTypeOf<PgTransport['select']>().toEqualTypeOf<Transport['select']>();
    expectTypeOf<SupabaseTransport['select']>().toEqualTypeOf<Transport['select']>();
  });
});

// The same checks for each transport, and for the interface they implement.
for (const [name, t] of [
  ['PgTransport', pgTransport],
  ['SupabaseTransport', supabaseTransport],
  ['Transport', sg.transport],
] as const satisfies readonly (readonly [string, Transport])[]) {
  describe(`${name}.rpc`, () => {
    test('takes the named arguments of the function, optional ones may be left out or null', () => {
      void t.rpc('acquire_permit', { source_id: 's' });
      void t.rpc('acquire_permit', { source_id: 's', worker: 'w1' });
      void t.rpc('record_failure', { source_id: 's', error: null, probe_id: null });
      void t.rpc('append_logs', { run_id: 'r', entries: [{ level: 'info', message: 'm', metadata: {} }] });
      void t.rpc('fleet_health', {});
      void t.rpc('fleet_health', { last_n: 5, recent: '1 hour' });
    });

    test('a wrong function name does not compile', () => {
      // @ts-expect-error no such function
      void t.rpc('drop_everything', {});
      // @ts-expect-error a table is not a function
      void t.rpc('scraping_runs', {});
    });

    test('a wrong argument name does not compile', () => {
      // @ts-expect-error the argument is source_id
      void t.rpc('acquire_permit', { sourceId: 's' });
      // @ts-expect-error no such argument
      void t.rpc('record_success', { source_id: 's', probe: 'p' });
      // @ts-expect-error source_id is required
      void t.rpc('record_failure', { error: 'HTTP 503' });
    });

    test('a wrong argument type does not compile', () => {
      // @ts-expect-error source_id is a uuid string, not a number
      void t.rpc('acquire_permit', { source_id: 42 });
      // @ts-expect-error field_coverage is numeric
      void t.rpc('finish_run', { run_id: 'r', status: 'succeeded', field_coverage: 'high' });
      // @ts-expect-error a required argument is not nullable
      void t.rpc('start_run', { source_id: null, engine: 'api' });
    });

    test('resolves to the shape of the function: a set, one row or null, a scalar', async () => {
      expectTypeOf(await t.rpc('start_run', { source_id: 's', engine: 'api' })).toEqualTypeOf<string>();
      expectTypeOf(await t.rpc('append_logs', { run_id: 'r', entries: [] })).toEqualTypeOf<number>();
      expectTypeOf(await t.rpc('set_change_context', { run_id: 'r' })).toEqualTypeOf<undefined>();
      // A table's row type: its NOT NULL columns hold; the function may return no row.
      expectTypeOf(await t.rpc('record_success', { source_id: 's' })).toEqualTypeOf<
        Functions['record_success']['Returns'] | null
      >();
      expectTypeOf(await t.rpc('event_as_of', { event_id: 'e', at: 'now' })).toEqualTypeOf<Tables['events']['Row'] | null>();
      expectTypeOf(await t.rpc('events_as_of', { at: 'now' })).toEqualTypeOf<Tables['events']['Row'][]>();
      // RETURNS TABLE columns: any of them may be null.
      expectTypeOf(await t.rpc('acquire_permit', { source_id: 's' })).toEqualTypeOf<
        { allowed: boolean | null; probe_id: string | null; retry_at: string | null; state: string | null }[]
      >();
      expectTypeOf(await t.rpc('run_logs', { run_id: 'r' })).items.toHaveProperty('metadata').toEqualTypeOf<Json | null>();
    });

    test('a result field that does not exist does not compile', async () => {
      const [permit] = await t.rpc('acquire_permit', { source_id: 's' });
      // @ts-expect-error acquire_permit returns probe_id, not probeId
      void permit?.probeId;
      const row = await t.rpc('record_failure', { source_id: 's' });
      // @ts-expect-error the row may be null
      void row.state;
      // @ts-expect-error no such column of circuit_breaker_state
      void row?.failures;
      const id = await t.rpc('start_run', { source_id: 's', engine: 'api' });
      // @ts-expect-error start_run returns the run id, not a row
      void id.id;
    });
  });

  describe(`${name}.select`, () => {
    test('returns the generated Row of the relation, filters by its columns', async () => {
      const runs = await t.select('scraping_runs', { eq: { source_id: 's' }, orderBy: { column: 'started_at', ascending: false }, limit: 5 });
      expectTypeOf(runs).toEqualTypeOf<Tables['scraping_runs']['Row'][]>();
      expectTypeOf(await t.select('event_sources')).items.toHaveProperty('name').toEqualTypeOf<string>();
    });

    test('a wrong relation, column, filter value or field does not compile', async () => {
      // @ts-expect-error no such relation
      void t.select('no_such_table');
      // @ts-expect-error no such column to filter on
      void t.select('scraping_runs', { eq: { no_such_column: 1 } });
      // @ts-expect-error is_active is a boolean
      void t.select('event_sources', { eq: { is_active: 'yes' } });
      // @ts-expect-error no such column to order by
      void t.select('scraping_runs', { orderBy: { column: 'when' } });
      const [source] = await t.select('event_sources');
      // @ts-expect-error event_sources has no title
      void source?.title;
    });
  });
}

describe('the SDK objects on top', () => {
  test('rows narrowed by the CHECKs of their tables, and no unknown columns', async () => {
    const row: BreakerStateRow = await sg.breaker.recordFailure('s', 'HTTP 503');
    expectTypeOf(row.state).toEqualTypeOf<BreakerState>();
    expectTypeOf(row.failure_count).toEqualTypeOf<number>();
    // @ts-expect-error no such column (the row type is the generated one, not an open record)
    void row.failures;
    const [run] = await sg.runs.list('s');
    expectTypeOf(run!).toMatchTypeOf<RunRow>();
    expectTypeOf(run!.field_coverage).toEqualTypeOf<number | null>();
    // @ts-expect-error no such column of scraping_runs
    void run?.coverage;
    const [health] = await sg.health.fleet();
    expectTypeOf(health!.source_name).toEqualTypeOf<string>();
    expectTypeOf(health!.breaker_state).toEqualTypeOf<BreakerState>();
    expectTypeOf(health!.last_run_status).toEqualTypeOf<string | null>();
    expectTypeOf(health!).toMatchTypeOf<FleetHealthRow>();
    const [transition] = await sg.transitions.recent({ limit: 1 });
    expectTypeOf(transition!.to_state).toEqualTypeOf<BreakerState>();
    expectTypeOf(transition!).toMatchTypeOf<TransitionRow>();
    const page = await sg.logs.forRun('r', { minLevel: 'warn' });
    expectTypeOf(page.lines[0]!.level).toEqualTypeOf<'debug' | 'info' | 'warn' | 'error'>();
    // @ts-expect-error the clock is there only over the pg transport
    await sg.clock.read();
  });
});
