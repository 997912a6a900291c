/**
 * `npm run schema`: writes schema/ (one file per scrapeguard object, see
 * scripts/lib/schema-files.ts) from a throwaway database on the local embedded server,
 * built like the test template: shim, every committed migration, the migration in
 * current. With DATABASE_URL it reads that database instead (it must be a bare
 * Supabase-like database migrated by scrapeguard, or the files will show its extras).
 * `npm run commit` runs it after committing; `npm run watch` after each run of current
 * (a graphile-migrate afterCurrent hook, which names the watched database in GM_DBURL).
 */
import { createMigratedLocalDatabase, dropLocalDatabase, ensureLocalDatabase, stopLocalDatabase } from './lib/database.js';
import { SCHEMA_DIR, writeSchemaFiles } from './lib/schema-files.js';

async function main(): Promise<void> {
  let source = process.env.GM_DBURL ?? process.env.DATABASE_URL;
  let cleanup = async (): Promise<void> => {};
  if (!source) {
    const local = await ensureLocalDatabase();
    const name = `sg_schema_${process.pid}`;
    source = await createMigratedLocalDatabase(local, name);
    cleanup = async () => {
      await dropLocalDatabase(local, name);
      if (!local.wasRunning) stopLocalDatabase();
    };
  }
  try {
    console.log(`wrote ${await writeSchemaFiles(source)} files to ${SCHEMA_DIR}/`);
  } finally {
    await cleanup();
  }
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? err.message : err);
  process.exit(1);
});
