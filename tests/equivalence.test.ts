/**
 * Version 1.0 rewrote the migrations as one per feature. This proves the new chain
 * builds the same database as the fifteen migrations it replaced: catalog snapshots of
 * that chain (tests/fixtures/equivalence/*.json, recorded from it on a bare database and
 * on the app stand-in as it was then, per PostgreSQL major version: 17 grants MAINTAIN,
 * 15 has no such privilege) against the new chain's, with every intended difference
 * listed below.
 *
 * The fixtures were recorded from that chain (commit a1e2382, migrations 000001–000015)
 * by this file's snapshot code and are never re-recorded from the 1.0 chain: they are
 * the proof, not a cache.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, inject, test } from 'vitest';
import { inTransaction } from '../scripts/lib/database.js';
import { committedMigrations } from '../scripts/lib/migrations.js';
import { PROJECT_ROOT } from '../scripts/lib/paths.js';
import { BARE_TEMPLATE, createTestDatabase } from './support/db.js';
import { equivalenceSnapshot } from './support/equivalence.js';
import { fixture } from './support/sql-files.js';

const DIR = join(PROJECT_ROOT, 'tests', 'fixtures', 'equivalence');

/** The 1.0 chain: migrations after it change the schema on purpose and are not part of the proof. */
const V1_0 = committedMigrations().filter((m) => m.number <= '000004');

/**
 * Intended differences, each with its reason. A difference either leaves part of
 * some lines uncompared (on both sides; everything else on them still must match),
 * or names lines only the old chain built (`removed`) or only 1.0 builds (`added`).
 * Every entry must apply: a listed difference that is not there fails the test.
 */
type Difference = { why: string; lines: RegExp } & (
  | { kind: 'text' | 'code and text' }
  | { kind: 'removed' | 'added'; count: number }
);

const DIFFERENCES: Difference[] = [
  {
    why: 'a comment in the body named the migration that granted the clock to signed-in users; it now says what holds',
    lines: /^function fleet_health\(/,
    kind: 'text',
  },
  {
    why: 'the refresh no longer drops the revision triggers under the names an older chain used (no 1.0 database has them)',
    lines: /^function scrapeguard\.refresh_event_revision_trigger\(\) /,
    kind: 'code and text',
  },
  {
    why: 'ensure_log_partitions gives each new daily partition the always-false restrictive policy of internal tables (linter: RLS enabled, no policy)',
    lines: /^function scrapeguard\.ensure_log_partitions\(interval\) /,
    kind: 'code and text',
  },
  {
    why: 'internal tables state "no direct access" with an always-false restrictive policy instead of by omission (linter: RLS enabled, no policy)',
    lines: /^policy scrapeguard\.(created_base_objects|event_column_names|revision_noise_columns|scraping_logs_default) internal: no direct access cmd=\* permissive=f roles=\{public\} using=false check=false$/,
    kind: 'added',
    count: 4,
  },
  {
    why: 'the revision trigger generator is split into small functions, one per piece of generated text (the generated trigger functions and WHEN clause stay identical: their lines above are compared in full)',
    lines: /^function scrapeguard\.revision_(changed_sql|when_sql|field_check_sql|snapshot_sql|insert_delete_body|update_body|truncate_body)\(/,
    kind: 'added',
    count: 7,
  },
  {
    why: 'the migration creates no daily log partition, so what it builds does not depend on the day it runs; maintenance creates them',
    lines: /scrapeguard\.scraping_logs_pday\+\d/,
    kind: 'removed',
    count: 4 * 15,
  },
];

function comparable(lines: string[], side: 'old' | 'now'): string[] {
  return lines
    .filter((line) => !DIFFERENCES.some((d) => d.lines.test(line) && d.kind === (side === 'old' ? 'removed' : 'added')))
    .map((line) => {
      const d = DIFFERENCES.find((x) => x.lines.test(line));
      if (d?.kind === 'text') return line.replace(/ text=[0-9a-f]{32}$/, ' text=(intended difference)');
      if (d?.kind === 'code and text') {
        return line.replace(/ code=[0-9a-f]{32} text=[0-9a-f]{32}$/, ' code=(intended difference) text=(intended difference)');
      }
      return line;
    })
    .sort();
}

async function snapshotOf(appSchema: boolean): Promise<string[]> {
  const db = await createTestDatabase(BARE_TEMPLATE);
  try {
    const c = await db.client();
    if (appSchema) await inTransaction(c, fixture('equivalence/app-schema.sql'));
    // With graphile-migrate's settings for committed migrations (.gmrc pgSettings).
    for (const m of V1_0) {
      await inTransaction(c, `set local search_path = pg_catalog; set local lock_timeout = '10s';\n${m.body}`);
    }
    return await equivalenceSnapshot(c);
  } finally {
    await db.drop();
  }
}

describe('1.0 builds what the chain it replaced built', () => {
  for (const [name, appSchema] of [
    ['bare', false],
    ['app-schema', true],
  ] as const) {
    test(`${name === 'bare' ? 'on a bare database' : 'on the app stand-in'}`, async () => {
      const major = /PostgreSQL (\d+)/.exec(inject('sgServerVersion'))?.[1] ?? 'unknown';
      const file = join(DIR, `${name}.pg${major}.json`);
      const now = await snapshotOf(appSchema);
      const old = JSON.parse(readFileSync(file, 'utf8')) as string[];
      expect(comparable(now, 'now')).toEqual(comparable(old, 'old'));
      // Each listed difference is real: without its entry the comparison would fail.
      for (const d of DIFFERENCES) {
        const before = old.filter((l) => d.lines.test(l));
        const after = now.filter((l) => d.lines.test(l));
        if (d.kind === 'removed') expect([before.length, after.length], d.why).toEqual([d.count, 0]);
        else if (d.kind === 'added') expect([before.length, after.length], d.why).toEqual([0, d.count]);
        else {
          expect(after.length, d.why).toBe(1);
          expect(after, d.why).not.toEqual(before);
        }
      }
    });
  }
});
