/**
 * A normalised, sorted text snapshot of a database's catalog, for "nothing changed"
 * assertions (rollback round trips, the add-only guard, export equivalence).
 * Each line names one fact: a column with its type/default, a constraint, an index,
 * a trigger, a policy, a grant, an RLS flag, a function body, a publication member…
 */
import type pg from 'pg';

const SNAPSHOT_SQL = String.raw`
-- ACLs are compared as sorted sets: REVOKE/GRANT order changes aclitem order, not meaning.
with rels as (
  select c.oid, n.nspname, c.relname, c.relkind, (select array_agg(x::text order by x::text) from unnest(c.relacl) x) as relacl, c.relrowsecurity, c.relforcerowsecurity,
         c.reloptions, c.relispartition, pg_get_expr(c.relpartbound, c.oid) as bound,
         pg_get_userbyid(c.relowner) as owner
    from pg_class c join pg_namespace n on n.oid = c.relnamespace
   where n.nspname = any($1::text[]) and c.relkind in ('r','p','v','m','S','f')
     and ($2::text[] is null or c.relname = any($2::text[]))
)
select line from (
  select format('schema %s owner=%s acl=%s comment=%s', n.nspname, pg_get_userbyid(n.nspowner), (select array_agg(x::text order by x::text) from unnest(n.nspacl) x),
                obj_description(n.oid, 'pg_namespace')) as line
    from pg_namespace n where n.nspname = any($1::text[]) and $2::text[] is null
  union all
  select format('relation %s.%s kind=%s owner=%s acl=%s rls=%s force=%s options=%s partition=%s comment=%s',
                nspname, relname, relkind, owner, relacl, relrowsecurity, relforcerowsecurity, reloptions,
                bound, obj_description(oid, 'pg_class'))
    from rels
  union all
  select format('column %s.%s.%s %s notnull=%s default=%s identity=%s generated=%s comment=%s',
                r.nspname, r.relname, a.attname, format_type(a.atttypid, a.atttypmod), a.attnotnull,
                pg_get_expr(d.adbin, d.adrelid), a.attidentity, a.attgenerated,
                col_description(r.oid, a.attnum))
    from rels r join pg_attribute a on a.attrelid = r.oid and a.attnum > 0 and not a.attisdropped
    left join pg_attrdef d on d.adrelid = a.attrelid and d.adnum = a.attnum
  union all
  select format('column-acl %s.%s.%s %s', r.nspname, r.relname, a.attname, (select array_agg(x::text order by x::text) from unnest(a.attacl) x))
    from rels r join pg_attribute a on a.attrelid = r.oid and a.attnum > 0 and a.attacl is not null
  union all
  select format('constraint %s.%s %s %s', r.nspname, r.relname, co.conname, pg_get_constraintdef(co.oid))
    from rels r join pg_constraint co on co.conrelid = r.oid
  union all
  select format('index %s', pg_get_indexdef(i.indexrelid))
    from rels r join pg_index i on i.indrelid = r.oid
  union all
  select format('trigger %s.%s %s enabled=%s', r.nspname, r.relname, pg_get_triggerdef(t.oid), t.tgenabled)
    from rels r join pg_trigger t on t.tgrelid = r.oid and not t.tgisinternal
   where not (t.tgname like any ($3::text[]))
  union all
  select format('policy %s.%s %s cmd=%s permissive=%s roles=%s using=%s check=%s', r.nspname, r.relname,
                p.polname, p.polcmd, p.polpermissive,
                (select array_agg(case when x = 0 then 'public' else pg_get_userbyid(x) end order by 1)
                   from unnest(p.polroles) x),
                pg_get_expr(p.polqual, p.polrelid), pg_get_expr(p.polwithcheck, p.polrelid))
    from rels r join pg_policy p on p.polrelid = r.oid
  union all
  select format('publication %s %s.%s', pub.pubname, r.nspname, r.relname)
    from rels r join pg_publication_rel pr on pr.prrelid = r.oid join pg_publication pub on pub.oid = pr.prpubid
  union all
  select format('function %s owner=%s acl=%s definer=%s config=%s comment=%s body=%s',
                p.oid::regprocedure, pg_get_userbyid(p.proowner), (select array_agg(x::text order by x::text) from unnest(p.proacl) x), p.prosecdef, p.proconfig,
                obj_description(p.oid, 'pg_proc'), md5(pg_get_functiondef(p.oid)))
    from pg_proc p join pg_namespace n on n.oid = p.pronamespace
   where n.nspname = any($1::text[]) and $2::text[] is null and p.prokind in ('f','p')
     and not exists (select from pg_depend d where d.objid = p.oid and d.deptype = 'e')
  union all
  select format('type %s kind=%s', t.oid::regtype, t.typtype)
    from pg_type t join pg_namespace n on n.oid = t.typnamespace
   where n.nspname = any($1::text[]) and $2::text[] is null and t.typtype in ('e','d','c')
     and (t.typtype <> 'c' or exists (select from pg_class c where c.oid = t.typrelid and c.relkind = 'c'))
  union all
  select format('default-acl %s %s %s %s', pg_get_userbyid(d.defaclrole), n.nspname, d.defaclobjtype, (select array_agg(x::text order by x::text) from unnest(d.defaclacl) x))
    from pg_default_acl d left join pg_namespace n on n.oid = d.defaclnamespace
   where $2::text[] is null
  union all
  select format('publication %s all=%s', pubname, puballtables) from pg_publication where $2::text[] is null
  union all
  select format('extension %s %s', extname, extversion) from pg_extension where $2::text[] is null
  union all
  select format('event-trigger %s %s', evtname, evtevent) from pg_event_trigger where $2::text[] is null
) facts
order by line
`;

