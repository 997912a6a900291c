import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** Absolute paths every script agrees on. */
export const PROJECT_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const MIGRATIONS_DIR = join(PROJECT_ROOT, 'migrations');
export const SHIM_FILE = join(MIGRATIONS_DIR, 'support', 'supabase-shim.sql');
/** The development database of `npm run db:start` (SCRAPEGUARD_LOCAL_DIR moves it, as the tests do). */
export const LOCAL_CLUSTER_DIR = process.env.SCRAPEGUARD_LOCAL_DIR
  ? resolve(process.env.SCRAPEGUARD_LOCAL_DIR)
  : join(PROJECT_ROOT, '.scrapeguard', 'cluster');
