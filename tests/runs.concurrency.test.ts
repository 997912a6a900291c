/**
 * Runs and logs with real connections: finish_run races, append_logs from many
 * connections while partitions are created, moved out of the default partition and
 * dropped, and the scrapeguard_runs notifications.
 */
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import pg from 'pg';
import { useTestDatabase } from './support/db.js';

const db = await useTestDatabase();
const clients: pg.Client[] = [];
let admin: pg.Client;
let source: string;

async function connect(): Promise<pg.Client> {
  const c = new pg.Client({ connectionString: db.appUrl });
  await c.connect();
  clients.push(c);
  return c;
}

async function startRun(c: pg.Client): Promise<string> {
  const r = await c.query<{ id: string }>('select public.start_run($1, $2) as id', [source, 'playwright']);
  return r.rows[0]?.id as string;
}

beforeAll(async () => {
  admin = await db.client();
  const r = await admin.query<{ id: string }>(
    `insert into public.event_sources (name, base_url) values ('concurrency', 'https://c') returning id`,
  );
  source = r.rows[0]?.id as string;
  for (let i = 0; i < 8; i += 1) await connect();
});

afterAll(async () => {
  await Promise.all(clients.map((c) => c.end().catch(() => undefined)));
});

describe('finish_run under concurrency', () => {
  test('eight connections finish the same run at once: exactly one wins, the others get SG003', async () => {
    for (let round = 0; round < 5; round += 1) {
      const run = await startRun(admin);
      const outcomes = await Promise.allSettled(
        clients.map((c, i) =>
          c.query<{ status: string; events_found: number }>(
            'select status, events_found from public.finish_run($1, $2, events_found => $3)',
            [run, i % 2 ? 'failed' : 'succeeded', i],
          ),
        ),
      );
      const won = outcomes.flatMap((o, i) => (o.status === 'fulfilled' ? [{ i, row: o.value.rows[0] }] : []));
      const lost = outcomes.flatMap((o) => (o.status === 'rejected' ? [o.reason as { code?: string }] : []));
      expect(won).toHaveLength(1);
      expect(lost.map((e) => e.code)).toEqual(Array(clients.length - 1).fill('SG003'));
      const stored = await admin.query('select status, events_found from public.scraping_runs where id = $1', [run]);
      expect(stored.rows[0]).toEqual(won[0]?.row);
      expect(stored.rows[0].events_found).toBe(won[0]?.i);
    }
  });
});

describe('append_logs while partitions come and go', () => {
  test('no batch fails or is lost while ensure_log_partitions and drop_expired_logs run', async () => {
    const run = await startRun(admin);
    // A shared frozen clock far ahead: the days of the logs below have no partition yet,
    // so their rows first land in the default partition and are then moved out of it.
    await admin.query(`select scrapeguard.freeze_clock('2031-03-01 00:00+00')`);
    try {
      const writers = clients.slice(0, 6);
      const batches = 25;
      const perBatch = 200;
      let stop = false;
      const maintenance = (async () => {
        const m = await connect();
        let created = 0;
        let day = 0;
        while (!stop) {
          // Move the clock one day per pass: each pass creates that day's partitions.
          await m.query(`select scrapeguard.freeze_clock(timestamptz '2031-03-01 00:00+00' + $1 * interval '1 day')`, [day]);
          created += (await m.query<{ n: number }>('select scrapeguard.ensure_log_partitions($1) as n', ['1 day'])).rows[0]?.n ?? 0;
          await m.query(`select scrapeguard.drop_expired_logs('400 days')`);
          day = (day + 1) % 10;
        }
        return created;
      })();
      const written = await Promise.all(
        writers.map(async (c, w) => {
          let n = 0;
          for (let b = 0; b < batches; b += 1) {
            const entries = Array.from({ length: perBatch }, (_, i) => ({
              level: ['debug', 'info', 'warn', 'error'][i % 4],
              message: `w${w} b${b} i${i}`,
              // Spread over ten days ahead of the clock's start.
              at: new Date(Date.UTC(2031, 2, 1 + ((w + b + i) % 10), 12)).toISOString(),
            }));
            const r = await c.query<{ n: number }>('select public.append_logs($1, $2) as n', [run, JSON.stringify(entries)]);
            n += r.rows[0]?.n ?? 0;
          }
          return n;
        }),
      );
      stop = true;
      const created = await maintenance;
      expect(created).toBeGreaterThan(0);
      expect(written.reduce((a, b) => a + b, 0)).toBe(writers.length * batches * perBatch);
      const count = await admin.query<{ n: string }>('select count(*) as n from public.scraping_logs where run_id = $1', [run]);
      expect(Number(count.rows[0]?.n)).toBe(writers.length * batches * perBatch);
      // Once every day has its partition, the default partition holds none of these rows.
      await admin.query(`select scrapeguard.freeze_clock('2031-03-01 00:00+00')`);
      await admin.query(`select scrapeguard.ensure_log_partitions('10 days')`);
      const misplaced = await admin.query<{ n: string }>(
        `select count(*) as n from public.scraping_logs
          where run_id = $1 and tableoid = 'scrapeguard.scraping_logs_default'::regclass`,
        [run],
      );
      expect(Number(misplaced.rows[0]?.n)).toBe(0);
      const unique = await admin.query<{ n: string }>(
        'select count(distinct message) as n from public.scraping_logs where run_id = $1',
        [run],
      );
      expect(Number(unique.rows[0]?.n)).toBe(writers.length * batches * perBatch);
    } finally {
      await admin.query('select scrapeguard.reset_clock()');
    }
  });
});

describe('notifications', () => {
  test('start_run and finish_run notify channel scrapeguard_runs with a small JSON payload', async () => {
    const listener = await connect();
    const got: unknown[] = [];
    listener.on('notification', (n) => {
      if (n.channel === 'scrapeguard_runs' && n.payload) got.push(JSON.parse(n.payload));
    });
    await listener.query('listen scrapeguard_runs');
    const run = await startRun(admin);
    await admin.query(`select public.finish_run($1, 'succeeded')`, [run]);
    await expect.poll(() => got.length, { timeout: 5000 }).toBe(2);
    expect(got).toEqual([
      { run_id: run, source_id: source, status: 'running' },
      { run_id: run, source_id: source, status: 'succeeded' },
    ]);
    await listener.query('unlisten *');
  });

  test('a rejected call notifies nothing', async () => {
    const listener = await connect();
    const got: string[] = [];
    listener.on('notification', (n) => got.push(n.payload ?? ''));
    await listener.query('listen scrapeguard_runs');
    await expect(admin.query(`select public.start_run($1, 'curl')`, [source])).rejects.toMatchObject({ code: '22023' });
    await expect(admin.query(`select public.finish_run(gen_random_uuid(), 'failed')`)).rejects.toMatchObject({
      code: 'SG002',
    });
    // A marker notification proves the channel is delivered and nothing came before it.
    await admin.query(`select pg_notify('scrapeguard_runs', 'marker')`);
    await expect.poll(() => got.length, { timeout: 5000 }).toBe(1);
    expect(got).toEqual(['marker']);
  });
});
