/**
 * Property: whatever sequence of inserts, updates (real, noise-only, no-op) and
 * deletes happens to a few events while time passes, event_as_of and events_as_of
 * rebuild every past state exactly (every tracked column, arrays and nulls
 * included), between changes too, and nothing before an event existed. On the
 * minimal base tables and on the app stand-in (where an enum column is written too,
 * a stored generated column follows end_time, and venue_id references venues).
 */
import { beforeAll, describe, expect, test } from 'vitest';
import fc from 'fast-check';
import type pg from 'pg';
import { EVENTS_SHAPES, useTestDatabase } from './support/db.js';

const STATUSES = ['draft', 'pending', 'published', 'cancelled', 'completed'] as const;
const VISIBILITIES = ['public', 'unlisted', 'private'] as const;
/** The venues events may name (rows of public.venues where that table exists). */
const VENUES = [
  '3f0c8a8e-1d2b-4c5a-9e7f-000000000001',
  '3f0c8a8e-1d2b-4c5a-9e7f-000000000002',
  '3f0c8a8e-1d2b-4c5a-9e7f-000000000003',
];
const START = '2026-10-01T12:00:00Z';

interface Fields {
  title?: string;
  description?: string | null;
  status?: (typeof STATUSES)[number];
  price_range?: (number | null)[] | null;
  tags?: (string | null)[];
  end_time?: string | null;
  venue_id?: string | null;
  /** Only where events has the app's enum column. */
  visibility?: (typeof VISIBILITIES)[number];
}

type Op =
  | { kind: 'upsert'; event: number; fields: Fields }
  | { kind: 'noise'; event: number }
  | { kind: 'noop'; event: number }
  | { kind: 'delete'; event: number };

const text = fc.oneof(
  fc.string({ maxLength: 12 }),
  fc.constantFrom('', 'NULL', 'null', 'a,b', '"quoted"', 'back\\slash', '{braces}', 'ünïcødé ✓', ' padded '),
);
const fieldsArb = (withVisibility: boolean): fc.Arbitrary<Fields> => fc.record(
  {
    title: text,
    description: fc.option(text, { nil: null }),
    status: fc.constantFrom(...STATUSES),
    price_range: fc.option(fc.array(fc.option(fc.integer({ min: -5, max: 100_000 }), { nil: null }), { maxLength: 4 }), {
      nil: null,
    }),
    tags: fc.array(fc.option(text, { nil: null }), { maxLength: 4 }),
    end_time: fc.option(
      fc.integer({ min: 0, max: 10_000_000 }).map((s) => new Date(Date.parse(START) + s * 1000 + (s % 997)).toISOString()),
      { nil: null },
    ),
    venue_id: fc.option(fc.constantFrom(...VENUES), { nil: null }),
    ...(withVisibility ? { visibility: fc.constantFrom(...VISIBILITIES) } : {}),
  },
  { requiredKeys: [] },
);
const opArb = (withVisibility: boolean): fc.Arbitrary<Op> => fc.oneof(
  { weight: 6, arbitrary: fc.record({ kind: fc.constant('upsert' as const), event: fc.nat(2), fields: fieldsArb(withVisibility) }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('noise' as const), event: fc.nat(2) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('noop' as const), event: fc.nat(2) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('delete' as const), event: fc.nat(2) }) },
);
/** A tick: time moves on (1 s … 2 h, sometimes by a few microseconds), then 1–3 writes. */
const tickArb = (withVisibility: boolean) =>
  fc.record({
    advanceMicros: fc.oneof(fc.integer({ min: 1, max: 50 }), fc.integer({ min: 1_000_000, max: 7_200_000_000 })),
    ops: fc.array(opArb(withVisibility), { minLength: 1, maxLength: 3 }),
  });

let clockBase = Date.parse('2026-01-01T00:00:00Z') * 1000; // microseconds

/** A timestamptz literal for a microsecond count since the epoch. */
function at(micros: number): string {
  const ms = Math.floor(micros / 1000);
  const frac = String(micros % 1_000_000).padStart(6, '0');
  return `${new Date(ms).toISOString().slice(0, 19)}.${frac}+00`;
}

