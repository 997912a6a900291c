/**
 * Reading the migration being developed the way graphile-migrate does: migrations/current.sql,
 * or the folder migrations/current/ whose NNN-name.sql files are joined in number order.
 */
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { currentMigration, isBlank } from '../scripts/lib/migrations.js';

function migrationsDir(files: Record<string, string>): string {
  const dir = mkdtempSync(join(tmpdir(), 'sg-current-'));
  for (const [name, text] of Object.entries(files)) {
    mkdirSync(join(dir, name, '..'), { recursive: true });
    writeFileSync(join(dir, name), text);
  }
  return dir;
}

describe('the migration in current', () => {
  test('blank (comments only, or missing) is no migration', () => {
    expect(currentMigration(migrationsDir({ 'current.sql': '-- Enter migration here\n\n/* later */\n' }))).toBeNull();
    expect(currentMigration(migrationsDir({}))).toBeNull();
    expect(isBlank('-- x\n  \n')).toBe(true);
    expect(isBlank('-- x\nselect 1;\n')).toBe(false);
  });

  test('current.sql: its body without the header, its down script in rollback/current.sql', () => {
    const dir = migrationsDir({ 'current.sql': '--! Message: add a thing\n\ncreate table t (id int);\n' });
    const m = currentMigration(dir);
    expect(m).toMatchObject({ number: 'current', filename: 'current.sql', rollbackFile: join(dir, 'rollback', 'current.sql') });
    expect(m?.body).toBe('create table t (id int);\n');
  });

  test('current/: files in number order (not name order), headers dropped, dotfiles and other files ignored', () => {
    const dir = migrationsDir({
      'current/010-later.sql': 'select 10;\n',
      'current/2-first.sql': '--! Message: two\nselect 2;\n',
      'current/.scratch.sql': 'select 0;\n',
      'current/notes.txt': 'not sql',
    });
    expect(currentMigration(dir)?.body).toBe('--! split: 2-first.sql\nselect 2;\n\n--! split: 010-later.sql\nselect 10;\n');
  });

  test('both forms at once, or a misnamed file in current/, is an error', () => {
    expect(() => currentMigration(migrationsDir({ 'current.sql': 'select 1;', 'current/1.sql': 'select 1;' }))).toThrow(/keep one/);
    expect(() => currentMigration(migrationsDir({ 'current/first.sql': 'select 1;' }))).toThrow(/NNN/);
  });
});
