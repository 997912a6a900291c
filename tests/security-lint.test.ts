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
  test('the migrated database has no findings, daily log partitions included', async () => {
    const c = await db.client();
    // The migration creates no daily partition; maintenance does, one table per day.
    const created = await c.query<{ n: number }>(`select scrapeguard.ensure_log_partitions('3 days') as n`);
    expect(created.rows[0]!.n).toBe(4);
    const findings = (await c.query<Finding>(LINT)).rows;
    expect(findings).toEqual([]);
  });

  test('a table closed by RLS alone, a policy trusting user_metadata and an always-true write policy are caught', async () => {
    const c = await db.client();
    await c.query('begin');
    try {
      await c.query('create table scrapeguard.careless_internal (id int primary key)');
      await c.query('alter table scrapeguard.careless_internal enable row level security');
      await c.query('create table public.careless_open (id int primary key)');
      await c.query('alter table public.careless_open enable row level security');
      await c.query(`create policy "meta admins" on public.careless_open for select to authenticated
                       using ((select auth.jwt() -> 'user_metadata' ->> 'role') = 'admin')`);
      await c.query('create policy "anyone writes" on public.careless_open for update to authenticated using (true)');
      // A policy calling a function that trusts user_metadata (the admin rule gone wrong).
      await c.query(`create function scrapeguard.careless_is_admin() returns boolean language sql stable set search_path = ''
                       as $$ select (auth.jwt() -> 'user_metadata' ->> 'role') = 'admin' $$`);
      await c.query(`create policy "careless admins" on public.careless_open for delete to authenticated
                       using ((select scrapeguard.careless_is_admin()))`);
      const findings = (await c.query<Finding>(LINT)).rows.map((f) => `${f.rule} ${f.object}`);
      expect(findings).toEqual(
        expect.arrayContaining([
          'rls_enabled_no_policy scrapeguard.careless_internal',
          'rls_references_user_metadata public.careless_open meta admins',
          'rls_references_user_metadata scrapeguard.careless_is_admin() careless admins',
          'rls_policy_always_true public.careless_open anyone writes',
        ]),
      );
      // A partition left without the closing policy is caught too.
      await c.query(`select scrapeguard.ensure_log_partitions('1 day')`);
      const part = await c.query<{ p: string }>(
        `select partition::text as p from scrapeguard.log_partitions() where not is_default order by lower_bound limit 1`,
      );
      await c.query(`drop policy "internal: no direct access" on ${part.rows[0]!.p}`);
      const after = (await c.query<Finding>(LINT)).rows.map((f) => `${f.rule} ${f.object}`);
      expect(after).toContain(`rls_enabled_no_policy ${part.rows[0]!.p}`);
    } finally {
      await c.query('rollback');
    }
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
