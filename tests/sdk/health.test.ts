/**
 * sg.health.fleet(): the columns FleetHealthRow types as never null are not null, for a
 * source with no breaker row and no runs as for one with both; the others are null there.
 */
import { describe, expect, test } from 'vitest';
import type { FleetHealthRow } from '../../sdk/index.js';
import { sdkFixture } from './support.js';

const f = await sdkFixture();

const NEVER_NULL = ['source_id', 'source_name', 'is_active', 'breaker_state', 'breaker_failure_count', 'recent_runs', 'last_n_runs'] as const;

describe('fleet health rows', () => {
  test('the columns typed non-null are never null, with or without a breaker row and runs', async () => {
    const quiet = await f.createSource('Health Quiet');
    const busy = await f.createSource('Health Busy');
    const run = await f.sg.runs.start({ sourceId: busy, engine: 'api' }, { intervalMs: 0 });
    await run.finish({ status: 'succeeded', fieldCoverage: 50 });
    await f.sg.breaker.recordFailure(busy, 'once');

    const rows = await f.sg.health.fleet();
    const byId = new Map<string, FleetHealthRow>(rows.map((r) => [r.source_id, r]));
    const q = byId.get(quiet)!;
    expect(q).toMatchObject({ source_name: 'Health Quiet', is_active: true, breaker_state: 'closed', breaker_failure_count: 0, recent_runs: 0, last_n_runs: 0 });
    expect(q.last_run_id).toBeNull();
    expect(q.recent_success_rate).toBeNull();
    expect(byId.get(busy)).toMatchObject({ breaker_state: 'closed', breaker_failure_count: 1, recent_runs: 1, last_n_runs: 1, last_run_status: 'succeeded' });
    for (const row of rows) for (const column of NEVER_NULL) expect(row[column], column).not.toBeNull();
  });
});
