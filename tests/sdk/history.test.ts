/**
 * History reads through the SDK, and revisions attributed to a run through the run
 * handle's transaction (pg transport).
 */
import { describe, expect, test } from 'vitest';
import { sdkFixture } from './support.js';

const f = await sdkFixture();

describe('history', () => {
  test('writes through a run handle are attributed to the run; asOf rebuilds the earlier state', async () => {
    const source = await f.createSource('Galaxy Arena');
    const { rows } = await f.admin.query<{ id: string }>(
      `insert into public.events (title, start_time, status, price_range, tags)
       values ('Jacky Cheung Live', '2026-12-20 20:00+08', 'draft', '{480,1280}', '{concert}') returning id`,
    );
    const eventId = rows[0]!.id;
    const before = await f.sg.history.asOf(eventId, new Date());
    expect(before?.price_range).toEqual([480, 1280]);
    await new Promise((r) => setTimeout(r, 20));
    const middle = new Date();
    await new Promise((r) => setTimeout(r, 20));

    const run = await f.sg.runs.start({ sourceId: source, engine: 'playwright' }, { intervalMs: 0 });
    await run.transaction(async (tx) => {
      await tx.query(`update public.events set price_range = '{580,1380}', status = 'published' where id = $1`, [eventId]);
    }, 'scraper:galaxy');
    await run.finish({ status: 'succeeded', eventsUpdated: 1 });

    const history = await f.sg.history.event(eventId);
    const updates = history.filter((r) => r.operation === 'update');
    expect(updates.map((r) => r.field_name).sort()).toEqual(['price_range', 'status']);
    for (const u of updates) {
      expect(u.run_id).toBe(run.id);
      expect(u.actor).toBe('scraper:galaxy');
    }
    const price = updates.find((u) => u.field_name === 'price_range');
    expect(price?.old_value).toEqual([480, 1280]);
    expect(price?.new_value).toEqual([580, 1380]);

    const then = await f.sg.history.asOf(eventId, middle);
    expect(then).toMatchObject({ id: eventId, status: 'draft', price_range: [480, 1280] });
    const now = await f.sg.history.asOf(eventId, new Date());
    expect(now).toMatchObject({ status: 'published', price_range: [580, 1380] });
    const all = await f.sg.history.allAsOf(middle);
    expect(all.find((e) => e.id === eventId)?.status).toBe('draft');
  });

  test('asOf before an event existed is null', async () => {
    const earlier = new Date(Date.now() - 60_000);
    const { rows } = await f.admin.query<{ id: string }>(
      `insert into public.events (title, start_time) values ('Later Event', '2027-01-01 10:00+08') returning id`,
    );
    expect(await f.sg.history.asOf(rows[0]!.id, earlier)).toBeNull();
  });
});
