/**
 * Property: whatever sequence of inserts, updates (real, noise-only, no-op) and
 * deletes happens to a few events while time passes, event_as_of and events_as_of
 * rebuild every past state exactly (every tracked column, arrays and nulls
 * included), between changes too, and nothing before an event existed.
 */
import { beforeAll, describe, expect, test } from 'vitest';
import fc from 'fast-check';
import { useTestDatabase } from './support/db.js';

const db = await useTestDatabase();
const c = await db.client();

const NOISE = ['updated_at', 'last_scraped_at', 'scrape_hash'];
const STATUSES = ['draft', 'pending', 'published', 'cancelled', 'completed'] as const;
const START = '2026-10-01T12:00:00Z';

interface Fields {
  title?: string;
  description?: string | null;
  status?: (typeof STATUSES)[number];
  price_range?: (number | null)[] | null;
  tags?: (string | null)[];
  end_time?: string | null;
  venue_id?: string | null;
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
const fieldsArb: fc.Arbitrary<Fields> = fc.record(
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
    venue_id: fc.option(fc.uuid(), { nil: null }),
  },
  { requiredKeys: [] },
);
const opArb: fc.Arbitrary<Op> = fc.oneof(
  { weight: 6, arbitrary: fc.record({ kind: fc.constant('upsert' as const), event: fc.nat(2), fields: fieldsArb }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('noise' as const), event: fc.nat(2) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('noop' as const), event: fc.nat(2) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('delete' as const), event: fc.nat(2) }) },
);
/** A tick: time moves on (1 s … 2 h, sometimes by a few microseconds), then 1–3 writes. */
const tickArb = fc.record({
  advanceMicros: fc.oneof(fc.integer({ min: 1, max: 50 }), fc.integer({ min: 1_000_000, max: 7_200_000_000 })),
  ops: fc.array(opArb, { minLength: 1, maxLength: 3 }),
});

let clockBase = Date.parse('2026-01-01T00:00:00Z') * 1000; // microseconds

/** A timestamptz literal for a microsecond count since the epoch. */
function at(micros: number): string {
  const ms = Math.floor(micros / 1000);
  const frac = String(micros % 1_000_000).padStart(6, '0');
  return `${new Date(ms).toISOString().slice(0, 19)}.${frac}+00`;
}

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
    const f = op.fields;
    await c.query(
      `insert into public.events (id, title, description, start_time, status, price_range, tags, end_time, venue_id)
       values ($1, $2, $3, $4, $5, $6, $7, $8, $9)`,
      [id, f.title ?? 'new', f.description ?? null, START, f.status ?? 'draft', f.price_range ?? null, f.tags ?? [], f.end_time ?? null, f.venue_id ?? null],
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
});

describe('point-in-time reads', () => {
  test('event_as_of and events_as_of rebuild every past state exactly', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(tickArb, { minLength: 1, maxLength: 10 }), async (ticks) => {
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
