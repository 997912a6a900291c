/** Per-test-file databases copied from the templates built by the global setup. */
import { afterAll, inject } from 'vitest';
import pg from 'pg';
import {
  APP_BARE_TEMPLATE,
  APP_MIGRATED_TEMPLATE,
  BARE_TEMPLATE,
  copyTemplate,
  MIGRATED_TEMPLATE,
} from '../../scripts/lib/test-cluster.js';

export { APP_BARE_TEMPLATE, APP_MIGRATED_TEMPLATE, BARE_TEMPLATE, MIGRATED_TEMPLATE };

/**
 * The two shapes of public.events the behaviour suites run on: the minimal base
 * tables the migrations create, and the app stand-in they adopt (more columns, an
 * enum, a domain, a stored generated column, an identity, the app's own triggers,
 * policies and a view).
 */
export const EVENTS_SHAPES = [
  { label: 'base tables', template: MIGRATED_TEMPLATE },
  { label: 'app stand-in', template: APP_MIGRATED_TEMPLATE },
] as const;

export interface TestDatabase {
  name: string;
  /** As the application/migration role (`postgres`, not a superuser). */
  appUrl: string;
  /** As a superuser (embedded) or the DATABASE_URL role. */
  adminUrl: string;
  /** A client as the application role, closed after the file. */
  client(): Promise<pg.Client>;
  drop(): Promise<void>;
}

export async function createTestDatabase(template: string = MIGRATED_TEMPLATE): Promise<TestDatabase> {
  const db = await copyTemplate(inject('sgServer'), template);
  const clients: pg.Client[] = [];
  return {
    ...db,
    async client() {
      const c = new pg.Client({ connectionString: db.appUrl });
      await c.connect();
      clients.push(c);
      return c;
    },
    async drop() {
      await Promise.all(clients.splice(0).map((c) => c.end().catch(() => undefined)));
      await db.drop();
    },
  };
}

/** A fresh database for this test file, dropped after it. */
export async function useTestDatabase(template: string = MIGRATED_TEMPLATE): Promise<TestDatabase> {
  const db = await createTestDatabase(template);
  afterAll(() => db.drop());
  return db;
}
