/**
 * Connection targets and the steps every entry point shares: prepare a plain
 * PostgreSQL so it looks like Supabase, then run graphile-migrate.
 *
 *  - DATABASE_URL set: use it as it is (a Supabase project, a local stack, any
 *    PostgreSQL >= 15). The shim is applied only if the database lacks Supabase's
 *    pieces; on Supabase itself it is skipped.
 *  - otherwise: the embedded default, a local cluster under `.scrapeguard/`.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import pg from 'pg';
import { Logger, migrate as gmMigrate, type Settings } from 'graphile-migrate';
import { APP_USER, readClusterInfo, startCluster, stopCluster, type ClusterInfo } from './local-postgres.js';

import { LOCAL_CLUSTER_DIR, MIGRATIONS_DIR, PROJECT_ROOT, SHIM_FILE } from './paths.js';

export { PROJECT_ROOT };
export const LOCAL_DATABASE = 'scrapeguard';

export async function withClient<T>(url: string, fn: (c: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

/**
 * Apply the Supabase shim through `superuserUrl` (a superuser connection to the
 * target database) unless the database already has Supabase's pieces.
 */
export async function applyShim(superuserUrl: string): Promise<boolean> {
  const sql = await readFile(SHIM_FILE, 'utf8');
  return withClient(superuserUrl, async (c) => {
    // Everything the shim provides is already there: a Supabase database (or one
    // shimmed before). Leave it exactly as it is.
    const r = await c.query<{ yes: boolean }>(`
      select to_regrole('anon') is not null and to_regrole('authenticated') is not null
         and to_regrole('service_role') is not null and to_regprocedure('auth.uid()') is not null
         and to_regprocedure('auth.jwt()') is not null and to_regclass('auth.users') is not null
         and exists (select from pg_catalog.pg_publication where pubname = 'supabase_realtime') as yes`);
    if (r.rows[0]?.yes) return false;
    await c.query(sql);
    return true;
  });
}

/** Runs every committed migration (graphile-migrate, same as `npx graphile-migrate migrate`). */
export async function migrate(url: string, opts: { quiet?: boolean } = {}): Promise<void> {
  const gmrc = await readFile(join(PROJECT_ROOT, '.gmrc'), 'utf8');
  const pgSettings = /"search_path":\s*"([^"]+)"/.exec(gmrc)?.[1];
  const settings: Settings = {
    connectionString: url,
    migrationsFolder: MIGRATIONS_DIR,
    pgSettings: pgSettings ? { search_path: pgSettings } : {},
    ...(opts.quiet ? { logger: quietLogger() } : {}),
  };
  const cwd = process.cwd();
  process.chdir(PROJECT_ROOT);
  try {
    await gmMigrate(settings);
  } finally {
    process.chdir(cwd);
  }
}

function quietLogger(): Logger {
  return new Logger(() => () => {});
}

export interface LocalTarget {
  cluster: ClusterInfo;
  databaseUrl: string;
  shadowUrl: string;
  rootUrl: string;
  superuserUrl: string;
}

/**
 * Start (or reuse) the local embedded cluster and make sure the application
 * database and its shadow exist, owned by the application role.
 */
export async function ensureLocalDatabase(): Promise<LocalTarget> {
  const cluster = readClusterInfo(LOCAL_CLUSTER_DIR) ?? (await startCluster(LOCAL_CLUSTER_DIR));
  await bootstrapCluster(cluster);
  for (const db of [LOCAL_DATABASE, `${LOCAL_DATABASE}_shadow`]) {
    await withClient(cluster.rootUrl, async (c) => {
      const r = await c.query('select 1 from pg_database where datname = $1', [db]);
      if (r.rowCount === 0) await c.query(`create database ${pg.escapeIdentifier(db)} owner ${APP_USER}`);
    });
  }
  return {
    cluster,
    databaseUrl: cluster.urlFor(LOCAL_DATABASE),
    shadowUrl: cluster.urlFor(`${LOCAL_DATABASE}_shadow`),
    rootUrl: cluster.rootUrl,
    superuserUrl: cluster.urlFor(LOCAL_DATABASE, 'supabase_admin'),
  };
}

export function stopLocalDatabase(remove = false): void {
  stopCluster(LOCAL_CLUSTER_DIR, { remove });
}

/**
 * What Supabase's platform does before any user migration: a non-superuser
 * `postgres` role that owns the databases and may create roles and databases.
 */
export async function bootstrapCluster(cluster: ClusterInfo): Promise<void> {
  await withClient(cluster.rootUrl, async (c) => {
    await c.query(`
      do $$
      begin
        if to_regrole('postgres') is null then
          create role postgres login createdb createrole replication bypassrls;
        end if;
      end
      $$;
    `);
  });
}
