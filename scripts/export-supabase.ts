/** `npm run export:supabase`: writes supabase/migrations/ from migrations/committed/. */
import { mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { PROJECT_ROOT } from './lib/paths.js';
import { EXPORT_DIR, supabaseMigrations } from './lib/supabase-export.js';

const dir = join(PROJECT_ROOT, EXPORT_DIR);
mkdirSync(dir, { recursive: true });
const files = supabaseMigrations();
const keep = new Set(files.map((f) => f.filename));
for (const f of readdirSync(dir)) if (f.endsWith('.sql') && !keep.has(f)) rmSync(join(dir, f));
for (const f of files) writeFileSync(join(dir, f.filename), f.content);
console.log(`wrote ${files.length} migrations to ${EXPORT_DIR}/`);
