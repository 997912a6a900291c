/** squawk (a PostgreSQL migration linter) over every committed migration and the one in current; see .squawk.toml. */
import { spawnSync } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { createRequire } from 'node:module';
import { expect, test } from 'vitest';
import { allMigrations } from '../scripts/lib/migrations.js';
import { PROJECT_ROOT } from '../scripts/lib/paths.js';

test('squawk finds no issue in the migrations', () => {
  // squawk's own binary package (the squawk-cli wrapper's other-platform packages are not
  // all on the registry this project installs from, which breaks `npm ci`).
  const bin = createRequire(import.meta.url).resolve('@squawk-cli/linux-x64/bin/squawk');
  // The migration in current too (its folder form: each of its files).
  const files = allMigrations().flatMap((m) =>
    statSync(m.file).isDirectory()
      ? readdirSync(m.file).filter((f) => f.endsWith('.sql')).map((f) => join(m.file, f))
      : [m.file],
  );
  const r = spawnSync(bin, files, {
    cwd: PROJECT_ROOT,
    encoding: 'utf8',
    env: { ...process.env, NO_COLOR: '1' },
  });
  expect(r.stdout + r.stderr).toContain('Found 0 issues');
  expect(r.status).toBe(0);
});
