/**
 * Database chores behind the npm scripts:
 *
 *   db:start   start the local embedded PostgreSQL (kept under .scrapeguard/), migrate it
 *   db:stop    stop it (`--remove` also deletes its files)
 *   db:url     print the connection strings (for psql, the CLI, the SDK)
 *   migrate    apply the Supabase shim where needed, then every committed migration
 *   watch      graphile-migrate watch on the local database (re-runs migrations/current.sql
 *              or migrations/current/ on every save)
 *   commit     graphile-migrate commit: current becomes the next committed migration, and
 *              its down script migrations/rollback/current.sql becomes rollback/NNNNNN.sql;
 *              then supabase/migrations and schema/ are written again
 *   gm         any other graphile-migrate command with the environment filled in
 *
 * With DATABASE_URL set, that database is used and nothing local is started.
 */
import { parseArgs } from 'node:util';
import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import {
  applyShim,
  createMigratedLocalDatabase,
  dropLocalDatabase,
  ensureLocalDatabase,
  graphileMigrate,
  migrate,
  stopLocalDatabase,
  type LocalTarget,
} from './lib/database.js';
import { writeSchemaFiles } from './lib/schema-files.js';
import { BLANK_ROLLBACK, committedMigrations, CURRENT_ROLLBACK_FILE, currentMigration, isBlank } from './lib/migrations.js';
import { writeSupabaseExport } from './lib/supabase-export.js';

const [command, ...rest] = process.argv.slice(2);

async function target(): Promise<{ env: NodeJS.ProcessEnv; local?: LocalTarget }> {
  if (process.env.DATABASE_URL) return { env: process.env };
  const local = await ensureLocalDatabase();
  return {
    local,
    env: {
      ...process.env,
      DATABASE_URL: local.databaseUrl,
      SHADOW_DATABASE_URL: process.env.SHADOW_DATABASE_URL ?? local.shadowUrl,
      ROOT_DATABASE_URL: process.env.ROOT_DATABASE_URL ?? local.rootUrl,
    },
  };
}

async function main(): Promise<number> {
  switch (command) {
    case 'start': {
      const { local, env } = await target();
      if (local) await applyShim(local.superuserUrl);
      await migrate(env.DATABASE_URL as string);
      if (local) printUrls(local);
      return 0;
    }
    case 'stop':
      stopLocalDatabase(parseArgs({ args: rest, options: { remove: { type: 'boolean' } } }).values.remove === true);
      return 0;
    case 'url': {
      const { local, env } = await target();
      if (local) printUrls(local);
      else console.log(env.DATABASE_URL);
      return 0;
    }
    case 'migrate': {
      const { local, env } = await target();
      await applyShim(local ? local.superuserUrl : (env.DATABASE_URL as string));
      await migrate(env.DATABASE_URL as string);
      return 0;
    }
    case 'commit': {
      const current = currentMigration();
      if (!current) throw new Error('migrations/current.sql (or current/) is blank: nothing to commit');
      if (!existsSync(CURRENT_ROLLBACK_FILE) || isBlank(readFileSync(CURRENT_ROLLBACK_FILE, 'utf8'))) {
        throw new Error('migrations/rollback/current.sql is blank: write the down script of the migration first');
      }
      const { local, env } = await target();
      if (local) await applyShim(local.superuserUrl);
      const { code } = await graphileMigrate(['commit', ...rest], env, { inherit: true });
      if (code !== 0) return code;
      const committed = committedMigrations().at(-1);
      if (!committed) throw new Error('graphile-migrate commit wrote no migration');
      renameSync(CURRENT_ROLLBACK_FILE, committed.rollbackFile);
      writeFileSync(CURRENT_ROLLBACK_FILE, BLANK_ROLLBACK);
      console.log(`moved migrations/rollback/current.sql to migrations/rollback/${committed.number}.sql`);
      writeSupabaseExport();
      if (local) {
        const name = `sg_schema_${process.pid}`;
        const url = await createMigratedLocalDatabase(local, name);
        try {
          console.log(`wrote ${await writeSchemaFiles(url)} files to schema/`);
        } finally {
          await dropLocalDatabase(local, name);
        }
      } else {
        console.log('run npm run schema (without DATABASE_URL) to refresh schema/');
      }
      console.log('now run npm run typegen and npm test');
      return 0;
    }
    case 'watch':
    case 'gm': {
      const { local, env } = await target();
      if (local) await applyShim(local.superuserUrl);
      const args = command === 'gm' ? rest : [command, ...rest];
      return (await graphileMigrate(args, env, { inherit: true })).code;
    }
    default:
      console.error('usage: tsx scripts/db.ts start|stop [--remove]|url|migrate|watch|commit|gm <args>');
      return 2;
  }
}

function printUrls(local: LocalTarget): void {
  console.log(`DATABASE_URL=${local.databaseUrl}`);
  console.log(`SHADOW_DATABASE_URL=${local.shadowUrl}`);
  console.log(`ROOT_DATABASE_URL=${local.rootUrl}`);
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    console.error(err instanceof Error ? err.message : err);
    process.exit(1);
  },
);
