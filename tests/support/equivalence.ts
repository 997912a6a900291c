/**
 * The catalog facts compared between the 1.0 migrations and the chain they replaced
 * (tests/fixtures/equivalence/): everything catalogSnapshot records, plus what a
 * squash could silently lose — comments on indexes, constraints, triggers, policies
 * and domains, domain definitions, sequences, and the rows of scrapeguard's own
 * configuration tables.
 *
 * Functions are recorded twice: `code=` hashes the definition with comments and
 * whitespace runs removed (what it does), `text=` hashes it exactly (how it reads).
 * Rewording a comment inside a body changes only `text=`.
 */
import { createHash } from 'node:crypto';
import type pg from 'pg';
import { APP_SCHEMAS, catalogLines, relativeLogPartitionDays } from './catalog.js';

const EXTRA_SQL = String.raw`
with rels as (
  select c.oid, n.nspname, c.relname, c.relkind
    from pg_class c join pg_namespace n on n.oid = c.relnamespace
   where n.nspname = any($1::text[])
)
select line from (
  select format('index-comment %s.%s %s', r.nspname, ic.relname, obj_description(ic.oid, 'pg_class')) as line
    from rels r join pg_index i on i.indrelid = r.oid join pg_class ic on ic.oid = i.indexrelid
   where obj_description(ic.oid, 'pg_class') is not null
  union all
  select format('constraint-comment %s.%s %s %s', r.nspname, r.relname, co.conname, obj_description(co.oid, 'pg_constraint'))
    from rels r join pg_constraint co on co.conrelid = r.oid
   where obj_description(co.oid, 'pg_constraint') is not null
  union all
  select format('trigger-comment %s.%s %s %s', r.nspname, r.relname, t.tgname, obj_description(t.oid, 'pg_trigger'))
    from rels r join pg_trigger t on t.tgrelid = r.oid
   where obj_description(t.oid, 'pg_trigger') is not null
  union all
  select format('policy-comment %s.%s %s %s', r.nspname, r.relname, p.polname, obj_description(p.oid, 'pg_policy'))
    from rels r join pg_policy p on p.polrelid = r.oid
   where obj_description(p.oid, 'pg_policy') is not null
  union all
  select format('domain %s base=%s notnull=%s default=%s comment=%s', t.oid::regtype, format_type(t.typbasetype, t.typtypmod),
                t.typnotnull, t.typdefault, obj_description(t.oid, 'pg_type'))
    from pg_type t join pg_namespace n on n.oid = t.typnamespace
   where n.nspname = any($1::text[]) and t.typtype = 'd'
  union all
  select format('domain-constraint %s %s %s', t.oid::regtype, co.conname, pg_get_constraintdef(co.oid))
    from pg_type t join pg_namespace n on n.oid = t.typnamespace join pg_constraint co on co.contypid = t.oid
   where n.nspname = any($1::text[])
  union all
  select format('sequence %s.%s type=%s start=%s inc=%s min=%s max=%s cache=%s cycle=%s owned-by=%s',
                r.nspname, r.relname, format_type(s.seqtypid, null), s.seqstart, s.seqincrement, s.seqmin, s.seqmax,
                s.seqcache, s.seqcycle,
                (select format('%s.%s', dc.relname, a.attname) from pg_depend d
                   join pg_class dc on dc.oid = d.refobjid
                   join pg_attribute a on a.attrelid = d.refobjid and a.attnum = d.refobjsubid
                  where d.classid = 'pg_class'::regclass and d.objid = r.oid and d.deptype in ('a', 'i')))
    from rels r join pg_sequence s on s.seqrelid = r.oid
) facts
order by line
`;

const FUNCTIONS_SQL = String.raw`
select p.oid::regprocedure::text as sig, pg_get_functiondef(p.oid) as def
  from pg_proc p join pg_namespace n on n.oid = p.pronamespace
 where n.nspname = any($1::text[]) and p.prokind in ('f', 'p')
   and not exists (select from pg_depend d where d.objid = p.oid and d.deptype = 'e')
`;

/** A function definition without SQL comments and with whitespace runs collapsed. */
export function functionCode(def: string): string {
  let out = '';
  let i = 0;
  let quote: string | null = null; // inside '…' (SQL string literal)
  while (i < def.length) {
    const ch = def[i]!;
    const next = def[i + 1];
    if (quote) {
      out += ch;
      if (ch === "'" && next === "'") {
        out += next;
        i += 2;
        continue;
      }
      if (ch === "'") quote = null;
      i += 1;
      continue;
    }
    if (ch === "'") {
      quote = ch;
      out += ch;
      i += 1;
      continue;
    }
    if (ch === '-' && next === '-') {
      while (i < def.length && def[i] !== '\n') i += 1;
      continue;
    }
    if (ch === '/' && next === '*') {
      const end = def.indexOf('*/', i + 2);
      i = end < 0 ? def.length : end + 2;
      out += ' ';
      continue;
    }
    out += ch;
    i += 1;
  }
  return out.replace(/\s+/g, ' ').trim();
}

const md5 = (s: string) => createHash('md5').update(s).digest('hex');

/** Rows of scrapeguard's configuration tables (the log partitions are empty after a migration). */
async function configurationRows(c: pg.Client): Promise<string[]> {
  const tables = await c.query<{ t: string }>(
    `select format('%I.%I', n.nspname, c.relname) as t from pg_class c join pg_namespace n on n.oid = c.relnamespace
      where n.nspname = 'scrapeguard' and c.relkind = 'r' order by 1`,
  );
  const lines: string[] = [];
  for (const { t } of tables.rows) {
    // Times of the build and table oids differ between any two builds: left out / named.
    const rows = await c.query<{ r: string }>(
      `select ((to_jsonb(x) - 'created_at' - 'updated_at')
               || case when to_jsonb(x) ? 'events_oid'
                       then jsonb_build_object('events_oid', (to_jsonb(x) ->> 'events_oid')::oid::regclass::text)
                       else '{}' end)::text as r
         from ${t} x`,
    );
    for (const { r } of rows.rows) lines.push(`row ${t} ${r}`);
  }
  const counts = await c.query<{ line: string }>(
    `select format('rows public.event_revisions %s %s', operation, count(*)) as line from public.event_revisions group by operation`,
  );
  return [...lines, ...counts.rows.map((r) => r.line)];
}

export async function equivalenceSnapshot(c: pg.Client): Promise<string[]> {
  const all = await catalogLines(c);
  const base = all.filter((l) => !l.startsWith('function '));
  const funcs = await c.query<{ sig: string; def: string }>(FUNCTIONS_SQL, [APP_SCHEMAS]);
  const fnLines = all
    .filter((l) => l.startsWith('function '))
    .map((l) => {
      const sig = funcs.rows.find((f) => l.startsWith(`function ${f.sig} owner=`));
      if (!sig) throw new Error(`no definition for ${l.slice(0, 120)}`);
      return l.replace(/ body=[0-9a-f]{32}$/, ` code=${md5(functionCode(sig.def))} text=${md5(sig.def)}`);
    });
  const extra = (await c.query<{ line: string }>(EXTRA_SQL, [APP_SCHEMAS])).rows.map((r) => r.line);
  const rows = await configurationRows(c);
  return relativeLogPartitionDays([...base, ...fnLines, ...extra, ...rows]).sort();
}
