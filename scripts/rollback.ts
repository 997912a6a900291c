/**
 * `npm run rollback`: undoes the newest applied committed migration on DATABASE_URL
 * (or the local database): runs migrations/rollback/NNNNNN.sql and removes the
 * migration's row from graphile_migrate.migrations, in one transaction. Run it again
 * to go back further; `npm run migrate` re-applies.
 *
 * `npm run rollback -- --current` instead undoes the migration in current (applied by
 * `npm run watch`) with migrations/rollback/current.sql, e.g. before switching branches.
 */
import pg from 'pg';
import { ensureLocalDatabase, inTransaction, withClient } from './lib/database.js';
import { readFileSync } from 'node:fs';
import { committedMigrations, CURRENT_ROLLBACK_FILE, rollbackSql } from './lib/migrations.js';

async function main(): Promise<void> {
  const url = process.env.DATABASE_URL ?? (await ensureLocalDatabase()).databaseUrl;
  if (process.argv.includes('--current')) {
    const down = readFileSync(CURRENT_ROLLBACK_FILE, 'utf8');
    await withClient(url, (c) => inTransaction(c, `set local search_path = pg_catalog; set local lock_timeout = '10s';\n${down}`));
    console.log('rolled back the migration in current');
    return;
  }
  await withClient(url, async (c) => {
    const latest = await c.query<{ filename: string; hash: string }>(
      `select filename, hash from graphile_migrate.migrations
        where hash not in (select previous_hash from graphile_migrate.migrations where previous_hash is not null)`,
    );
    const row = latest.rows[0];
    if (!row) throw new Error('no applied migration to roll back');
    const m = committedMigrations().find((x) => x.number === row.filename.slice(0, 6));
    if (!m) throw new Error(`${row.filename} is applied but not in migrations/committed`);
    await inTransaction(
      c,
      `set local search_path = pg_catalog; set local lock_timeout = '10s';
       ${rollbackSql(m)};
       delete from graphile_migrate.migrations where hash = ${pg.escapeLiteral(row.hash)};`,
    );
    console.log(`rolled back ${m.filename}`);
  });
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? err.message : err);
  process.exit(1);
});
