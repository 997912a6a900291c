/**
 * The README's worker pattern (examples/scraper.ts, imported as it is) against real, ugly data:
 * a 20,000-character log line, BigInt metadata, a dead site answering with a binary body (an
 * error whose text holds a NUL byte) and one batch the database refuses. The good lines are
 * stored, a healthy source's breaker stays closed and the dead site's opens at its threshold.
 *
 * The refused batch is real: a transport wrapper adds a key append_logs does not allow to one
 * entry each time it is sent, and the real append_logs refuses every batch holding it.
 */
import { describe, expect, test } from 'vitest';
import { scrapeSource } from '../../examples/scraper.js';
import {
  CircuitOpenError,
  createScrapeguard,
  PgTransport,
  RunAlreadyFinishedError,
  type RpcArgs,
  type Transport,
} from '../../sdk/index.js';
import { sdkFixture } from './support.js';

const f = await sdkFixture();

const POISON = 'this line is refused by the database';

/** Makes every entry whose message is POISON invalid for append_logs (an unknown key). */
class PoisoningTransport implements Transport {
  refusedCalls = 0;
  constructor(private readonly inner: Transport) {}
  rpc: Transport['rpc'] = (fn, args) => {
    if (fn === 'append_logs') {
      const entries = (args as RpcArgs<'append_logs'>).entries as Array<Record<string, unknown>>;
      if (entries.some((e) => e.message === POISON)) {
        this.refusedCalls += 1;
        const poisoned = entries.map((e) => (e.message === POISON ? { ...e, injected: true } : e));
        return this.inner.rpc(fn, { ...args, entries: poisoned });
      }
    }
    return this.inner.rpc(fn, args);
  };
  select: Transport['select'] = (r, o) => this.inner.select(r, o);
  withChangeContext: Transport['withChangeContext'] = (c, fn) => this.inner.withChangeContext(c, fn);
  close = () => this.inner.close();
}

async function breaker(sourceId: string) {
  const r = await f.admin.query<{ state: string; failure_count: number; last_error: string | null }>(
    'select state, failure_count, last_error from public.circuit_breaker_state where source_id = $1',
    [sourceId],
  );
  return r.rows[0];
}

async function logsOf(runId: string) {
  const r = await f.admin.query<{ level: string; message: string; metadata: Record<string, unknown> }>(
    'select level, message, metadata from public.scraping_logs where run_id = $1 order by id',
    [runId],
  );
  return r.rows;
}

