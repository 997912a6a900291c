/**
 * Puts pgTAP into the npm-installed PostgreSQL binaries.
 *
 * pgTAP is pure SQL (a control file and scripts), but no npm package ships it;
 * Debian does (`postgresql-15-pgtap`, architecture "all"). We fetch that package
 * with `apt-get download` (no root needed, nothing installed system-wide),
 * unpack it with `dpkg-deb` into .scrapeguard/cache, and copy the extension files
 * into the share/extension directory of each embedded PostgreSQL major. The same
 * SQL works on PostgreSQL 15 and 17.
 *
 * Run by `npm test` before the suite (fail loudly); --soft only warns. Not an install
 * script: installing scrapeguard (or `npm ci` here) never needs apt or a dev tool.
 */
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { shareDir, type PgMajor } from './lib/local-postgres.js';
import { PROJECT_ROOT } from './lib/paths.js';

const DEB_PACKAGE = 'postgresql-15-pgtap';
const MAJORS: PgMajor[] = ['15', '17'];

const { values } = parseArgs({ options: { soft: { type: 'boolean', default: false } } });

function extensionDirs(): string[] {
  const dirs: string[] = [];
  for (const major of MAJORS) {
    try {
      const dir = join(shareDir(major), 'extension');
      if (existsSync(dir)) dirs.push(dir);
    } catch {
      // that major is not installed (e.g. production install without dev deps)
    }
  }
  return dirs;
}

function run(cmd: string, args: string[], cwd: string): void {
  const r = spawnSync(cmd, args, { cwd, encoding: 'utf8' });
  if (r.error) throw new Error(`${cmd} is not available: ${r.error.message}`);
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed: ${r.stderr || r.stdout}`);
}

/** Directory holding pgtap.control and its SQL scripts, fetching them if needed. */
function pgtapSource(): string {
  const system = '/usr/share/postgresql/15/extension';
  if (existsSync(join(system, 'pgtap.control'))) return system;
  const cache = join(PROJECT_ROOT, '.scrapeguard', 'cache', 'pgtap');
  const unpacked = join(cache, 'root', 'usr', 'share', 'postgresql', '15', 'extension');
  if (existsSync(join(unpacked, 'pgtap.control'))) return unpacked;
  mkdirSync(cache, { recursive: true });
  let debs = readdirSync(cache).filter((f) => f.endsWith('.deb'));
  if (debs.length === 0) {
    try {
      run('apt-get', ['download', DEB_PACKAGE], cache);
    } catch {
      // Package lists may be missing on a fresh machine; refresh them once.
      run('apt-get', ['update', '-qq'], cache);
      run('apt-get', ['download', DEB_PACKAGE], cache);
    }
    debs = readdirSync(cache).filter((f) => f.endsWith('.deb'));
  }
  const deb = debs[0];
  if (!deb) throw new Error(`apt-get download ${DEB_PACKAGE} produced no .deb`);
  run('dpkg-deb', ['-x', deb, 'root'], cache);
  return unpacked;
}

function main(): void {
  const targets = extensionDirs().filter((d) => !existsSync(join(d, 'pgtap.control')));
  if (targets.length === 0) return;
  const source = pgtapSource();
  const files = readdirSync(source).filter((f) => f.startsWith('pgtap') || f.startsWith('uninstall_pgtap'));
  for (const dir of targets) {
    for (const f of files) copyFileSync(join(source, f), join(dir, f));
  }
  console.log(`pgTAP installed into ${targets.length} embedded PostgreSQL distribution(s)`);
}

try {
  main();
} catch (err) {
  const msg = `pgTAP could not be installed: ${err instanceof Error ? err.message : String(err)}\n` +
    `The tests need it (Debian/Ubuntu: apt-get is used to fetch ${DEB_PACKAGE}).`;
  if (values.soft) {
    console.warn(`warning: ${msg}`);
  } else {
    console.error(msg);
    process.exit(1);
  }
}
