/** The committed migrations and their down scripts, as files. */
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
 * Migrations being developed outside current.sql: `migrations/drafts/NN-name.sql`
 * with its down script `NN-name.down.sql`. The test harness applies them after
 * the committed migrations (in name order) until they are committed.
 * SCRAPEGUARD_DRAFTS=name,name limits which are applied ("none" for none).
 */
export function draftMigrations(): CommittedMigration[] {
  const dir = join(MIGRATIONS_DIR, 'drafts');
  if (!existsSync(dir)) return [];
  const wanted = process.env.SCRAPEGUARD_DRAFTS?.split(',').map((s) => s.trim()).filter(Boolean);
  return readdirSync(dir)
    .filter((f) => f.endsWith('.sql') && !f.endsWith('.down.sql'))
    .filter((f) => !wanted || wanted.some((w) => f.startsWith(w)))
    .sort()
    .map((filename) => {
      const file = join(dir, filename);
      return {
        number: `draft:${filename.replace(/\.sql$/, '')}`,
        file,
        filename,
        body: readFileSync(file, 'utf8'),
        rollbackFile: join(dir, filename.replace(/\.sql$/, '.down.sql')),
      };
    });
}

/** Committed migrations followed by the drafts in play. */
export function allMigrations(): CommittedMigration[] {
  return [...committedMigrations(), ...draftMigrations()];
}
