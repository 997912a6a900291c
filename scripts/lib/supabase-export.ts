/**
 * The committed migrations in the Supabase CLI's format:
 * supabase/migrations/<14-digit timestamp>_<name>.sql, so `supabase db push` can apply
 * them. Written on demand (`npm run export:supabase`, and by `npm run commit`) and not
 * committed: migrations/committed stays the one copy of every migration. Timestamps are derived from the migration number (not the clock) so the export
 * is reproducible: 000007 → 20260101000007.
 */
import { mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { committedMigrations } from './migrations.js';
import { PROJECT_ROOT } from './paths.js';

export const EXPORT_DIR = 'supabase/migrations';
const EPOCH = '20260101';

export interface ExportedMigration {
  filename: string;
  content: string;
}

export function supabaseMigrations(): ExportedMigration[] {
  return committedMigrations().map((m) => {
    const name = m.filename.replace(/^\d{6}-/, '').replace(/\.sql$/, '').replace(/-/g, '_');
    return {
      filename: `${EPOCH}${m.number}_${name}.sql`,
      content:
        `-- scrapeguard migration ${m.number} (exported from migrations/committed/${m.filename} by npm run export:supabase).\n` +
        `-- Down script: migrations/rollback/${m.number}.sql\n\n${m.body}`,
    };
  });
}

/** Writes the export, removing exported files of migrations that no longer exist. */
export function writeSupabaseExport(): void {
  const dir = join(PROJECT_ROOT, EXPORT_DIR);
  mkdirSync(dir, { recursive: true });
  const files = supabaseMigrations();
  const keep = new Set(files.map((f) => f.filename));
  for (const f of readdirSync(dir)) if (f.endsWith('.sql') && !keep.has(f)) rmSync(join(dir, f));
  for (const f of files) writeFileSync(join(dir, f.filename), f.content);
  console.log(`wrote ${files.length} migrations to ${EXPORT_DIR}/`);
}
