/**
 * The development database that `npm run db:start` keeps in a checkout of scrapeguard
 * (.scrapeguard/cluster/ under the current directory): its port is in a small state
 * file there. Read as a file so the CLI depends on nothing outside the package.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

export const LOCAL_STATE_FILE = join('.scrapeguard', 'cluster', 'scrapeguard-cluster.json');

/** The local development database's URL, or null when there is none here. */
export function localDatabaseUrl(cwd: string = process.cwd()): string | null {
  // SCRAPEGUARD_LOCAL_DIR moves the database of `npm run db:start` (the tests use it).
  const dir = process.env.SCRAPEGUARD_LOCAL_DIR;
  const file = dir ? join(dir, 'scrapeguard-cluster.json') : join(cwd, LOCAL_STATE_FILE);
  if (!existsSync(file)) return null;
  const state = JSON.parse(readFileSync(file, 'utf8')) as { port?: unknown };
  if (typeof state.port !== 'number') return null;
  return `postgres://postgres@127.0.0.1:${state.port}/scrapeguard`;
}
