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
import { spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import pg from 'pg';
import { currentMigration } from './migrations.js';
import { APP_USER, knownClusterInfo, readClusterInfo, startCluster, stopCluster, type ClusterInfo } from './local-postgres.js';

import { LOCAL_CLUSTER_DIR, PROJECT_ROOT, SHIM_FILE } from './paths.js';

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

/**
 * Runs every committed migration: exactly `npx graphile-migrate migrate` with
 * DATABASE_URL set, in a child process. (graphile-migrate's pool ends the whole
 * process when one of its idle connections is terminated, which tests do when they
 * drop databases, so it never runs inside a long-lived process.)
 */
export async function migrate(url: string, opts: { quiet?: boolean } = {}): Promise<void> {
  const result = await graphileMigrate(['migrate'], { ...process.env, DATABASE_URL: url });
  if (result.code !== 0) {
    throw new Error(`graphile-migrate migrate failed:\n${result.output.trim()}`);
  }
  if (!opts.quiet) process.stdout.write(result.output);
}

/**
 * Applies the migration being developed (migrations/current.sql or current/) in one
 * transaction, with the settings graphile-migrate gives migrations (.gmrc pgSettings),
 * as `npm run watch` does. Returns false when current is blank.
 */
export async function applyCurrent(url: string): Promise<boolean> {
  const current = currentMigration();
  if (!current) return false;
  await withClient(url, async (c) => {
    await inTransaction(c, `set local search_path = pg_catalog; set local lock_timeout = '10s';\n${current.body}`).catch(
      (err: Error) => {
        throw new Error(`migrations/${current.filename} failed: ${err.message}`);
      },
    );
  });
  return true;
}

/**
 * Run the graphile-migrate CLI from the project root; resolves with its exit code and,
 * unless `inherit` (output streamed to this process, as `watch` needs), its output.
 * With `inherit`, graphile-migrate ends with this process's parent: SIGINT, SIGTERM and
 * SIGHUP sent here go on to it, and when the parent goes away (npm does not pass a
 * SIGTERM on to its script; `npm run watch` runs this script directly under npm, without
 * tsx's wrapper process) it is stopped too, instead of watching on under PID 1.
 */
export function graphileMigrate(
  args: string[],
  env: NodeJS.ProcessEnv,
  opts: { inherit?: boolean } = {},
): Promise<{ code: number; output: string }> {
  const cli = createRequire(import.meta.url).resolve('graphile-migrate/dist/cli.js');
  return new Promise((resolvePromise, reject) => {
    const child = spawn(process.execPath, [cli, ...args], {
      cwd: PROJECT_ROOT,
      env,
      stdio: opts.inherit ? 'inherit' : 'pipe',
    });
    let output = '';
    child.stdout?.on('data', (d: Buffer) => (output += d.toString()));
    child.stderr?.on('data', (d: Buffer) => (output += d.toString()));
    const forward = (signal: NodeJS.Signals) => child.kill(signal);
    const signals: NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP'];
    const parent = process.ppid;
    let orphanCheck: NodeJS.Timeout | undefined;
    if (opts.inherit) {
      for (const s of signals) process.on(s, forward);
      orphanCheck = setInterval(() => {
        if (process.ppid !== parent) child.kill('SIGTERM');
      }, 250);
    }
    const done = () => {
      for (const s of signals) process.off(s, forward);
      if (orphanCheck) clearInterval(orphanCheck);
    };
    child.on('error', (err) => {
      done();
      reject(err);
    });
    child.on('close', (code, signal) => {
      done();
      resolvePromise({ code: code ?? (signal ? 128 + (signalNumber[signal] ?? 15) : 1), output });
    });
  });
}

const signalNumber: Partial<Record<NodeJS.Signals, number>> = { SIGHUP: 1, SIGINT: 2, SIGTERM: 15 };

/** Run `sql` in one transaction on `client`: committed if it all succeeds, rolled back otherwise. */
export async function inTransaction(client: pg.Client | pg.PoolClient, sql: string): Promise<void> {
  await client.query('begin');
  try {
    await client.query(sql);
    await client.query('commit');
  } catch (err) {
    await client.query('rollback');
    throw err;
  }
}

/** Replace the database name of a connection string. */
export function withDatabase(url: string, database: string): string {
  const u = new URL(url);
  u.pathname = `/${database}`;
  return u.toString();
}

export interface LocalTarget {
  cluster: ClusterInfo;
  /** False when this call started the server (so the caller may stop it again). */
  wasRunning: boolean;
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
  const running = readClusterInfo(LOCAL_CLUSTER_DIR);
  const port = process.env.SCRAPEGUARD_DB_PORT ? Number(process.env.SCRAPEGUARD_DB_PORT) : undefined;
  if (port !== undefined && !(Number.isInteger(port) && port > 0 && port < 65536)) {
    throw new Error(`SCRAPEGUARD_DB_PORT must be a port number (got ${JSON.stringify(process.env.SCRAPEGUARD_DB_PORT)})`);
  }
  // The development database is kept: durable settings, and the same port on every start.
  const cluster =
    running ??
    (await startCluster(LOCAL_CLUSTER_DIR, { durable: true, port, notice: (message) => console.error(message) }));
  await bootstrapCluster(cluster);
  for (const db of [LOCAL_DATABASE, `${LOCAL_DATABASE}_shadow`]) {
    await withClient(cluster.rootUrl, async (c) => {
      const r = await c.query('select 1 from pg_database where datname = $1', [db]);
      if (r.rowCount === 0) await c.query(`create database ${pg.escapeIdentifier(db)} owner ${APP_USER}`);
    });
  }
  return {
    cluster,
    wasRunning: running !== null,
    databaseUrl: cluster.urlFor(LOCAL_DATABASE),
    shadowUrl: cluster.urlFor(`${LOCAL_DATABASE}_shadow`),
    rootUrl: cluster.rootUrl,
    superuserUrl: cluster.urlFor(LOCAL_DATABASE, 'supabase_admin'),
  };
}

export function stopLocalDatabase(remove = false): { stopped: boolean; removed: boolean } {
  return stopCluster(LOCAL_CLUSTER_DIR, { remove });
}

/** The local development database's URLs whether or not it runs; null if it was never started. */
export function knownLocalDatabase(): { running: boolean; port: number; major: string; databaseUrl: string; shadowUrl: string; rootUrl: string } | null {
  const known = knownClusterInfo(LOCAL_CLUSTER_DIR);
  if (!known) return null;
  return {
    running: known.running,
    port: known.port,
    major: known.major,
    databaseUrl: known.urlFor(LOCAL_DATABASE),
    shadowUrl: known.urlFor(`${LOCAL_DATABASE}_shadow`),
    rootUrl: known.rootUrl,
  };
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

/**
 * A fresh database `name` on the local server, shimmed and migrated like the
 * application database (replacing one of that name): the committed migrations and
 * the one in current, as the tests see them. Returns its URL as the
 * application role.
 */
export async function createMigratedLocalDatabase(local: LocalTarget, name: string): Promise<string> {
  await withClient(local.rootUrl, async (c) => {
    await c.query(`drop database if exists ${pg.escapeIdentifier(name)} with (force)`);
    await c.query(`create database ${pg.escapeIdentifier(name)} owner ${APP_USER}`);
  });
  await applyShim(withDatabase(local.superuserUrl, name));
  const url = withDatabase(local.databaseUrl, name);
  await migrate(url, { quiet: true });
  await applyCurrent(url);
  return url;
}

export async function dropLocalDatabase(local: LocalTarget, name: string): Promise<void> {
  await withClient(local.rootUrl, (c) => c.query(`drop database if exists ${pg.escapeIdentifier(name)} with (force)`));
}
