/**
 * Version 1.0 rewrote the migrations as one per feature. This proves the new chain
 * builds the same database as the fifteen migrations it replaced: catalog snapshots of
 * that chain (tests/fixtures/equivalence/*.json, recorded from it on a bare database and
 * on the app stand-in as it was then, per PostgreSQL major version: 17 grants MAINTAIN,
 * 15 has no such privilege) against the new chain's, with every intended difference
 * listed below.
 *
 * SCRAPEGUARD_RECORD_EQUIVALENCE=1 rewrites the fixtures from the chain in
 * migrations/committed (and then fails, so a recording never passes as a check).
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, inject, test } from 'vitest';
import { inTransaction, migrate } from '../scripts/lib/database.js';
import { PROJECT_ROOT } from '../scripts/lib/paths.js';
import { BARE_TEMPLATE, createTestDatabase } from './support/db.js';
import { equivalenceSnapshot } from './support/equivalence.js';
import { fixture } from './support/sql-files.js';

const DIR = join(PROJECT_ROOT, 'tests', 'fixtures', 'equivalence');
const RECORD = process.env.SCRAPEGUARD_RECORD_EQUIVALENCE === '1';

/**
 * Intended differences: each maps a line of the old snapshot to its line in the new one
 * (null: gone on purpose) or names a new line (added on purpose).
 */
interface Difference {
  why: string;
  /** Lines of the old chain's snapshot that the new chain changes or removes. */
  old: RegExp;
  /** The replacement, applied to the old line; omitted: the line is gone. */
  now?: (line: string) => string;
}

const DIFFERENCES: Difference[] = [];

/** New lines (not in the old chain) and why. */
const ADDED: { why: string; line: RegExp }[] = [];

function expected(old: string[]): string[] {
  const out: string[] = [];
  for (const line of old) {
    const d = DIFFERENCES.find((x) => x.old.test(line));
    if (!d) out.push(line);
    else if (d.now) out.push(d.now(line));
  }
  return out.sort();
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
      if (RECORD) {
        writeFileSync(file, `${JSON.stringify(now, null, 1)}\n`);
        throw new Error(`recorded ${file}; run again without SCRAPEGUARD_RECORD_EQUIVALENCE`);
      }
      const old = JSON.parse(readFileSync(file, 'utf8')) as string[];
      const added = now.filter((l) => ADDED.some((a) => a.line.test(l)));
      expect(now.filter((l) => !added.includes(l))).toEqual(expected(old));
      for (const a of ADDED) expect(added.some((l) => a.line.test(l)), a.why).toBe(true);
    });
  }
});
