/**
 * The developer loop of the README, run as a developer runs it: the npm scripts in child
 * processes, on a local database moved to a temporary directory (SCRAPEGUARD_LOCAL_DIR)
 * so a developer's own .scrapeguard/ is never touched.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { chmodSync, chownSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, test } from 'vitest';
import { withClient } from '../scripts/lib/database.js';
import { startCluster, stopCluster } from '../scripts/lib/local-postgres.js';
import { PROJECT_ROOT } from '../scripts/lib/paths.js';
import { createTestDatabase } from './support/db.js';

const scratch = mkdtempSync(join(tmpdir(), 'scrapeguard-devloop-'));
chmodSync(scratch, 0o755); // the server may run as the unprivileged postgres user
afterAll(() => {
  for (const d of readdirSync(scratch)) stopCluster(join(scratch, d), { remove: true });
  rmSync(scratch, { recursive: true, force: true });
});

/** `npm run <script>` in a fresh environment (no DATABASE_URL), on the local database in `localDir`. */
function npmRun(localDir: string, script: string, ...args: string[]) {
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !/^npm_/i.test(k) && k !== 'DATABASE_URL'));
  const r = spawnSync('npm', ['run', '--silent', script, ...(args.length ? ['--', ...args] : [])], {
    cwd: PROJECT_ROOT,
    env: { ...env, SCRAPEGUARD_LOCAL_DIR: localDir, NO_COLOR: '1' },
    encoding: 'utf8',
    timeout: 120_000,
  });
  return { code: r.status, out: r.stdout.trim(), err: r.stderr.trim() };
}

function setting(url: string, name: string): Promise<string> {
  return withClient(url, async (c) => (await c.query<{ v: string }>(`select current_setting($1) as v`, [name])).rows[0]!.v);
}

describe('npm run db:start / db:url / db:stop / db:seed', () => {
  test('the local database keeps its port, is durable, and url/stop/seed do only what they say', async () => {
    const local = join(scratch, 'dev');
    const none = npmRun(local, 'db:url');
    expect(none.code).toBe(1);
    expect(none.err).toContain('no local database yet');
    expect(existsSync(join(local, 'pgdata'))).toBe(false); // db:url started nothing

    const first = npmRun(local, 'db:start');
    expect(first.code, first.err).toBe(0);
    const url = /^DATABASE_URL=(.+)$/m.exec(first.out)?.[1];
    expect(url).toMatch(/^postgres:\/\/postgres@127\.0\.0\.1:\d+\/scrapeguard$/);
    expect(first.out).toMatch(/started: PostgreSQL \d+ on 127\.0\.0\.1:\d+ .*the port stays the same/);
    // Durable: a commit the client saw survives a crash (see the stale-lock test below).
    expect(await setting(url!, 'fsync')).toBe('on');
    expect(await setting(url!, 'synchronous_commit')).toBe('on');
    expect(await setting(url!, 'full_page_writes')).toBe('on');

    const seeded = npmRun(local, 'db:seed');
    expect(seeded).toMatchObject({ code: 0, err: '' });
    expect(seeded.out).toBe('seed.sql loaded into scrapeguard: 6 sources, 5 events, 72 runs in all');

    const stopped = npmRun(local, 'db:stop');
    expect(stopped.code).toBe(0);
    expect(stopped.out).toMatch(/^stopped PostgreSQL \d+ on 127\.0\.0\.1:\d+$/m);
    expect(stopped.out).toContain('data kept in');
    expect(npmRun(local, 'db:stop').out).toMatch(/was not running/);

    const printed = npmRun(local, 'db:url');
    expect(printed.code).toBe(0);
    expect(printed.out).toContain(`DATABASE_URL=${url}`);
    expect(printed.err).toContain('not running');
    await expect(withClient(url!, (c) => c.query('select 1'))).rejects.toThrow(); // still stopped

    const again = npmRun(local, 'db:start');
    expect(again.code, again.err).toBe(0);
    expect(again.out).toContain(`DATABASE_URL=${url}`); // the same port: an exported URL keeps working
    const sources = await withClient(url!, (c) => c.query('select count(*)::int as n from public.event_sources'));
    expect(sources.rows[0].n).toBe(6);

    // The CLI, run from the checkout without DATABASE_URL, finds this database by itself.
    const cliEnv = Object.fromEntries(Object.entries(process.env).filter(([k]) => !/^npm_/i.test(k) && k !== 'DATABASE_URL'));
    const status = spawnSync(
      process.execPath,
      [
        '--import', 'tsx', '--input-type=module', '-e',
        `import { main } from ${JSON.stringify(join(PROJECT_ROOT, 'cli', 'main.ts'))};
         process.exitCode = await main(['node', 'scrapeguard', ...process.argv.slice(1)]);`,
        'status',
      ],
      { cwd: PROJECT_ROOT, env: { ...cliEnv, SCRAPEGUARD_LOCAL_DIR: local, NO_COLOR: '1' }, encoding: 'utf8' },
    );
    expect(status.stderr).toBe('');
    expect(status.stdout).toMatch(/Galaxy Arena/);
    expect(status.stdout).toMatch(/Old Macau Listings Portal.*open/);

    const removed = npmRun(local, 'db:stop', '--remove');
    expect(removed.out).toMatch(/^stopped .*\nremoved /m);
    expect(existsSync(local)).toBe(false);
  }, 180_000);

  test('db:seed without a running database says so', () => {
    const r = npmRun(join(scratch, 'never-started'), 'db:seed');
    expect(r.code).toBe(1);
    expect(r.err).toContain('the local database is not running');
  });
});

