/**
 * Type-level tests: supabase-js calls typed by the generated `Database` compile when
 * they match the database's functions and tables, and do not when they don't.
 * Checked by `vitest --typecheck` (part of `npm test`).
 */
import type { SupabaseClient } from '@supabase/supabase-js';
import { describe, expectTypeOf, test } from 'vitest';
import type { Database } from '../../sdk/index.js';

declare const client: SupabaseClient<Database>;

describe('SupabaseClient<Database>', () => {
  test('RPCs take their named arguments', () => {
    void client.rpc('acquire_permit', { source_id: 'x' });
    void client.rpc('acquire_permit', { source_id: 'x', worker: 'w1' });
    void client.rpc('record_failure', { source_id: 'x', error: 'HTTP 503', probe_id: 'p' });
    void client.rpc('append_logs', { run_id: 'r', entries: [{ level: 'info', message: 'm' }] });
    void client.rpc('event_as_of', { event_id: 'e', at: '2026-01-01T00:00:00Z' });
    // @ts-expect-error source_id is a uuid string, not a number
    void client.rpc('acquire_permit', { source_id: 42 });
    // @ts-expect-error probe_id is a uuid string
    void client.rpc('record_success', { source_id: 'x', probe_id: 7 });
    // @ts-expect-error coverage is numeric, not text
    void client.rpc('finish_run', { run_id: 'r', status: 'succeeded', field_coverage: 'high' });
    // @ts-expect-error no such function
    void client.rpc('drop_everything', {});
  });

  test('results are typed', async () => {
    const { data } = await client.rpc('acquire_permit', { source_id: 'x' });
    expectTypeOf(data).toEqualTypeOf<
      { allowed: boolean; state: string; probe_id: string; retry_at: string }[] | null
    >();
    const runId = await client.rpc('start_run', { source_id: 'x', engine: 'api' });
    expectTypeOf(runId.data).toEqualTypeOf<string | null>();
  });

  test('tables are typed', async () => {
    const { data } = await client.from('circuit_breaker_state').select('state, failure_count').eq('source_id', 'x');
    expectTypeOf(data).toEqualTypeOf<{ state: string; failure_count: number }[] | null>();
    // @ts-expect-error no such column
    void client.from('scraping_runs').select('*').eq('no_such_column', 1);
  });
});
