/**
 * `npm run demo`: start the embedded PostgreSQL (or use DATABASE_URL), migrate,
 * seed, and show what is there. Stops what it started.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { applyShim, ensureLocalDatabase, migrate, stopLocalDatabase, withClient } from './lib/database.js';
import { PROJECT_ROOT } from './lib/paths.js';

async function main(): Promise<void> {
  const started = Date.now();
  let url = process.env.DATABASE_URL;
  let startedLocal = false;
  if (!url) {
    const local = await ensureLocalDatabase();
    await applyShim(local.superuserUrl);
    url = local.databaseUrl;
    startedLocal = !local.wasRunning;
    console.log(`embedded PostgreSQL ${local.cluster.major} on port ${local.cluster.port}`);
  }
  try {
    await migrate(url, { quiet: true });
    const seed = await readFile(join(PROJECT_ROOT, 'seed.sql'), 'utf8');
    await withClient(url, async (c) => {
      await c.query(seed);
      const sources = await c.query<{ name: string; base_url: string; is_active: boolean }>(
        'select name, base_url, is_active from public.event_sources order by name',
      );
      console.log('\nevent sources:');
      console.table(sources.rows);
      const events = await c.query<{ title: string; start_time: Date; status: string }>(
        'select title, start_time, status from public.events order by start_time',
      );
      console.log('events:');
      console.table(events.rows);
    });
  } finally {
    if (startedLocal) stopLocalDatabase();
  }
  console.log(`done in ${((Date.now() - started) / 1000).toFixed(1)} s`);
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? err.message : err);
  process.exit(1);
});