describe.each(EVENTS_SHAPES)('point-in-time reads ($label)', async ({ template }) => {
  const db = await useTestDatabase(template);
  const c: pg.Client = await db.client();
  const shape = await c.query<{ noise: string[]; visibility: boolean; venues: boolean }>(
    `select (select array_agg(column_name) from scrapeguard.revision_noise_columns) as noise,
            exists (select from pg_attribute where attrelid = 'public.events'::regclass and attname = 'visibility'
                       and not attisdropped) as visibility,
            to_regclass('public.venues') is not null as venues`,
  );
  /** Noise columns are not history (the reads give their value of the last whole-row revision). */
  const NOISE = shape.rows[0]!.noise;
  const withVisibility = shape.rows[0]!.visibility;
  const withVenues = shape.rows[0]!.venues;

  async function apply(op: Op, ids: string[]): Promise<void> {
    const id = ids[op.event]!;
    const exists = (await c.query('select 1 from public.events where id = $1', [id])).rowCount === 1;
    if (op.kind === 'delete') {
      await c.query('delete from public.events where id = $1', [id]);
    } else if (op.kind === 'noise') {
      await c.query(`update public.events set last_scraped_at = clock_timestamp(), scrape_hash = md5(random()::text) where id = $1`, [id]);
    } else if (op.kind === 'noop') {
      await c.query(`update public.events set title = title, tags = tags, price_range = price_range where id = $1`, [id]);
    } else if (!exists) {
      const row = { title: 'new', description: null, status: 'draft', price_range: null, tags: [], end_time: null, venue_id: null, ...op.fields };
      const cols = Object.keys(row);
      await c.query(
        `insert into public.events (id, start_time, ${cols.join(', ')}) values ($1, $2, ${cols.map((_, k) => `$${k + 3}`).join(', ')})`,
        [id, START, ...Object.values(row)],
      );
    } else {
      const entries = Object.entries(op.fields);
      if (entries.length === 0) return;
      const sets = entries.map(([k], i) => `${k} = $${i + 2}`).join(', ');
      await c.query(`update public.events set ${sets} where id = $1`, [id, ...entries.map(([, v]) => v)]);
    }
  }

  /** The tracked columns of each event as the table has them now (null: no row). */
  async function snapshot(ids: string[]): Promise<(string | null)[]> {
    const r = await c.query<{ j: string | null }>(
      `select (select (to_jsonb(e) - $2::text[])::text from public.events e where e.id = x.id) as j
         from unnest($1::uuid[]) with ordinality x(id, n) order by n`,
      [ids, NOISE],
    );
    return r.rows.map((x) => x.j);
  }

  async function rebuilt(ids: string[], when: string): Promise<(string | null)[]> {
    const r = await c.query<{ j: string | null }>(
      `select (to_jsonb(public.event_as_of(x.id, $2::timestamptz)) - $3::text[])::text as j
         from unnest($1::uuid[]) with ordinality x(id, n) order by n`,
      [ids, when, NOISE],
    );
    return r.rows.map((x) => x.j);
  }

  async function rebuiltAll(ids: string[], when: string): Promise<(string | null)[]> {
    const r = await c.query<{ id: string; j: string }>(
      `select e.id, (to_jsonb(e) - $3::text[])::text as j from public.events_as_of($2::timestamptz) e where e.id = any($1::uuid[])`,
      [ids, when, NOISE],
    );
    const byId = new Map(r.rows.map((x) => [x.id, x.j]));
    return ids.map((id) => byId.get(id) ?? null);
  }

  beforeAll(async () => {
    await c.query('select scrapeguard.freeze_clock($1)', [at(clockBase)]);
    if (withVenues) await c.query(`insert into public.venues (id, name) select unnest($1::uuid[]), 'Venue'`, [VENUES]);
  });

  test('event_as_of and events_as_of rebuild every past state exactly', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(tickArb(withVisibility), { minLength: 1, maxLength: 10 }), async (ticks) => {
        const ids = [crypto.randomUUID(), crypto.randomUUID(), crypto.randomUUID()];
        clockBase += 86_400_000_000; // each run a day later than the last
        let now = clockBase;
        const beforeAnything = at(now - 1);
        const states: { at: number; rows: (string | null)[] }[] = [];
        for (const tick of ticks) {
          now += tick.advanceMicros;
          await c.query('select scrapeguard.freeze_clock($1)', [at(now)]);
          for (const op of tick.ops) await apply(op, ids);
          states.push({ at: now, rows: await snapshot(ids) });
        }

        expect(await rebuilt(ids, beforeAnything)).toEqual([null, null, null]);
        for (const [k, s] of states.entries()) {
          expect(await rebuilt(ids, at(s.at)), `event_as_of at tick ${k}`).toEqual(s.rows);
          const next = states[k + 1]?.at ?? s.at + 1_000_000;
          if (next - s.at > 1) {
            expect(await rebuilt(ids, at(s.at + Math.floor((next - s.at) / 2))), `between ticks ${k} and ${k + 1}`).toEqual(s.rows);
          }
          expect(await rebuiltAll(ids, at(s.at)), `events_as_of at tick ${k}`).toEqual(s.rows);
        }
      }),
      { numRuns: 30 },
    );
  });
});