describe('the README worker pattern with real, ugly data', () => {
  test('good lines stored, the healthy breaker closed, the binary-body site open at its threshold', async () => {
    const transport = new PoisoningTransport(new PgTransport({ pool: f.pool }));
    const bookkeeping: unknown[] = [];
    const sg = createScrapeguard({
      transport,
      breaker: { onBookkeepingError: (e) => bookkeeping.push(e) },
      logs: { intervalMs: 0 },
    });
    const healthy = await f.createSource('Healthy Theatre');
    const binary = await f.createSource('Binary Body Site');

    for (let i = 0; i < 3; i += 1) {
      const events = await scrapeSource(sg, healthy, async (log) => {
        log.info('x'.repeat(20_000));
        log.debug('listing fetched', { requests: 12345678901234567890n, at: new Date('2026-12-02T08:00:00Z') });
        if (i === 0) log.info(POISON);
        log.info(`parsed page ${i}`);
        return [{ title: `Healthy show ${i}`, start: '2026-12-20T20:00:00+08:00' }];
      });
      expect(events).toHaveLength(1);
    }

    const binaryBody = new Error('unexpected body: \u0000PK\u0003\u0004');
    for (let i = 0; i < 3; i += 1) {
      const err = await scrapeSource(sg, binary, async () => {
        throw binaryBody;
      }).catch((e: unknown) => e);
      expect(err).toBe(binaryBody); // the caller sees the site's own error
    }
    const denied = await scrapeSource(sg, binary, async () => []).catch((e: unknown) => e);
    expect(denied).toBeInstanceOf(CircuitOpenError);
    await sg.close();

    expect(bookkeeping).toEqual([]);
    expect(transport.refusedCalls).toBeGreaterThan(1); // the batch, then its halves down to the entry
    expect(await breaker(healthy)).toMatchObject({ state: 'closed', failure_count: 0, last_error: null });
    expect(await breaker(binary)).toMatchObject({ state: 'open', failure_count: 3, last_error: 'unexpected body: PK\u0003\u0004' });

    const runs = await f.admin.query<{ id: string; status: string; error_message: string | null; metadata: Record<string, unknown> }>(
      'select id, status, error_message, metadata from public.scraping_runs where source_id = $1 order by started_at, id',
      [healthy],
    );
    expect(runs.rows.map((r) => r.status)).toEqual(['succeeded', 'succeeded', 'succeeded']);
    const withLoss = runs.rows.filter((r) => r.metadata.scrapeguard_logs !== undefined);
    expect(withLoss).toHaveLength(1);
    expect(withLoss[0]!.metadata.scrapeguard_logs).toMatchObject({ dropped: 0, refused: 1, unwritten: 0 });

    const poisonedRun = withLoss[0]!.id;
    const lines = await logsOf(poisonedRun);
    expect(lines.map((l) => l.level)).toEqual(['info', 'info', 'debug', 'warn', 'info']);
    expect(lines[0]).toMatchObject({ message: 'fetching listing', metadata: { probe: false } });
    expect([...lines[1]!.message]).toHaveLength(16_384);
    expect(lines[1]!.message.endsWith(' …[truncated: 20000 characters in all]')).toBe(true);
    expect(lines[2]).toEqual({
      level: 'debug',
      message: 'listing fetched',
      metadata: { requests: '12345678901234567890', at: '2026-12-02T08:00:00.000Z' },
    });
    expect(lines[3]!.message).toMatch(/^scrapeguard: a info log entry was refused by append_logs: append_logs: entry \d+ has unknown keys/);
    expect(lines[3]!.metadata).toEqual({ refused_message: POISON });
    expect(lines[4]!.message).toMatch(/^parsed page \d$/);
    for (const run of runs.rows.filter((r) => r.id !== poisonedRun)) {
      expect((await logsOf(run.id)).map((l) => l.level)).toEqual(['info', 'info', 'debug', 'info']);
    }
    const revisions = await f.admin.query<{ n: number }>(
      'select count(*)::int as n from public.event_revisions where run_id = any($1)',
      [runs.rows.map((r) => r.id)],
    );
    expect(revisions.rows[0]!.n).toBe(3);

    const failed = await f.admin.query<{ status: string; error_message: string; id: string }>(
      'select id, status, error_message from public.scraping_runs where source_id = $1 order by started_at, id',
      [binary],
    );
    expect(failed.rows.map((r) => [r.status, r.error_message])).toEqual(
      Array.from({ length: 3 }, () => ['failed', 'unexpected body: PK\u0003\u0004']),
    );
    const errorLines = await logsOf(failed.rows[0]!.id);
    expect(errorLines[1]).toMatchObject({
      level: 'error',
      message: 'scrape failed',
      metadata: { error: { name: 'Error', message: 'unexpected body: PK\u0003\u0004' } },
    });
  });

  test('scrapeguard errors inside fn (finishing twice) never count against the site', async () => {
    const source = await f.createSource('Finished Twice');
    for (let i = 0; i < 4; i += 1) {
      const err = await f.sg.breaker
        .withCircuit(source, async () => {
          const run = await f.sg.runs.start({ sourceId: source, engine: 'api' }, { intervalMs: 0 });
          await run.finish({ status: 'succeeded', metadata: { pages: 3n } });
          await run.finish({ status: 'succeeded' });
        })
        .catch((e: unknown) => e);
      expect(err).toBeInstanceOf(RunAlreadyFinishedError);
    }
    expect(await breaker(source)).toMatchObject({ state: 'closed', failure_count: 0 });
    const runs = await f.sg.runs.list(source);
    expect(runs.map((r) => [r.status, r.metadata])).toEqual(Array.from({ length: 4 }, () => ['succeeded', { pages: '3' }]));
  });

  test('a failure whose text cannot be stored as it is is still counted (NUL, lone surrogate, 1 MiB)', async () => {
    const source = await f.createSource('Ugly Errors');
    const errors = [new Error('binary \u0000'), new Error('cut emoji \ud83d'), new Error('z'.repeat(1 << 20))];
    for (const e of errors) {
      await expect(f.sg.breaker.withCircuit(source, () => Promise.reject(e))).rejects.toBe(e);
    }
    const b = await breaker(source);
    expect(b).toMatchObject({ state: 'open', failure_count: 3 });
    expect([...(b!.last_error ?? '')].length).toBe(2000);
    expect(b!.last_error).toMatch(/ …\[truncated: 1048576 characters in all\]$/);
  });
});
