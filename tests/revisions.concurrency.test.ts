/**
 * Revision numbers under concurrent writers of the same event (several real
 * connections): no gaps, no duplicates, and each revision starts where the previous
 * one ended. Pruning while scrapers write keeps every event's history whole. On the
 * minimal base tables and on the app stand-in (its own triggers write the row too).
 */
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import pg from 'pg';
import { EVENTS_SHAPES, useTestDatabase } from './support/db.js';

interface RevisionRow {
  revision: number;
  operation: string;
  field_name: string | null;
  old_value: unknown;
  new_value: unknown;
  run_id: string | null;
  actor: string | null;
  changed_at: Date;
}

describe.each(EVENTS_SHAPES)('revisions under concurrency ($label)', async ({ template }) => {
  const db = await useTestDatabase(template);
  const admin = await db.client();
  const extra: pg.Client[] = [];

  async function connect(): Promise<pg.Client> {
    const c = new pg.Client({ connectionString: db.appUrl });
    await c.connect();
    extra.push(c);
    return c;
  }

  afterAll(async () => {
    await Promise.all(extra.map((c) => c.end().catch(() => undefined)));
  });

  /** Noise columns are not history (the reads give their value of the last whole-row revision). */
  const NOISE = (await admin.query<{ noise: string[] }>('select array_agg(column_name) as noise from scrapeguard.revision_noise_columns'))
    .rows[0]!.noise;

  beforeAll(async () => {
    await admin.query('select scrapeguard.reset_clock()');
  });

  async function history(eventId: string): Promise<RevisionRow[]> {
    const r = await admin.query<RevisionRow>(
      `select revision, operation, field_name, old_value, new_value, run_id, actor, changed_at
         from public.event_revisions where event_id = $1 order by revision, id`,
      [eventId],
    );
    return r.rows;
  }

  describe('concurrent writers of one event', () => {
    test('six connections × 25 transactions: revisions 1…151 exactly once, chained', async () => {
      const workers = 6;
      const perWorker = 25;
      const { rows } = await admin.query<{ id: string }>(
        `insert into public.events (title, start_time, price_range) values ('Contended', '2026-07-01', '{0,0}') returning id`,
      );
      const eventId = rows[0]!.id;
      const clients = await Promise.all(Array.from({ length: workers }, () => connect()));
      // run_id references scraping_runs: one real run per worker.
      const source = await admin.query<{ id: string }>(
        `insert into public.event_sources (name, base_url) values ('concurrency', 'https://example.com') returning id`,
      );
      const runIds: string[] = [];
      for (let w = 0; w < workers; w++) {
        const r = await admin.query<{ id: string }>(`select public.start_run($1, 'playwright') as id`, [source.rows[0]!.id]);
        runIds.push(r.rows[0]!.id);
      }

      await Promise.all(
        clients.map(async (c, w) => {
          const runId = runIds[w]!;
          for (let i = 0; i < perWorker; i++) {
            await c.query('begin');
            await c.query('select public.set_change_context($1, $2)', [runId, `worker-${w + 1}`]);
            // A re-scrape touching only noise columns first: must not take a number.
            await c.query(`update public.events set last_scraped_at = clock_timestamp(), scrape_hash = md5(random()::text) where id = $1`, [eventId]);
            await c.query(`update public.events set title = $2, price_range = array[$3::int, $4::int] where id = $1`, [
              eventId,
              `w${w + 1}-${i}`,
              w + 1,
              i,
            ]);
            await c.query('commit');
          }
        }),
      );

      const h = await history(eventId);
      const revisions = [...new Set(h.map((r) => r.revision))];
      expect(revisions).toEqual(Array.from({ length: workers * perWorker + 1 }, (_, k) => k + 1));
      expect(h).toHaveLength(1 + 2 * workers * perWorker);
      expect(h[0]).toMatchObject({ revision: 1, operation: 'insert' });

      // Each revision's old title is the previous revision's new title: the writers
      // really were serialised by the row lock, in revision order.
      const titles = h.filter((r) => r.field_name === 'title');
      let previous: unknown = 'Contended';
      for (const t of titles) {
        expect(t.old_value).toEqual(previous);
        previous = t.new_value;
        const writer = String(t.new_value).split('-')[0]!.slice(1);
        expect(t.actor).toBe(`worker-${writer}`);
        expect(t.run_id).toBe(runIds[Number(writer) - 1]);
      }
      for (let k = 1; k < h.length; k++) expect(h[k]!.changed_at.getTime()).toBeGreaterThanOrEqual(h[k - 1]!.changed_at.getTime());

      const rebuilt = await admin.query(
        `select to_jsonb(public.event_as_of($1, scrapeguard.clock())) - $2::text[] as a,
                (select to_jsonb(e) - $2::text[] from public.events e where e.id = $1) as b`,
        [eventId, NOISE],
      );
      expect(rebuilt.rows[0].a).toEqual(rebuilt.rows[0].b);
    });

    test('inserting, updating and deleting different events in parallel numbers each one from 1', async () => {
      const clients = await Promise.all(Array.from({ length: 4 }, () => connect()));
      const ids = await Promise.all(
        clients.map(async (c, w) => {
          const mine: string[] = [];
          for (let i = 0; i < 10; i++) {
            const { rows } = await c.query<{ id: string }>(
              `insert into public.events (title, start_time) values ($1, '2026-08-01') returning id`,
              [`p${w}-${i}`],
            );
            const id = rows[0]!.id;
            mine.push(id);
            await c.query(`update public.events set status = 'published' where id = $1`, [id]);
            if (i % 2 === 0) await c.query(`delete from public.events where id = $1`, [id]);
          }
          return mine;
        }),
      );
      for (const [w, mine] of ids.entries()) {
        for (const [i, id] of mine.entries()) {
          const h = await history(id);
          expect(h.map((r) => `${r.revision}:${r.operation}`)).toEqual(
            i % 2 === 0 ? ['1:insert', '2:update', '3:delete'] : ['1:insert', '2:update'],
          );
          expect(h[0]!.new_value).toMatchObject({ title: `p${w}-${i}` });
        }
      }
    });
  });

  describe('pruning while scrapers write', () => {
    test('every event keeps a whole, gap-free history whose latest state is exact', async () => {
      const { rows } = await admin.query<{ id: string }>(
        `insert into public.events (title, start_time)
         select 'prune-' || g, '2026-09-01' from generate_series(1, 12) g returning id`,
      );
      const ids = rows.map((r) => r.id);
      const writers = await Promise.all(Array.from({ length: 3 }, () => connect()));
      const pruner = await connect();
      let writing = true;
      let prunes = 0;

      const pruning = (async () => {
        while (writing) {
          await pruner.query('select * from public.prune_event_revisions(3)');
          prunes++;
        }
      })();
      await Promise.all(
        writers.map(async (c, w) => {
          for (let i = 0; i < 60; i++) {
            const id = ids[(i * 5 + w) % ids.length]!;
            await c.query(`update public.events set title = $2, description = $3 where id = $1`, [id, `w${w}-${i}`, `d${i % 4}`]);
          }
        }),
      );
      writing = false;
      await pruning;
      expect(prunes).toBeGreaterThan(0);
      await admin.query('select * from public.prune_event_revisions(3)');

      for (const id of ids) {
        const h = await history(id);
        const revs = [...new Set(h.map((r) => r.revision))];
        // Contiguous from the oldest kept revision, which is a whole row, and at most
        // 3 changes plus that whole row.
        expect(revs).toEqual(Array.from({ length: revs.length }, (_, k) => revs[0]! + k));
        expect(revs.length).toBeLessThanOrEqual(4);
        expect(['insert', 'baseline']).toContain(h[0]!.operation);
        const check = await admin.query(
          `select to_jsonb(public.event_as_of($1, scrapeguard.clock())) - $2::text[] as a,
                  (select to_jsonb(e) - $2::text[] from public.events e where e.id = $1) as b`,
          [id, NOISE],
        );
        expect(check.rows[0].a).toEqual(check.rows[0].b);
      }
    });
  });
});
