/** The committed migrations, the one being developed in current, and their down scripts, as files. */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { MIGRATIONS_DIR } from './paths.js';

export interface CommittedMigration {
  /** Six-digit number, e.g. "000001". */
  number: string;
  file: string;
  /** graphile-migrate's name for it, e.g. "000001-adopt-the-app-base-schema.sql". */
  filename: string;
  /** The SQL without graphile-migrate's `--!` header. */
  body: string;
  rollbackFile: string;
}

export function committedMigrations(): CommittedMigration[] {
  const dir = join(MIGRATIONS_DIR, 'committed');
  return readdirSync(dir)
    .filter((f) => /^\d{6}.*\.sql$/.test(f))
    .sort()
    .map((filename) => {
      const file = join(dir, filename);
      const number = filename.slice(0, 6);
      return {
        number,
        file,
        filename,
        body: stripHeader(readFileSync(file, 'utf8')),
        rollbackFile: join(MIGRATIONS_DIR, 'rollback', `${number}.sql`),
      };
    });
}

export function stripHeader(text: string): string {
  const lines = text.split('\n');
  let i = 0;
  while (i < lines.length && lines[i]?.startsWith('--!')) i += 1;
  return lines.slice(i).join('\n').replace(/^\n/, '');
}

export function rollbackSql(m: CommittedMigration): string {
  if (!existsSync(m.rollbackFile)) throw new Error(`missing down script ${m.rollbackFile}`);
  return readFileSync(m.rollbackFile, 'utf8');
}

/**
 * The migration being developed: `migrations/current.sql`, or graphile-migrate's
 * multi-file form `migrations/current/NNN-name.sql` (files in number order, as
 * graphile-migrate joins them), with its down script `migrations/rollback/current.sql`.
 * `npm run watch` applies it to the local database; the test harness applies it after
 * the committed migrations; `npm run commit` makes it the next committed migration
 * and moves its down script to `migrations/rollback/NNNNNN.sql`. Null while blank.
 */
export function currentMigration(migrationsDir: string = MIGRATIONS_DIR): CommittedMigration | null {
  const file = join(migrationsDir, 'current.sql');
  const dir = join(migrationsDir, 'current');
  if (existsSync(file) && existsSync(dir)) {
    throw new Error('both migrations/current.sql and migrations/current/ exist; keep one');
  }
  let body: string;
  if (existsSync(dir)) {
    const parts = readdirSync(dir)
      .filter((f) => !f.startsWith('.') && f.endsWith('.sql'))
      .map((f) => {
        const m = /^([0-9]+)(-[-_a-zA-Z0-9]*)?\.sql$/.exec(f);
        if (!m) throw new Error(`migrations/current/${f}: name it NNN.sql or NNN-words.sql`);
        return { n: Number(m[1]), f };
      })
      .sort((x, y) => x.n - y.n);
    body = parts.map((p) => `--! split: ${p.f}\n${stripHeader(readFileSync(join(dir, p.f), 'utf8')).trim()}\n`).join('\n');
  } else if (existsSync(file)) {
    body = stripHeader(readFileSync(file, 'utf8'));
  } else {
    return null;
  }
  if (isBlank(body)) return null;
  return {
    number: 'current',
    file: existsSync(dir) ? dir : file,
    filename: existsSync(dir) ? 'current/' : 'current.sql',
    body,
    rollbackFile: join(migrationsDir, 'rollback', 'current.sql'),
  };
}

/** Where the down script of the migration in current lives until it is committed. */
export const CURRENT_ROLLBACK_FILE = join(MIGRATIONS_DIR, 'rollback', 'current.sql');

/** What migrations/rollback/current.sql holds after a commit. */
export const BLANK_ROLLBACK =
  '-- Down script of the migration in migrations/current.sql (or current/): it must undo exactly\n' +
  '-- what that migration does. npm run commit moves it to migrations/rollback/NNNNNN.sql.\n';

/** Only comments and whitespace (graphile-migrate's "blank" current migration). */
export function isBlank(sql: string): boolean {
  return sql
    .replace(/\/\*[\s\S]*?\*\//g, '')
    .split('\n')
    .every((line) => /^\s*(--.*)?$/.test(line));
}

/** The committed migrations followed by the one in current, if any. */
export function allMigrations(): CommittedMigration[] {
  const current = currentMigration();
  return current ? [...committedMigrations(), current] : committedMigrations();
}
