/**
 * Runs one pgTAP file against its own copy of the migrated template and turns
 * every TAP line into a vitest test, so each assertion shows up in the report
 * with pgTAP's diagnostics when it fails.
 *
 * The files stay plain SQL (no psql meta-commands), so `pg_prove` runs them too.
 * They are sent as one simple-protocol query; each `select` of pgTAP yields rows
 * of TAP text. An SQL error, a failed assertion or a plan mismatch (too few or
 * too many tests, a missing plan) fails the file.
 */
import { readFile } from 'node:fs/promises';
import { basename } from 'node:path';
import { Parser, type Result } from 'tap-parser';
import { describe, test } from 'vitest';
import { createTestDatabase } from './db.js';

interface Assertion {
  id: number;
  name: string;
  ok: boolean;
  skip: boolean;
  todo: boolean;
  diagnostics: string[];
}

interface FileOutcome {
  assertions: Assertion[];
  problems: string[];
}

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

export function parseTap(lines: string[]): FileOutcome {
  const assertions: Assertion[] = [];
  const problems: string[] = [];
  const parser = new Parser();
  parser.on('assert', (r: Result) => {
    assertions.push({
      id: r.id ?? assertions.length + 1,
      name: r.name,
      ok: r.ok,
      skip: Boolean(r.skip),
      todo: Boolean(r.todo),
      diagnostics: [],
    });
  });
  // pgTAP writes a failure's have/want as `#` comments right after the assertion.
  parser.on('comment', (c: string) => {
    const last = assertions.at(-1);
    if (last) last.diagnostics.push(c.replace(/\n$/, ''));
    else problems.push(c.trim());
  });
  let finalOk = true;
  parser.on('complete', (res: { ok: boolean; plan: { start: number; end: number; skipAll: boolean }; count: number }) => {
    finalOk = res.ok;
    if (res.count === 0) problems.push('no assertion ran');
    else if (res.plan.end !== res.count && !res.plan.skipAll) {
      problems.push(`planned ${res.plan.end} tests but ran ${res.count}`);
    }
  });
  parser.end(lines.map((l) => `${l}\n`).join(''));
  if (!finalOk && problems.length === 0 && assertions.every((a) => a.ok || a.todo)) {
    problems.push('TAP stream is not ok (missing or bad plan)');
  }
  return { assertions, problems };
}

export async function runPgTapFile(file: string): Promise<FileOutcome> {
  const sql = await readFile(file, 'utf8');
  const db = await createTestDatabase();
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

/** Declares the vitest tests of one pgTAP file (used by the `.sql` transform in vitest.config.ts). */
export async function definePgTapSuite(file: string): Promise<void> {
  const outcome = await runPgTapFile(file);
  describe(`pgTAP ${basename(file)}`, () => {
    for (const a of outcome.assertions) {
      const title = `${a.id} - ${a.name || '(unnamed)'}`;
      if (a.skip) {
        test.skip(title, () => {});
        continue;
      }
      test(title, () => {
        if (!a.ok && !a.todo) {
          throw new Error([`not ok ${title}`, ...a.diagnostics].join('\n'));
        }
      });
    }
    for (const p of outcome.problems) {
      test(`file: ${p.split('\n')[0]}`, () => {
        throw new Error(p);
      });
    }
  });
}
