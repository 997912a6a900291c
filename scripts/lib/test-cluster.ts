/**
 * The server the test suite runs against, and the template databases every test
 * file copies (CREATE DATABASE … TEMPLATE is far cheaper than migrating):
 *
 *   sg_bare          Supabase-shaped (shim + pgTAP), no scrapeguard migration
 *   sg_migrated      sg_bare + every committed migration + the migration in current (the base tables are created
 *                    by the migrations, in their minimal shape)
 *   sg_app_bare      sg_bare + the app stand-in (tests/fixtures/app-schema.sql: the
 *                    app's richer tables, with their own triggers, policies, enum and
 *                    generated columns), no scrapeguard migration
 *   sg_app_migrated  sg_app_bare + every committed migration + current (adopting the app's tables)
 *
 * With DATABASE_URL set, that server is used (its role needs CREATEDB, and pgTAP
 * must be installable there); otherwise a throwaway embedded cluster is started in
 * a temporary directory and removed afterwards.
 */
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { applyCurrent, applyShim, bootstrapCluster, inTransaction, migrate, withClient, withDatabase } from './database.js';
import { APP_USER, startCluster, stopCluster } from './local-postgres.js';
import { PROJECT_ROOT } from './paths.js';

export const BARE_TEMPLATE = 'sg_bare';
export const MIGRATED_TEMPLATE = 'sg_migrated';
export const APP_BARE_TEMPLATE = 'sg_app_bare';
export const APP_MIGRATED_TEMPLATE = 'sg_app_migrated';

export interface ServerUrls {
  app: string;
  admin: string;
}

export async function startTestServer(): Promise<{ urls: ServerUrls; dispose: () => void; external: boolean }> {
  if (process.env.DATABASE_URL) {
    const url = process.env.DATABASE_URL;
    return { urls: { app: url, admin: url }, dispose: () => {}, external: true };
  }
  const dir = mkdtempSync(join(tmpdir(), 'scrapeguard-test-'));
  const cluster = await startCluster(dir);
  await bootstrapCluster(cluster);
  return {
    urls: { app: cluster.urlFor('postgres', APP_USER), admin: cluster.rootUrl },
    dispose: () => stopCluster(dir, { remove: true }),
    external: false,
  };
}

async function recreate(adminUrl: string, name: string, template?: string): Promise<void> {
  await withClient(adminUrl, async (c) => {
    await c.query(`drop database if exists ${pg.escapeIdentifier(name)} with (force)`);
    const from = template ? ` template ${pg.escapeIdentifier(template)}` : '';
    await c.query(`create database ${pg.escapeIdentifier(name)}${from} owner ${pg.escapeIdentifier(APP_USER)}`);
  });
}

/** Build the templates from scratch; returns the server's version string. */
export async function buildTemplates(urls: ServerUrls): Promise<string> {
  await recreate(urls.admin, BARE_TEMPLATE);
  const bareAdmin = withDatabase(urls.admin, BARE_TEMPLATE);
  await applyShim(bareAdmin);
  await withClient(bareAdmin, async (c) => {
    await c.query('create schema if not exists extensions');
    await c.query('create extension if not exists pgtap with schema extensions');
  });
  await recreate(urls.admin, MIGRATED_TEMPLATE, BARE_TEMPLATE);
  await recreate(urls.admin, APP_BARE_TEMPLATE, BARE_TEMPLATE);
  await withClient(withDatabase(urls.app, APP_BARE_TEMPLATE), (c) =>
    inTransaction(c, readFileSync(join(PROJECT_ROOT, 'tests', 'fixtures', 'app-schema.sql'), 'utf8')),
  );
  await recreate(urls.admin, APP_MIGRATED_TEMPLATE, APP_BARE_TEMPLATE);
  // The two migrations run at once (each is mostly a graphile-migrate process of its own).
  await Promise.all([migrateTemplate(urls, MIGRATED_TEMPLATE), migrateTemplate(urls, APP_MIGRATED_TEMPLATE)]);
  return withClient(urls.app, async (c) => (await c.query<{ v: string }>('select version() as v')).rows[0]?.v ?? '');
}

/** The committed migrations and the migration in current applied to a template, as the application role. */
async function migrateTemplate(urls: ServerUrls, template: string): Promise<void> {
  await migrate(withDatabase(urls.app, template), { quiet: true });
  await applyCurrent(withDatabase(urls.app, template));
}

let counter = 0;

/** A private copy of a template for one test file; drop it with the returned function. */
export async function copyTemplate(
  urls: ServerUrls,
  template: string = MIGRATED_TEMPLATE,
): Promise<{ appUrl: string; adminUrl: string; name: string; drop: () => Promise<void> }> {
  counter += 1;
  const name = `sg_t_${process.pid}_${counter}_${Math.random().toString(36).slice(2, 8)}`;
  await recreate(urls.admin, name, template);
  return {
    name,
    appUrl: withDatabase(urls.app, name),
    adminUrl: withDatabase(urls.admin, name),
    drop: () =>
      withClient(urls.admin, async (c) => {
        await c.query(`drop database if exists ${pg.escapeIdentifier(name)} with (force)`);
      }),
  };
}
