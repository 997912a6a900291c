/** seed.sql loads realistic data into every scrapeguard table and can be run again. */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect, test } from 'vitest';
import { PROJECT_ROOT } from '../scripts/lib/paths.js';
import { useTestDatabase } from './support/db.js';

const db = await useTestDatabase();
const seed = readFileSync(join(PROJECT_ROOT, 'seed.sql'), 'utf8');

async function counts(): Promise<Record<string, number>> {
  const c = await db.client();
  const r = await c.query<Record<string, number>>(`
    select (select count(*)::int from public.event_sources) as sources,
           (select count(*)::int from public.events) as events,
           (select count(*)::int from public.scraping_runs) as runs,
           (select count(*)::int from public.scraping_logs) as logs,
           (select count(*)::int from public.event_revisions where operation = 'update') as field_changes,
           (select count(*)::int from public.circuit_breaker_state) as breakers,
           (select count(*)::int from public.circuit_breaker_state where state = 'open') as open_breakers`);
  return r.rows[0]!;
}

test('seed.sql fills every table and a second run adds nothing', async () => {
  const c = await db.client();
  await c.query(seed);
  const first = await counts();
  expect(first).toMatchObject({ sources: 6, events: 5, runs: 72, logs: 216, field_changes: 4, open_breakers: 1 });
  expect(first.breakers).toBeGreaterThanOrEqual(5);
  await c.query(seed);
  expect(await counts()).toEqual(first);
  const attributed = await c.query<{ n: number }>(
    `select count(*)::int as n from public.event_revisions r join public.scraping_runs s on s.id = r.run_id`,
  );
  expect(attributed.rows[0]?.n).toBe(4);
});