export const APP_SCHEMAS = ['public', 'auth', 'scrapeguard', 'extensions'];
export const BASE_TABLES = ['events', 'event_sources', 'scrape_jobs', 'profiles'];

export interface SnapshotOptions {
  schemas?: string[];
  /** Only these relation names (then schema-wide facts are left out). */
  tables?: string[];
  /** Trigger name patterns (LIKE) to leave out, e.g. the one allowed touch of a base table. */
  ignoreTriggers?: string[];
}

export async function catalogSnapshot(client: pg.Client, opts: SnapshotOptions = {}): Promise<string[]> {
  return relativeLogPartitionDays(await catalogLines(client, opts));
}

/** The snapshot's lines before log partition days are made relative. */
export async function catalogLines(client: pg.Client, opts: SnapshotOptions = {}): Promise<string[]> {
  const res = await client.query<{ line: string }>(SNAPSHOT_SQL, [
    opts.schemas ?? APP_SCHEMAS,
    opts.tables ?? null,
    opts.ignoreTriggers ?? [],
  ]);
  return res.rows.map((r) => r.line);
}

/**
 * Daily log partitions are named and bounded by the day they were created for
 * (scraping_logs_p20261125, FOR VALUES FROM ('2026-11-25 00:00:00+00') …). Two
 * databases built on either side of a UTC midnight have the same partitions shifted
 * by a day, so snapshots name those days relative to the first one (day+0, day+1 …)
 * and compare the structure, not the date it was built on. Lines keep their order
 * because the shift is the same for all.
 */
export function relativeLogPartitionDays(lines: string[]): string[] {
  const days = [...lines.join('\n').matchAll(/scraping_logs_p(\d{4})(\d{2})(\d{2})/g)].map((m) =>
    Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3])),
  );
  if (days.length === 0) return lines;
  const first = Math.min(...days);
  const rel = (y: string, mo: string, d: string) => `day+${(Date.UTC(Number(y), Number(mo) - 1, Number(d)) - first) / 86_400_000}`;
  return lines.map((line) =>
    line
      .replace(/scraping_logs_p(\d{4})(\d{2})(\d{2})/g, (_m, y: string, mo: string, d: string) => `scraping_logs_p${rel(y, mo, d)}`)
      .replace(/'(\d{4})-(\d{2})-(\d{2}) 00:00:00\+00'/g, (_m, y: string, mo: string, d: string) => `'${rel(y, mo, d)}'`),
  );
}

/** The base tables as the app defines them, minus scrapeguard's own trigger(s). */
export function baseTableSnapshot(client: pg.Client): Promise<string[]> {
  return catalogSnapshot(client, { schemas: ['public'], tables: BASE_TABLES, ignoreTriggers: ['scrapeguard%', '\\_scrapeguard%'] });
}
