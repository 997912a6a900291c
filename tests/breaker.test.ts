/**
 * Circuit breaker across real connections: the hot paths neither lock nor write,
 * every transition is announced on the scrapeguard_breaker channel (and only
 * transitions are), lazy row creation is race-free, and errors carry the shared
 * SQLSTATEs to the client.
 */
import { beforeAll, describe, expect, test } from 'vitest';
import pg from 'pg';
import { useTestDatabase, type TestDatabase } from './support/db.js';

let db: TestDatabase;
let c: pg.Client;

beforeAll(async () => {
  db = await useTestDatabase();
  c = await db.client();
});

async function newSource(name: string): Promise<string> {
  const r = await c.query<{ id: string }>(
    `insert into public.event_sources (name, base_url) values ($1, 'https://example.com/' || $1) returning id`,
    [name],
  );
  return (r.rows[0] as { id: string }).id;
}

async function physical(source: string): Promise<{ ctid: string; xmin: string; xmax: string; version: string }> {
  const r = await c.query<{ ctid: string; xmin: string; xmax: string; version: string }>(
    'select ctid::text, xmin::text, xmax::text, version::text from public.circuit_breaker_state where source_id = $1',
    [source],
  );
  return r.rows[0] as { ctid: string; xmin: string; xmax: string; version: string };
}

describe('hot paths', () => {
  test('a permit on a closed breaker and a success without failures neither write nor lock', async () => {
    const source = await newSource('hot');
    await c.query('select public.acquire_permit($1)', [source]); // creates the row
    const before = await physical(source);

    // Another transaction holds the row lock (as a concurrent writer would).
    const holder = await db.client();
    await holder.query('begin');
    await holder.query('select 1 from public.circuit_breaker_state where source_id = $1 for update', [source]);

    const other = await db.client();
    await other.query(`set lock_timeout = '300ms'`);
    const t0 = performance.now();
    for (let i = 0; i < 50; i += 1) {
      const p = await other.query('select allowed, state from public.acquire_permit($1, $2)', [source, 'w']);
      expect(p.rows[0]).toEqual({ allowed: true, state: 'closed' });
      const s = await other.query('select (public.record_success($1)).failure_count::int n', [source]);
      expect(s.rows[0].n).toBe(0);
    }
    expect(performance.now() - t0).toBeLessThan(5000);
    // The contrast: a call that must write waits for the lock (and times out here).
    await expect(other.query('select public.record_failure($1)', [source])).rejects.toMatchObject({ code: '55P03' });
    await holder.query('rollback');

    // Separate transactions each, yet the row version is the very same tuple (xmax
    // now names the holder's aborted lock; the calls themselves never set it).
    const after = await physical(source);
    expect({ ...after, xmax: undefined }).toEqual({ ...before, xmax: undefined });
  });

  test('a denied permit (open, lease live) writes nothing either', async () => {
    const source = await newSource('denied');
    await c.query(`select scrapeguard.freeze_clock('2026-10-01 00:00:00+00', force => true)`);
    try {
      for (let i = 0; i < 3; i += 1) await c.query('select public.record_failure($1)', [source]);
      const before = await physical(source);
      for (let i = 0; i < 20; i += 1) {
        const p = await c.query('select allowed, state from public.acquire_permit($1)', [source]);
        expect(p.rows[0]).toEqual({ allowed: false, state: 'open' });
      }
      expect(await physical(source)).toEqual(before);
      await c.query(`select scrapeguard.advance_clock('2 hours')`);
      const probe = await c.query('select allowed, probe_id from public.acquire_permit($1)', [source]);
      expect(probe.rows[0].allowed).toBe(true);
      const held = await physical(source);
      for (let i = 0; i < 20; i += 1) {
        const p = await c.query('select allowed, state from public.acquire_permit($1)', [source]);
        expect(p.rows[0]).toEqual({ allowed: false, state: 'half_open' });
      }
      expect(await physical(source)).toEqual(held);
    } finally {
      await c.query('select scrapeguard.reset_clock()');
    }
  });
});

