/**
 * A scrapeguard client on a private copy of the migrated database, connected the way
 * a worker is: as `service_role` (switched to at connection start).
 */
import { afterAll } from 'vitest';
import pg from 'pg';
import { createScrapeguard, type Scrapeguard } from '../../sdk/index.js';
import { useTestDatabase, type TestDatabase } from '../support/db.js';

export interface SdkFixture {
  db: TestDatabase;
  pool: pg.Pool;
  sg: Scrapeguard;
  /** A direct connection as the owner role, for set-up and checks. */
  admin: pg.Client;
  createSource(name: string): Promise<string>;
}

export function servicePool(url: string, max = 10): pg.Pool {
  return new pg.Pool({ connectionString: url, max, options: '-c role=service_role' });
}

export async function sdkFixture(): Promise<SdkFixture> {
  const db = await useTestDatabase();
  const pool = servicePool(db.appUrl);
  const sg = createScrapeguard({ pool });
  const admin = await db.client();
  afterAll(async () => {
    await sg.close();
    await pool.end();
  });
  return {
    db,
    pool,
    sg,
    admin,
    async createSource(name: string) {
      const r = await admin.query<{ id: string }>(
        `insert into public.event_sources (name, base_url) values ($1, $2) returning id`,
        [name, `https://${name.toLowerCase().replace(/[^a-z0-9]+/g, '-')}.example/events`],
      );
      return r.rows[0]!.id;
    },
  };
}
