/**
 * The result shape typegen writes for each function (sdk/database.functions.ts), read from
 * the catalog: every kind of function PostgreSQL has, declared in a throwaway database,
 * gets the shape PostgREST answers with and the generated `Returns` type describes.
 */
import { describe, expect, test } from 'vitest';
import { generateDatabaseTypes } from '../scripts/lib/typegen.js';
import { createTestDatabase, useTestDatabase } from './support/db.js';

const db = await useTestDatabase();

const KINDS = `
  create type public.sg_probe_pair as (a integer, b text);
  create function public.sg_probe_void() returns void language sql as 'select';
  create function public.sg_probe_scalar() returns integer language sql as 'select 1';
  create function public.sg_probe_one_out(out x integer) language sql as 'select 1';
  create function public.sg_probe_two_out(out x integer, out y text) language sql as 'select 1, ''a''';
  create function public.sg_probe_table_row() returns public.event_sources language sql as 'select * from public.event_sources limit 1';
  create function public.sg_probe_type_row() returns public.sg_probe_pair language sql as 'select 1, ''a''';
  create function public.sg_probe_setof_rows() returns setof public.event_sources language sql as 'select * from public.event_sources';
  create function public.sg_probe_table(n integer) returns table (a integer, b text) language sql as 'select 1, ''a''';
  create function public.sg_probe_table_one() returns table (a integer) language sql as 'select 1';
  create function public.sg_probe_values() returns setof text language sql as 'select ''a''';
  create function public.sg_probe_array() returns text[] language sql as 'select array[''a'']';
`;

function shapes(module: string): Record<string, string> {
  return Object.fromEntries(
    [...module.matchAll(/^ {2}(sg_probe_\w+): (\{ shape: '\w+', columns: (?:'\w+'|null) \}),$/gm)].map((m) => [m[1]!, m[2]!]),
  );
}

describe('typegen: the result shape of each function', () => {
  test('every kind of function gets the shape its calls are answered in', async () => {
    const c = await db.client();
    await c.query(KINDS);
    const generated = await generateDatabaseTypes(db.appUrl);
    expect(shapes(generated.functions)).toEqual({
      sg_probe_array: "{ shape: 'scalar', columns: null }",
      sg_probe_one_out: "{ shape: 'scalar', columns: null }",
      sg_probe_scalar: "{ shape: 'scalar', columns: null }",
      sg_probe_setof_rows: "{ shape: 'rows', columns: 'table' }",
      sg_probe_table: "{ shape: 'rows', columns: 'declared' }",
      sg_probe_table_one: "{ shape: 'rows', columns: 'declared' }",
      sg_probe_table_row: "{ shape: 'row', columns: 'table' }",
      sg_probe_two_out: "{ shape: 'row', columns: 'declared' }",
      sg_probe_type_row: "{ shape: 'row', columns: 'table' }",
      sg_probe_values: "{ shape: 'values', columns: null }",
      sg_probe_void: "{ shape: 'void', columns: null }",
    });
    // The generated types agree: a set of values is an array of values, RETURNS TABLE an array of objects.
    const fn = (name: string) => generated.types.slice(generated.types.indexOf(`      ${name}: {`)).split('\n      }')[0]!.replace(/\s+/g, ' ');
    expect(fn('sg_probe_values')).toMatch(/Returns: string\[\]/);
    expect(fn('sg_probe_table_one')).toMatch(/Returns: \{ a: number \}\[\]/);
    expect(fn('sg_probe_one_out')).toMatch(/Returns: number/);
    expect(fn('sg_probe_void')).toMatch(/Returns: undefined/);
  });

  test('overloads that return differently are refused (a call by name could not be shaped)', async () => {
    const other = await createTestDatabase();
    try {
      const c = await other.client();
      await c.query(`
        create function public.sg_probe_overload(a integer) returns integer language sql as 'select a';
        create function public.sg_probe_overload(a text) returns setof text language sql as 'select a';
      `);
      await expect(generateDatabaseTypes(other.appUrl)).rejects.toThrow('public.sg_probe_overload has overloads with different result shapes');
    } finally {
      await other.drop();
    }
  });
});
