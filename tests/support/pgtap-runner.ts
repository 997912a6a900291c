/**
 * Runs one pgTAP file against its own copy of a migrated template and turns every
 * TAP line into a vitest test, so each assertion shows up in the report with
 * pgTAP's diagnostics when it fails (see tap-outcome.ts for TODO and SKIP).
 *
 * Every file runs twice: on the minimal base tables the migrations create, and on
 * the app stand-in (tests/fixtures/app-schema.sql, adopted by the migrations), so
 * behaviour is checked on an events table with the app's extra columns, triggers
 * and policies too. A file that checks the minimal shape itself says so with a line
 * `-- pgtap: base tables only (why)` and runs once.
 *
 * The files stay plain SQL (no psql meta-commands), so `pg_prove` runs them too.
 * They are sent as one simple-protocol query; each `select` of pgTAP yields rows
 * of TAP text. An SQL error, a failed assertion or a plan mismatch (too few or
 * too many tests, a missing plan) fails the file.
 */
import { readFile } from 'node:fs/promises';
import { basename } from 'node:path';
import { describe, test } from 'vitest';
import { createTestDatabase, EVENTS_SHAPES, MIGRATED_TEMPLATE } from './db.js';
import { failureOf, parseTap, titleOf, type TapOutcome } from './tap-outcome.js';

const BASE_ONLY = /^-- pgtap: base tables only\b/m;

function rowsToTap(result: unknown): string[] {
  const results = Array.isArray(result) ? result : [result];
  const lines: string[] = [];
  for (const r of results as { rows?: Record<string, unknown>[] }[]) {
    for (const row of r.rows ?? []) {
      const values = Object.values(row);
      if (values.length !== 1 || typeof values[0] !== 'string') continue;
      lines.push(...values[0].split('\n'));
    }
  }
  return lines;
}

function lineOf(sql: string, position: number | undefined): string {
  if (!position) return '';
  return ` (line ${sql.slice(0, position).split('\n').length})`;
}

export async function runPgTapSql(sql: string, template: string = MIGRATED_TEMPLATE): Promise<TapOutcome> {
  const db = await createTestDatabase(template);
  try {
    const client = await db.client();
    try {
      const result = await client.query(sql);
      return parseTap(rowsToTap(result));
    } catch (err) {
      const e = err as { message?: string; code?: string; position?: string; where?: string };
      return {
        assertions: [],
        problems: [`SQL error ${e.code ?? ''}${lineOf(sql, Number(e.position))}: ${e.message}${e.where ? `\n${e.where}` : ''}`],
      };
    }
  } finally {
    await db.drop();
  }
}

function declareOutcome(heading: string, outcome: TapOutcome): void {
  describe(heading, () => {
    for (const a of outcome.assertions) {
      const title = titleOf(a);
      if (a.verdict === 'skip') test.skip(title, () => {});
      else if (a.verdict === 'todo') test.todo(title);
      else {
        const failure = failureOf(a);
        test(title, () => {
          if (failure) throw new Error(failure);
        });
      }
    }
    for (const p of outcome.problems) {
      test(`file: ${p.split('\n')[0]}`, () => {
        throw new Error(p);
      });
    }
  });
}

/** Declares the vitest tests of one pgTAP file (used by the `.sql` transform in vitest.config.ts). */
export async function definePgTapSuite(file: string): Promise<void> {
  const sql = await readFile(file, 'utf8');
  const templates = BASE_ONLY.test(sql) ? EVENTS_SHAPES.slice(0, 1) : EVENTS_SHAPES;
  const outcomes = await Promise.all(templates.map((t) => runPgTapSql(sql, t.template)));
  templates.forEach((t, i) => declareOutcome(`pgTAP ${basename(file)} on the ${t.label}`, outcomes[i]!));
}
