/**
 * `npm run typegen`: writes sdk/database.types.ts and sdk/database.functions.ts.
 *
 * With DATABASE_URL: introspects that database (a bare Supabase-like database
 * migrated by scrapeguard yields exactly the committed file). Without: builds a
 * throwaway database on the local embedded server (shim + every committed
 * migration + the one in current), introspects it and drops it, so local experiments never leak in.
 */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createMigratedLocalDatabase, dropLocalDatabase, ensureLocalDatabase, stopLocalDatabase } from './lib/database.js';
import { PROJECT_ROOT } from './lib/paths.js';
import { FUNCTIONS_FILE, generateDatabaseTypes, TYPES_FILE } from './lib/typegen.js';

async function main(): Promise<void> {
  let source = process.env.DATABASE_URL;
  let cleanup = async (): Promise<void> => {};
  if (!source) {
    const local = await ensureLocalDatabase();
    const name = `sg_typegen_${process.pid}`;
    source = await createMigratedLocalDatabase(local, name);
    cleanup = async () => {
      await dropLocalDatabase(local, name);
      if (!local.wasRunning) stopLocalDatabase();
    };
  }
  try {
    const generated = await generateDatabaseTypes(source);
    await writeFile(join(PROJECT_ROOT, TYPES_FILE), generated.types);
    await writeFile(join(PROJECT_ROOT, FUNCTIONS_FILE), generated.functions);
    console.log(`wrote ${TYPES_FILE} and ${FUNCTIONS_FILE}`);
  } finally {
    await cleanup();
  }
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? err.message : err);
  process.exit(1);
});
