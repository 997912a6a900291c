/**
 * Runs and the buffered logger over the pg transport: every entry arrives exactly
 * once, whether flushed by size, by timer or on finish, under concurrent logging,
 * and when append_logs fails part of the time (a transport wrapper makes some calls
 * fail before they reach the database; the database itself is real).
 */
import { describe, expect, test } from 'vitest';
import { createScrapeguard, PgTransport, type Transport } from '../../sdk/index.js';
import { sdkFixture } from './support.js';

const f = await sdkFixture();

async function loggedMessages(runId: string): Promise<string[]> {
  const r = await f.admin.query<{ message: string }>(
    'select message from public.scraping_logs where run_id = $1 order by message',
    [runId],
  );
  return r.rows.map((x) => x.message);
}

/** Fails every `every`-th append_logs call with a connection-style error. */
class FlakyTransport implements Transport {
  calls = 0;
  constructor(
    private readonly inner: Transport,
    private readonly every: number,
  ) {}
  rpc: Transport['rpc'] = (fn, args) => {
    if (fn === 'append_logs') {
      this.calls += 1;
      if (this.calls % this.every === 0) return Promise.reject(new Error('connection reset'));
    }
    return this.inner.rpc(fn, args);
  };
  select: Transport['select'] = (r, o) => this.inner.select(r, o);
  withChangeContext: Transport['withChangeContext'] = (c, fn) => this.inner.withChangeContext(c, fn);
  close = () => this.inner.close();
}

describe('runs', () => {
  test('start → log → finish records the outcome and every log entry', async () => {
    const source = await f.createSource('Macao Cultural Centre');
    const run = await f.sg.runs.start({ sourceId: source, engine: 'playwright', worker: 'w1' }, { intervalMs: 0 });
    run.log.info('fetched listing', { url: 'https://ccm.example/programme', status: 200 });
    run.log.warn('missing price', { event: 'Opening Night' });
    const row = await run.finish({ status: 'partial', fieldCoverage: 87.5, eventsFound: 12, eventsCreated: 2, eventsUpdated: 3 });
    expect(row).toMatchObject({ id: run.id, status: 'partial', engine: 'playwright', events_found: 12, field_coverage: 87.5 });
    expect(typeof row.duration_ms).toBe('number');
    expect(await loggedMessages(run.id)).toEqual(['fetched listing', 'missing price']);
    const listed = await f.sg.runs.list(source);
    expect(listed.map((r) => r.id)).toEqual([run.id]);
  });

  test('concurrent logging flushed by size: 2,000 entries, none lost or duplicated', async () => {
    const source = await f.createSource('Busy Source');
    const run = await f.sg.runs.start({ sourceId: source, engine: 'firecrawl' }, { maxBatch: 37, intervalMs: 0 });
    await Promise.all(
      Array.from({ length: 20 }, async (_, w) => {
        for (let i = 0; i < 100; i += 1) {
          run.log.debug(`w${String(w).padStart(2, '0')}-${String(i).padStart(3, '0')}`);
          if (i % 10 === 0) await new Promise((r) => setImmediate(r));
        }
      }),
    );
    await run.finish({ status: 'succeeded' });
    const got = await loggedMessages(run.id);
    expect(got).toHaveLength(2000);
    expect(new Set(got).size).toBe(2000);
  });

  test('the interval timer flushes without an explicit call', async () => {
    const source = await f.createSource('Timer Source');
    const run = await f.sg.runs.start({ sourceId: source, engine: 'feed' }, { intervalMs: 50 });
    run.log.info('tick');
    await expect.poll(() => loggedMessages(run.id), { timeout: 5000, interval: 50 }).toEqual(['tick']);
    await run.finish({ status: 'succeeded' });
  });

  test('failed batches are retried: nothing lost, nothing duplicated', async () => {
    const source = await f.createSource('Flaky Network');
    const flaky = new FlakyTransport(new PgTransport({ pool: f.pool }), 3);
    const sg = createScrapeguard({ transport: flaky });
    const run = await sg.runs.start({ sourceId: source, engine: 'api' }, { maxBatch: 10, intervalMs: 0 });
    for (let i = 0; i < 95; i += 1) run.log.info(`m${String(i).padStart(3, '0')}`);
    for (let attempt = 0; attempt < 20 && run.pending > 0; attempt += 1) await run.flush().catch(() => undefined);
    expect(run.pending).toBe(0);
    expect(flaky.calls).toBeGreaterThan(10);
    await run.finish({ status: 'succeeded' });
    const got = await loggedMessages(run.id);
    expect(got).toEqual(Array.from({ length: 95 }, (_, i) => `m${String(i).padStart(3, '0')}`));
  });

  test('an over-long entry is truncated when logged, with a marker, and finish records the run', async () => {
    const source = await f.createSource('Bad Entry');
    const run = await f.sg.runs.start({ sourceId: source, engine: 'devtools' }, { intervalMs: 0 });
    run.log.info('good');
    run.log.info('x'.repeat(20_000), { blob: 'y'.repeat(200_000) });
    const row = await run.finish({ status: 'failed', errorMessage: 'log too large' });
    expect(row.status).toBe('failed');
    expect(run.pending).toBe(0);
    expect(row.metadata).not.toHaveProperty('scrapeguard_logs');
    const r = await f.admin.query<{ message: string; metadata: Record<string, unknown> }>(
      'select message, metadata from public.scraping_logs where run_id = $1 order by id',
      [run.id],
    );
    expect(r.rows[0]).toEqual({ message: 'good', metadata: {} });
    expect([...r.rows[1]!.message]).toHaveLength(16_384);
    expect(r.rows[1]!.message).toMatch(/^x+ …\[truncated: 20000 characters in all\]$/);
    expect(r.rows[1]!.metadata).toMatchObject({ metadata_truncated: { original_bytes: 200_012, limit_bytes: 8192 } });
    expect(String(r.rows[1]!.metadata.preview)).toMatch(/^\{"blob":"y+…$/);
  });
});
