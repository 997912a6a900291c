/**
 * `scrapeguard migrate`: applies the SQL shipped in this package (migrations/committed)
 * to DATABASE_URL with graphile-migrate, exactly as `npx graphile-migrate migrate` does
 * in a checkout of scrapeguard. graphile-migrate records what it applied in its own
 * schema (graphile_migrate), so running it again applies only what is new.
 */
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The package's root (where package.json, .gmrc and migrations/ are), from src or dist. */
export function packageRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const manifest = join(dir, 'package.json');
    if (existsSync(manifest) && (JSON.parse(readFileSync(manifest, 'utf8')) as { name?: string }).name === 'scrapeguard') {
      return dir;
    }
    const parent = dirname(dir);
    if (parent === dir) throw new Error('cannot find the scrapeguard package root');
    dir = parent;
  }
}

/** Runs graphile-migrate's `migrate` on `url`; resolves with its exit code and output. */
export function migrateDatabase(url: string): Promise<{ code: number; output: string }> {
  const cli = createRequire(import.meta.url).resolve('graphile-migrate/dist/cli.js');
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [cli, 'migrate'], {
      cwd: packageRoot(),
      env: { ...process.env, DATABASE_URL: url },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (d: Buffer) => (output += d.toString()));
    child.stderr.on('data', (d: Buffer) => (output += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code: code ?? 1, output }));
  });
}
