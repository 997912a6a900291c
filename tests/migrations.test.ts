/**
 * The migrations as a whole: they adopt the app schema without touching it, create
 * it where missing, are idempotent, refuse an app schema lacking what scrapeguard
 * relies on, and every committed migration (and the one in current) has a down script
 * that restores the catalog exactly.
 */
import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { describe, expect, test } from 'vitest';
import type pg from 'pg';
import { applyCurrent, inTransaction, migrate } from '../scripts/lib/database.js';
import { allMigrations, rollbackSql } from '../scripts/lib/migrations.js';
import { PROJECT_ROOT } from '../scripts/lib/paths.js';
import { baseTableSnapshot, BASE_TABLES, catalogSnapshot } from './support/catalog.js';
import { BARE_TEMPLATE, createTestDatabase, type TestDatabase } from './support/db.js';
import { fixture } from './support/sql-files.js';

const migrations = allMigrations();

async function withDb<T>(template: string, fn: (db: TestDatabase, c: pg.Client) => Promise<T>): Promise<T> {
  const db = await createTestDatabase(template);
  try {
    return await fn(db, await db.client());
  } finally {
    await db.drop();
  }
}

async function existingBaseTables(c: pg.Client): Promise<string[]> {
  const r = await c.query<{ t: string }>(
    `select c.relname as t from pg_class c where c.relnamespace = 'public'::regnamespace
      and c.relname = any($1) order by 1`,
    [BASE_TABLES],
  );
  return r.rows.map((x) => x.t);
}

describe('base schema adoption', () => {
  test('on a bare Supabase-like database the base tables are created, with RLS', async () => {
    await withDb(BARE_TEMPLATE, async (db, c) => {
      expect(await existingBaseTables(c)).toEqual([]);
      await migrate(db.appUrl, { quiet: true });
      expect(await existingBaseTables(c)).toEqual([...BASE_TABLES].sort());
      const rls = await c.query<{ relname: string }>(
        `select relname from pg_class where relnamespace = 'public'::regnamespace and relname = any($1) and not relrowsecurity`,
        [BASE_TABLES],
      );
      expect(rls.rows).toEqual([]);
    });
  });

  test('`graphile-migrate migrate` on the app schema leaves every base table exactly as it was', async () => {
    await withDb(BARE_TEMPLATE, async (db, c) => {
      await inTransaction(c, fixture('app-schema.sql'));
      const before = await baseTableSnapshot(c);
      expect(before.length).toBeGreaterThan(50);
      const cli = createRequire(import.meta.url).resolve('graphile-migrate/dist/cli.js');
      const run = spawnSync(process.execPath, [cli, 'migrate'], {
        cwd: PROJECT_ROOT,
        env: { ...process.env, DATABASE_URL: db.appUrl },
        encoding: 'utf8',
      });
      expect(run.stderr + run.stdout).toContain('committed migrations executed');
      expect(run.status).toBe(0);
      await applyCurrent(db.appUrl);
      expect(await baseTableSnapshot(c)).toEqual(before);
      const created = await c.query('select * from scrapeguard.created_base_objects');
      expect(created.rows).toEqual([]);
    });
  });

  test('events with a column of an extension type: the migrations install on it as they are, and the column is tracked', async () => {
    await withDb(BARE_TEMPLATE, async (db, c) => {
      await inTransaction(c, fixture('app-schema.sql'));
      await c.query('create extension if not exists ltree schema extensions');
      await c.query('alter table public.events add column path extensions.ltree');
      // ltree's "=" lives in schema extensions, which the generated code (search_path = '')
      // cannot see: the column is compared through its text form from the first refresh.
      await migrate(db.appUrl, { quiet: true });
      const { rows } = await c.query<{ id: string }>(
        `insert into public.events (title, start_time, path) values ('Tree', '2026-11-23', 'music.jazz') returning id`,
      );
      await c.query(`update public.events set path = 'music.blues' where id = $1`, [rows[0]!.id]);
      const h = await c.query(
        `select field_name, old_value, new_value from public.event_revisions where event_id = $1 and operation = 'update'`,
        [rows[0]!.id],
      );
      expect(h.rows).toEqual([{ field_name: 'path', old_value: 'music.jazz', new_value: 'music.blues' }]);
    });
  });

  test('a base table lacking a relied-on column stops the migration, naming it, and writes nothing', async () => {
    await withDb(BARE_TEMPLATE, async (db, c) => {
      await c.query('create table public.events (id uuid primary key, start_time timestamptz, title varchar(200))');
      await expect(migrate(db.appUrl, { quiet: true })).rejects.toThrow(
        /lacks columns it relies on: events\.status \(text\), events\.title \(text\), events\.updated_at/,
      );
      expect(await existingBaseTables(c)).toEqual(['events']);
      const schema = await c.query(`select to_regnamespace('scrapeguard') as s`);
      expect(schema.rows[0].s).toBeNull();
    });
  });
});

describe('idempotence', () => {
  test('migrating an up-to-date database again changes nothing', async () => {
    await withDb(BARE_TEMPLATE, async (db, c) => {
      await migrate(db.appUrl, { quiet: true });
      const before = await catalogSnapshot(c);
      await migrate(db.appUrl, { quiet: true });
      expect(await catalogSnapshot(c)).toEqual(before);
    });
  });

  for (const fixtureName of [null, 'app-schema.sql']) {
    test(`every committed migration re-run on itself is a no-op (${fixtureName ?? 'bare database'})`, async () => {
      await withDb(BARE_TEMPLATE, async (_db, c) => {
        if (fixtureName) await inTransaction(c, fixture(fixtureName));
        for (const m of migrations) {
          await inTransaction(c, m.body);
          const once = await catalogSnapshot(c);
          await inTransaction(c, m.body);
          expect(await catalogSnapshot(c), `${m.filename} run twice`).toEqual(once);
        }
      });
    });
  }
});

describe('rollback', () => {
  test('every committed migration has a down script', () => {
    expect(migrations.length).toBeGreaterThan(0);
    for (const m of migrations) expect(() => rollbackSql(m), m.filename).not.toThrow();
  });

  for (const fixtureName of [null, 'app-schema.sql']) {
    test(`up → down restores the catalog, and up works again, one migration at a time (${fixtureName ?? 'bare database'})`, async () => {
      await withDb(BARE_TEMPLATE, async (_db, c) => {
        if (fixtureName) await inTransaction(c, fixture(fixtureName));
        for (const m of migrations) {
          const before = await catalogSnapshot(c);
          await inTransaction(c, m.body);
          const after = await catalogSnapshot(c);
          expect(after, `${m.filename} changed something`).not.toEqual(before);
          await inTransaction(c, rollbackSql(m));
          expect(await catalogSnapshot(c), `down script of ${m.filename}`).toEqual(before);
          await inTransaction(c, m.body);
          expect(await catalogSnapshot(c), `${m.filename} re-applied after its down script`).toEqual(after);
        }
      });
    });
  }
});