describe('notifications', () => {
  test('each transition is announced on scrapeguard_breaker with a small JSON payload; nothing else is', async () => {
    const source = await newSource('notify');
    const listener = await db.client();
    const got: { channel: string; payload: Record<string, unknown> }[] = [];
    listener.on('notification', (n) => {
      const payload = JSON.parse(n.payload ?? '{}') as Record<string, unknown>;
      if (payload.source_id === source) got.push({ channel: n.channel, payload });
    });
    await listener.query('listen scrapeguard_breaker');

    await c.query(`select scrapeguard.freeze_clock('2026-10-02 00:00:00+00', force => true)`);
    try {
      await c.query('select public.configure_breaker($1, jitter => 0)', [source]);
      await c.query('select public.record_failure($1, $2)', [source, 'one']); // no transition
      await c.query('select public.record_failure($1, $2)', [source, 'two']); // no transition
      await c.query('select public.record_failure($1, $2)', [source, 'three']); // closed → open
      await c.query('select public.record_failure($1, $2)', [source, 'late']); // late: no transition
      await c.query('select public.acquire_permit($1)', [source]); // denied: no transition
      await c.query(`select scrapeguard.advance_clock('1 hour')`);
      const probe = await c.query<{ probe_id: string }>('select probe_id from public.acquire_permit($1, $2)', [
        source,
        'prober',
      ]); // open → half_open
      await c.query('select public.acquire_permit($1)', [source]); // denied: no transition
      await c.query('select public.record_success($1, $2)', [source, probe.rows[0]?.probe_id]); // half_open → closed
      await c.query('select public.record_success($1)', [source]); // nothing
      await c.query('select public.force_breaker($1, $2)', [source, 'disabled']); // closed → disabled
      await c.query('select public.reset_breaker($1)', [source]); // disabled → closed

      // Notifications are delivered after commit; give the listener a moment.
      const deadline = Date.now() + 3000;
      while (got.length < 5 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
      await new Promise((r) => setTimeout(r, 100));

      expect(got.map((g) => g.channel)).toEqual(Array(5).fill('scrapeguard_breaker'));
      expect(got.map((g) => `${g.payload.from}>${g.payload.to}:${g.payload.reason}`)).toEqual([
        'closed>open:failure_threshold',
        'open>half_open:open_expired',
        'half_open>closed:probe_succeeded',
        'closed>disabled:disabled',
        'disabled>closed:reset',
      ]);
      expect(got[0]?.payload).toMatchObject({
        source_id: source,
        open_until: '2026-10-02T01:00:00+00:00',
        probe_id: null,
        workers: [null], // three failures without a worker: the anonymous one
        retry_after_until: null,
      });
      expect(got[1]?.payload.probe_id).toBe(probe.rows[0]?.probe_id);
      expect(Object.keys(got[0]?.payload ?? {}).sort()).toEqual(
        ['at', 'from', 'open_until', 'probe_id', 'reason', 'retry_after_until', 'source_id', 'to', 'version', 'workers'].sort(),
      );
      for (const g of got) expect(JSON.stringify(g.payload).length).toBeLessThan(400);
      // One notification per transitions row.
      const rows = await c.query('select count(*)::int n from public.circuit_breaker_transitions where source_id = $1', [source]);
      expect(rows.rows[0].n).toBe(got.length);
    } finally {
      await c.query('select scrapeguard.reset_clock()');
    }
  });

  test('an opening transition announces the streak\'s workers and the Retry-After; 16 long, escaped names still fit', async () => {
    const source = await newSource('notify workers');
    const ugly = await newSource('notify ugly workers');
    const listener = await db.client();
    const got: Record<string, unknown>[] = [];
    listener.on('notification', (n) => {
      const payload = JSON.parse(n.payload ?? '{}') as Record<string, unknown>;
      if (payload.source_id === source || payload.source_id === ugly) got.push(payload);
    });
    await listener.query('listen scrapeguard_breaker');
    await c.query(`select scrapeguard.freeze_clock('2026-10-03 00:00:00+00', force => true)`);
    try {
      await c.query('select public.configure_breaker($1, jitter => 0, min_failing_workers => 2)', [source]);
      await c.query(`select public.record_failure($1, 'HTTP 429', worker => 'worker-3', retry_after => '3 hours')`, [source]);
      await c.query(`select public.record_failure($1, 'HTTP 429', worker => 'worker-3')`, [source]);
      await c.query(`select public.record_failure($1, 'HTTP 503', worker => 'worker-5')`, [source]);
      // Sixteen workers whose 200-character names are control characters (6 bytes each once
      // escaped in JSON): 19,200 bytes of names, over pg_notify's 8000-byte limit if sent whole.
      await c.query('select public.configure_breaker($1, failure_threshold => 16, min_failing_workers => 16)', [ugly]);
      for (let i = 0; i < 16; i += 1) {
        const name = String.fromCharCode(1 + i).repeat(200);
        await c.query('select public.record_failure($1, $2, worker => $3)', [ugly, 'x', name]);
      }
      const deadline = Date.now() + 3000;
      while (got.length < 2 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
      expect(got[0]).toMatchObject({
        reason: 'failure_threshold',
        workers: ['worker-3', 'worker-5'],
        retry_after_until: '2026-10-03T03:00:00+00:00',
        open_until: '2026-10-03T03:00:00+00:00',
      });
      const uglyPayload = got[1] as { reason: string; workers: string[] };
      expect(uglyPayload.reason).toBe('failure_threshold');
      expect(uglyPayload.workers).toHaveLength(16);
      expect(uglyPayload.workers.every((w, i) => w === String.fromCharCode(1 + i).repeat(50))).toBe(true);
      expect(JSON.stringify(uglyPayload).length).toBeLessThan(8000);
      // The transition row keeps the full names.
      const t = await c.query<{ lengths: number[] }>(
        `select array(select char_length(w) from unnest(workers) w) as lengths
           from public.circuit_breaker_transitions where source_id = $1`,
        [ugly],
      );
      expect(t.rows[0]?.lengths).toEqual(Array(16).fill(200));
    } finally {
      await c.query('select scrapeguard.reset_clock(force => true)');
    }
  });

  test('a transition rolled back with its transaction is neither recorded nor announced', async () => {
    const source = await newSource('rollback');
    const listener = await db.client();
    const got: string[] = [];
    listener.on('notification', (n) => {
      if (n.payload?.includes(source)) got.push(n.payload);
    });
    await listener.query('listen scrapeguard_breaker');
    await c.query('begin');
    await c.query('select public.force_breaker($1, $2)', [source, 'forced_open']);
    await c.query('rollback');
    await new Promise((r) => setTimeout(r, 200));
    expect(got).toEqual([]);
    const rows = await c.query('select count(*)::int n from public.circuit_breaker_transitions where source_id = $1', [source]);
    expect(rows.rows[0].n).toBe(0);
  });
});

describe('lazy creation and errors', () => {
  test('16 connections calling on a new source at once: one row, no error', async () => {
    const clients = await Promise.all(Array.from({ length: 16 }, () => db.client()));
    const quiet = await newSource('lazy-quiet');
    const answers = await Promise.all(
      clients.map((k, i) =>
        i % 2 === 0
          ? k.query('select allowed, state from public.acquire_permit($1)', [quiet]).then((r) => r.rows[0])
          : k.query('select true as allowed, (public.record_success($1)).state::text state', [quiet]).then((r) => r.rows[0]),
      ),
    );
    expect(answers).toEqual(Array(16).fill({ allowed: true, state: 'closed' }));
    const failing = await newSource('lazy-failing');
    await Promise.all(clients.map((k) => k.query('select public.record_failure($1)', [failing])));
    const r = await c.query(
      `select (select count(*)::int from public.circuit_breaker_state where source_id = any($1)) as rows,
              (select failure_count::int from public.circuit_breaker_state where source_id = $2) as failures,
              (select count(*)::int from public.circuit_breaker_transitions where source_id = $2) as transitions`,
      [[quiet, failing], failing],
    );
    expect(r.rows[0]).toEqual({ rows: 2, failures: 16, transitions: 1 });
  });

  test('errors reach the client with the shared SQLSTATEs', async () => {
    const unknown = '00000000-dead-4000-8000-000000000000';
    await expect(c.query('select * from public.acquire_permit($1)', [unknown])).rejects.toMatchObject({
      code: 'SG001',
      message: `scrapeguard: unknown source ${unknown} (no event_sources row)`,
    });
    await expect(c.query('select public.record_failure($1)', [null])).rejects.toMatchObject({ code: '22004' });
    const source = await newSource('errors');
    await expect(c.query('select public.force_breaker($1, $2)', [source, 'half_open'])).rejects.toMatchObject({
      code: '22023',
    });
    await expect(
      c.query('select public.configure_breaker($1, failure_threshold => 0)', [source]),
    ).rejects.toMatchObject({ code: '22023' });
  });
});