function postmasterPid(dir: string): number {
  return Number(readFileSync(join(dir, 'pgdata', 'postmaster.pid'), 'utf8').split('\n')[0]);
}

async function waitFor(check: () => boolean, what: string, ms = 15_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

describe('a cluster killed with kill -9', () => {
  test('restarts, says a stale lock was found, keeps its port and every commit the client saw', async () => {
    const dir = join(scratch, 'killed');
    const cluster = await startCluster(dir, { durable: true });
    await withClient(cluster.rootUrl, async (c) => {
      await c.query('create table acked (n int)');
      await c.query('insert into acked select generate_series(1, 1000)');
    });
    const pid = postmasterPid(dir);
    process.kill(pid, 'SIGKILL');
    await waitFor(() => !alive(pid), 'the killed server to go away');

    const notices: string[] = [];
    const again = await startCluster(dir, { durable: true, notice: (m) => notices.push(m) });
    expect(notices).toHaveLength(1);
    expect(notices[0]).toMatch(new RegExp(`Stale lock: .*postmaster\\.pid names PID ${pid}, which no longer runs`));
    expect(again.port).toBe(cluster.port);
    const n = await withClient(again.rootUrl, (c) => c.query('select count(*)::int as n from acked'));
    expect(n.rows[0].n).toBe(1000);
    stopCluster(dir, { remove: true });
  }, 60_000);

  test('a stale lock naming a live program that is not PostgreSQL: a clear error saying what to do', async () => {
    const dir = join(scratch, 'stale');
    const cluster = await startCluster(dir);
    const lockFile = join(dir, 'pgdata', 'postmaster.pid');
    const lock = readFileSync(lockFile, 'utf8');
    const pid = postmasterPid(dir);
    process.kill(pid, 'SIGKILL');
    await waitFor(() => !alive(pid), 'the killed server to go away');
    // The lock now names a live process that is not PostgreSQL (PIDs get reused), of the
    // server's own OS user (a process of another user PostgreSQL takes for stale itself).
    const serverUid = statSync(join(dir, 'pgdata')).uid;
    const other = spawn('sleep', ['60'], userInfo().uid === 0 ? { uid: serverUid, gid: statSync(join(dir, 'pgdata')).gid } : {});
    await waitFor(() => /sleep/.test(readFileSync(`/proc/${other.pid}/cmdline`, 'utf8')), 'sleep to run');
    try {
      writeFileSync(lockFile, lock.replace(/^\d+/, String(other.pid)));
      if (userInfo().uid === 0) {
        const owner = Number(spawnSync('id', ['-u', 'postgres'], { encoding: 'utf8' }).stdout.trim());
        chownSync(lockFile, owner, 0);
      }
      await expect(startCluster(dir)).rejects.toThrow(
        new RegExp(
          `did not start on port ${cluster.port}[\\s\\S]*Stale lock: .*names PID ${other.pid}, which is now another program[\\s\\S]*remove .*postmaster\\.pid and start again`,
        ),
      );
    } finally {
      other.kill();
    }
    rmSync(lockFile);
    const recovered = await startCluster(dir);
    expect(recovered.port).toBe(cluster.port);
    stopCluster(dir, { remove: true });
  }, 60_000);
});

/** Processes of this user whose environment holds `marker` (the whole tree of one `npm run`). */
function processesWith(marker: string): number[] {
  const found: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (readFileSync(`/proc/${entry}/environ`, 'utf8').includes(marker)) found.push(Number(entry));
    } catch {
      // gone, or not ours
    }
  }
  return found;
}

describe('npm run watch', () => {
  test('stopping it by its PID stops graphile-migrate watch too', async () => {
    const db = await createTestDatabase();
    const marker = `SCRAPEGUARD_WATCH_TEST=${process.pid}-${Date.now()}`;
    const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !/^npm_/i.test(k)));
    let child: ChildProcess | undefined;
    try {
      child = spawn('npm', ['run', 'watch'], {
        cwd: PROJECT_ROOT,
        env: { ...env, DATABASE_URL: db.appUrl, [marker.split('=')[0]!]: marker.split('=')[1]!, NO_COLOR: '1' },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let output = '';
      child.stdout?.on('data', (d: Buffer) => (output += d.toString()));
      child.stderr?.on('data', (d: Buffer) => (output += d.toString()));
      // graphile-migrate runs current.sql once, then watches it.
      await waitFor(() => /current\.sql|Watching/i.test(output), `graphile-migrate watch to start (output: ${output})`, 60_000);
      const tree = processesWith(marker);
      expect(tree.length).toBeGreaterThanOrEqual(3); // npm, tsx, scripts/db.ts, graphile-migrate (and sh)
      const watcher = tree.find((p) => readFileSync(`/proc/${p}/cmdline`, 'utf8').includes('graphile-migrate'));
      expect(watcher, 'the graphile-migrate watcher process').toBeDefined();

      process.kill(child.pid!, 'SIGTERM');
      const left = () =>
        processesWith(marker).map((p) => {
          try {
            return readFileSync(`/proc/${p}/cmdline`, 'utf8').replace(/\0/g, ' ').trim();
          } catch {
            return String(p);
          }
        });
      await waitFor(() => processesWith(marker).length === 0, 'every process of `npm run watch` to end', 20_000).catch(() => {
        throw new Error(`still running after SIGTERM to npm: ${JSON.stringify(left())}`);
      });
      expect(alive(watcher!)).toBe(false);
    } finally {
      for (const p of processesWith(marker)) process.kill(p, 'SIGKILL');
      await db.drop();
    }
  }, 120_000);
});

