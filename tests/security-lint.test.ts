/**
 * Supabase's database-linter rules (security + performance), as catalog queries in
 * tests/fixtures/lint.sql, run against the fully migrated database: zero findings.
 * A second test proves the lint is not vacuous: an object left open the way a careless
 * migration would (Supabase's default grants, no RLS, no search_path) is caught.
 */
import { describe, expect, test } from 'vitest';
import { useTestDatabase } from './support/db.js';
import { fixture } from './support/sql-files.js';

interface Finding {
  rule: string;
  object: string;
  detail: string;
}

const LINT = fixture('lint.sql');
const db = await useTestDatabase();

describe('database linter rules', () => {
  test('the migrated database has no findings', async () => {
    const c = await db.client();
    const findings = (await c.query<Finding>(LINT)).rows;
    expect(findings).toEqual([]);
  });

  test('an object left with Supabase default grants is caught', async () => {
    const c = await db.client();
    await c.query('begin');
    try {
      await c.query('create table public.careless (id int)');
      await c.query('create function public.careless_fn() returns int language sql security definer as $$ select 1 $$');
      const findings = (await c.query<Finding>(LINT)).rows.map((f) => `${f.rule} ${f.object}`);
      expect(findings).toEqual(
        expect.arrayContaining([
          'rls_disabled_in_public public.careless',
          'no_primary_key public.careless',
          'anon_can_read public.careless',
          'api_role_can_write public.careless anon',
          'api_role_can_write public.careless authenticated',
          'function_search_path_mutable careless_fn()',
          'anon_security_definer_function_executable careless_fn()',
          'anon_function_executable careless_fn()',
          'public_function_executable careless_fn()',
        ]),
      );
    } finally {
      await c.query('rollback');
    }
  });
});
