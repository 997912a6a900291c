/**
 * Files generated from the database are committed (sdk/database.types.ts, schema/);
 * these tests fail when one is stale. The Supabase export (supabase/migrations, written
 * on demand by npm run export:supabase and not committed) is proven to build the same
 * schema as graphile-migrate.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, expect, test } from 'vitest';
import { inTransaction, migrate } from '../scripts/lib/database.js';
import { PROJECT_ROOT } from '../scripts/lib/paths.js';
import { supabaseMigrations } from '../scripts/lib/supabase-export.js';
import { generateSchemaFiles, SCHEMA_DIR } from '../scripts/lib/schema-files.js';
import { FUNCTIONS_FILE, generateDatabaseTypes, TYPES_FILE } from '../scripts/lib/typegen.js';
import { catalogSnapshot } from './support/catalog.js';
import { BARE_TEMPLATE, createTestDatabase, MIGRATED_TEMPLATE } from './support/db.js';

describe('generated files', () => {
  test(`${TYPES_FILE} and ${FUNCTIONS_FILE} match the migrated schema (run npm run typegen)`, async () => {
    const db = await createTestDatabase(MIGRATED_TEMPLATE);
    try {
      const fresh = await generateDatabaseTypes(db.appUrl);
      expect(readFileSync(join(PROJECT_ROOT, TYPES_FILE), 'utf8')).toBe(fresh.types);
      expect(readFileSync(join(PROJECT_ROOT, FUNCTIONS_FILE), 'utf8')).toBe(fresh.functions);
    } finally {
      await db.drop();
    }
  });

  test(`${SCHEMA_DIR}/ holds the current definition of every scrapeguard object (run npm run schema)`, async () => {
    const db = await createTestDatabase(MIGRATED_TEMPLATE);
    try {
      const fresh = await generateSchemaFiles(await db.client());
      expect(fresh.size).toBeGreaterThan(50);
      const onDisk = readdirSync(join(PROJECT_ROOT, SCHEMA_DIR), { recursive: true, withFileTypes: true })
        .filter((e) => e.isFile())
        .map((e) => relative(PROJECT_ROOT, join(e.parentPath, e.name)))
        .sort();
      expect(onDisk).toEqual([...fresh.keys()].sort());
      for (const [path, content] of fresh) expect(readFileSync(join(PROJECT_ROOT, path), 'utf8'), path).toBe(content);
    } finally {
      await db.drop();
    }
  });

  test('the Supabase export applied in order gives the same catalog as graphile-migrate', async () => {
    const exported = await createTestDatabase(BARE_TEMPLATE);
    // The committed migrations only: the export holds no work in progress.
    const migrated = await createTestDatabase(BARE_TEMPLATE);
    try {
      await migrate(migrated.appUrl, { quiet: true });
      const c = await exported.client();
      for (const f of supabaseMigrations()) {
        // The Supabase CLI runs each file in its own transaction with the default search_path.
        await inTransaction(c, f.content);
      }
      const viaGraphile = await catalogSnapshot(await migrated.client());
      expect(await catalogSnapshot(c)).toEqual(viaGraphile);
    } finally {
      await exported.drop();
      await migrated.drop();
    }
  });
});
