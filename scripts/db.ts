/**
 * Database chores behind the npm scripts:
 *
 *   db:start   start the local PostgreSQL (kept under .scrapeguard/, durable, same port
 *              on every start), migrate it, print its connection strings
 *   db:stop    stop it and say so (`--remove` also deletes its files)
 *   db:url     print the connection strings of the local database (starts nothing)
 *   db:seed    load seed.sql (development data) into the database, without psql
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
import { readFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { parseArgs } from 'node:util';
import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import {
  applyShim,
  createMigratedLocalDatabase,
  dropLocalDatabase,
  ensureLocalDatabase,
  graphileMigrate,
  knownLocalDatabase,
  migrate,
  stopLocalDatabase,
  withClient,
  type LocalTarget,
} from './lib/database.js';
import { LOCAL_CLUSTER_DIR, PROJECT_ROOT } from './lib/paths.js';
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

const where = relative(PROJECT_ROOT, LOCAL_CLUSTER_DIR);

/** Loads seed.sql in one round trip (it is one transaction); prints one line. */
async function seed(url: string): Promise<void> {
  const sql = await readFile(join(PROJECT_ROOT, 'seed.sql'), 'utf8');
  const counts = await withClient(url, async (c) => {
    await c.query(sql);
    const r = await c.query<{ sources: number; events: number; runs: number }>(
      `select (select count(*)::int from public.event_sources) as sources,
              (select count(*)::int from public.events) as events,
              (select count(*)::int from public.scraping_runs) as runs`,
    );
    return r.rows[0]!;
  });
  const db = new URL(url).pathname.slice(1);
  console.log(`seed.sql loaded into ${db}: ${counts.sources} sources, ${counts.events} events, ${counts.runs} runs in all`);
}

async function main(): Promise<number> {
  switch (command) {
    case 'start': {
      const { local, env } = await target();
      if (local) await applyShim(local.superuserUrl);
      await migrate(env.DATABASE_URL as string);
      if (local) {
        console.log(
          `${local.wasRunning ? 'already running' : 'started'}: PostgreSQL ${local.cluster.major} on 127.0.0.1:${local.cluster.port} ` +
            `(data in ${where}; the port stays the same on every start)`,
        );
        printUrls(local);
      }
      return 0;
    }
    case 'stop': {
      const remove = parseArgs({ args: rest, options: { remove: { type: 'boolean' } } }).values.remove === true;
      const known = knownLocalDatabase();
      const r = stopLocalDatabase(remove);
      const what = known ? `PostgreSQL ${known.major} on 127.0.0.1:${known.port}` : 'the local PostgreSQL';
      if (r.stopped) console.log(`stopped ${what}`);
      else console.log(known ? `${what} was not running` : `no local PostgreSQL in ${where}`);
      if (r.removed) console.log(`removed ${where} (its data is gone; the next db:start creates a new one)`);
      else if (known && !remove) console.log(`data kept in ${where}; \`npm run db:stop -- --remove\` deletes it`);
      return 0;
    }
    case 'url': {
      if (process.env.DATABASE_URL) {
        console.log(`DATABASE_URL=${process.env.DATABASE_URL}`);
        return 0;
      }
      const known = knownLocalDatabase();
      if (!known) {
        console.error(`no local database yet (${where}); \`npm run db:start\` creates and starts it`);
        return 1;
      }
      console.log(`DATABASE_URL=${known.databaseUrl}`);
      console.log(`SHADOW_DATABASE_URL=${known.shadowUrl}`);
      console.log(`ROOT_DATABASE_URL=${known.rootUrl}`);
      if (!known.running) console.error('(not running: `npm run db:start` starts it on this same port)');
      return 0;
    }
    case 'seed': {
      let url = process.env.DATABASE_URL;
      if (!url) {
        const known = knownLocalDatabase();
        if (!known?.running) {
          console.error('the local database is not running: `npm run db:start` first (or set DATABASE_URL)');
          return 1;
        }
        url = known.databaseUrl;
      }
      await seed(url);
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
      console.error('usage: tsx scripts/db.ts start|stop [--remove]|url|seed|migrate|watch|commit|gm <args>');
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
