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
import { inTransaction, migrate } from '../scripts/lib/database.js';
import { PROJECT_ROOT } from '../scripts/lib/paths.js';
import { BARE_TEMPLATE, createTestDatabase } from './support/db.js';
import { equivalenceSnapshot } from './support/equivalence.js';
import { fixture } from './support/sql-files.js';

const DIR = join(PROJECT_ROOT, 'tests', 'fixtures', 'equivalence');

/**
 * Intended differences. Each names the lines it applies to and what of them is not
 * compared (on both sides); everything else on those lines still must match.
 */
interface Difference {
  why: string;
  lines: RegExp;
  ignore: 'text' | 'code and text';
}

const DIFFERENCES: Difference[] = [
  {
    why: 'a comment in the body named the migration that granted the clock to signed-in users; it now says what holds',
    lines: /^function fleet_health\(/,
    ignore: 'text',
  },
  {
    why: 'the refresh no longer drops the revision triggers under the names an older chain used (no 1.0 database has them)',
    lines: /^function scrapeguard\.refresh_event_revision_trigger\(\) /,
    ignore: 'code and text',
  },
];

function comparable(lines: string[]): string[] {
  return lines
    .map((line) => {
      const d = DIFFERENCES.find((x) => x.lines.test(line));
      if (!d) return line;
      return d.ignore === 'text'
        ? line.replace(/ text=[0-9a-f]{32}$/, ' text=(intended difference)')
        : line.replace(/ code=[0-9a-f]{32} text=[0-9a-f]{32}$/, ' code=(intended difference) text=(intended difference)');
    })
    .sort();
}

async function snapshotOf(appSchema: boolean): Promise<string[]> {
  const db = await createTestDatabase(BARE_TEMPLATE);
  try {
    const c = await db.client();
    if (appSchema) await inTransaction(c, fixture('equivalence/app-schema.sql'));
    await migrate(db.appUrl, { quiet: true });
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
      expect(comparable(now)).toEqual(comparable(old));
      // Each listed difference is real (and would be caught without its entry).
      for (const d of DIFFERENCES) {
        const before = old.filter((l) => d.lines.test(l));
        const after = now.filter((l) => d.lines.test(l));
        expect(after.length, d.why).toBe(1);
        expect(after, d.why).not.toEqual(before);
      }
    });
  }
});
