/**
 * The run logger when the database cannot take its lines: the bounded buffer (oldest debug
 * dropped first, drops recorded in the run), finish() recording the run whatever the logs did,
 * lines logged after finish(), close() flushing every open run, a run deleted under its logger.
 * An unreachable database is simulated by a transport wrapper that fails append_logs before it
 * is sent (as a lost connection would); every other call, and the data, are real.
 */
import { describe, expect, test } from 'vitest';
import {
  ConnectionLostError,
  createScrapeguard,
  PgTransport,
  UnknownRunError,
  type RpcArgs,
  type Transport,
} from '../../sdk/index.js';
import { sdkFixture } from './support.js';

const f = await sdkFixture();

class SwitchableTransport implements Transport {
  down = false;
  appendCalls = 0;
  constructor(private readonly inner: Transport) {}
  rpc: Transport['rpc'] = (fn, args) => {
    if (fn === 'append_logs') {
      this.appendCalls += 1;
      if (this.down) {
        return Promise.reject(new ConnectionLostError({ message: 'connection lost: simulated', mayHaveCommitted: false }));
      }
    }
    return this.inner.rpc(fn, args);
  };
  select: Transport['select'] = (r, o) => this.inner.select(r, o);
  withChangeContext: Transport['withChangeContext'] = (c, fn) => this.inner.withChangeContext(c, fn);
  close = () => this.inner.close();
}

function setup() {
  const transport = new SwitchableTransport(new PgTransport({ pool: f.pool }));
  const errors: unknown[] = [];
  const sg = createScrapeguard({ transport, logs: { intervalMs: 0, onError: (e) => errors.push(e) } });
  return { transport, sg, errors };
}

async function logged(runId: string): Promise<Array<{ level: string; message: string }>> {
  const r = await f.admin.query<{ level: string; message: string }>(
    'select level, message from public.scraping_logs where run_id = $1 order by id',
    [runId],
  );
  return r.rows;
}

describe('run logger', () => {
  test('a full buffer drops the oldest debug entry first, then info; the drops are recorded in the run', async () => {
    const { transport, sg } = setup();
    const source = await f.createSource('Full Buffer');
    const run = await sg.runs.start({ sourceId: source, engine: 'api' }, { maxBuffered: 5, maxBatch: 100 });
    transport.down = true;
    run.log.debug('d1');
    run.log.info('i1');
    run.log.debug('d2');
    run.log.warn('w1');
    run.log.error('e1');
    run.log.info('i2'); // drops d1
    run.log.debug('d3'); // drops d2
    run.log.error('e2'); // drops d3
    run.log.warn('w2'); // no debug left: drops i1
    expect(run.pending).toBe(5);
    expect(run.stats.dropped).toEqual({ debug: 3, info: 1, warn: 0, error: 0 });
    transport.down = false;
    const row = await run.finish({ status: 'succeeded' });
    expect((await logged(run.id)).map((l) => l.message)).toEqual(['w1', 'e1', 'i2', 'e2', 'w2']);
    expect(row.metadata).toEqual({
      scrapeguard_logs: { dropped: 4, refused: 0, unwritten: 0, dropped_by_level: { debug: 3, info: 1, warn: 0, error: 0 } },
    });
  });

  test('the buffer is bounded in bytes too: the oldest lines go first, the newest are kept', async () => {
    const { transport, sg } = setup();
    const source = await f.createSource('Heavy Lines');
    const run = await sg.runs.start({ sourceId: source, engine: 'api' }, { maxBatch: 1000, maxBufferedBytes: 1 << 20 });
    transport.down = true;
    for (let i = 0; i < 100; i += 1) run.log.info(`${String(i).padStart(3, '0')} ${'x'.repeat(16_000)}`);
    const kept = run.pending;
    // 16,004 UTF-16 units = 32,008 bytes + 2 of metadata each: 32 fit in 1 MiB.
    expect(kept).toBe(32);
    expect(run.stats.dropped.info).toBe(100 - kept);
    transport.down = false;
    const row = await run.finish({ status: 'succeeded' });
    const messages = (await logged(run.id)).map((l) => l.message.slice(0, 3));
    expect(messages).toEqual(Array.from({ length: kept }, (_, i) => String(100 - kept + i).padStart(3, '0')));
    expect(row.metadata).toMatchObject({ scrapeguard_logs: { dropped: 100 - kept, unwritten: 0 } });
  });

  test('finish() records the run when the logs cannot be written, says so, and close() writes them later', async () => {
    const { transport, sg, errors } = setup();
    const source = await f.createSource('Logs Down');
    const run = await sg.runs.start({ sourceId: source, engine: 'feed' });
    transport.down = true;
    for (let i = 0; i < 3; i += 1) run.log.info(`line ${i}`);
    const row = await run.finish({ status: 'partial', eventsFound: 2 });
    expect(row).toMatchObject({ status: 'partial', events_found: 2 });
    expect(row.metadata).toMatchObject({ scrapeguard_logs: { dropped: 0, refused: 0, unwritten: 3 } });
    expect(run.finished).toBe(true);
    expect(run.pending).toBe(3);
    expect(errors.some((e) => e instanceof ConnectionLostError)).toBe(true);
    await expect(run.finish({ status: 'succeeded' })).rejects.toMatchObject({ name: 'RunAlreadyFinishedError', code: 'SG003' });

    transport.down = false;
    await sg.close();
    expect((await logged(run.id)).map((l) => l.message)).toEqual(['line 0', 'line 1', 'line 2']);
    expect(run.pending).toBe(0);
  });

  test('lines logged after finish() are written to the finished run', async () => {
    const { sg } = setup();
    const source = await f.createSource('Late Lines');
    const run = await sg.runs.start({ sourceId: source, engine: 'api' });
    run.log.info('before');
    await run.finish({ status: 'succeeded' });
    run.log.info('cleanup done');
    await expect.poll(async () => (await logged(run.id)).map((l) => l.message), { timeout: 5000, interval: 20 }).toEqual([
      'before',
      'cleanup done',
    ]);
    run.log.warn('closing');
    await sg.close();
    expect((await logged(run.id)).map((l) => l.message)).toEqual(['before', 'cleanup done', 'closing']);
  });

  test('close() flushes every open run; unfinished runs stay running', async () => {
    const { sg } = setup();
    const a = await sg.runs.start({ sourceId: await f.createSource('Open A'), engine: 'api' });
    const b = await sg.runs.start({ sourceId: await f.createSource('Open B'), engine: 'feed' });
    a.log.info('a1');
    b.log.info('b1');
    b.log.debug('b2');
    await sg.close();
    expect((await logged(a.id)).map((l) => l.message)).toEqual(['a1']);
    expect((await logged(b.id)).map((l) => l.message)).toEqual(['b1', 'b2']);
    const r = await f.admin.query('select status from public.scraping_runs where id = any($1)', [[a.id, b.id]]);
    expect(r.rows).toEqual([{ status: 'running' }, { status: 'running' }]);
  });

  test('a run deleted under its logger: the buffered lines are discarded and counted, finish() says the run is unknown', async () => {
    const { sg, errors } = setup();
    const source = await f.createSource('Deleted Run');
    const run = await sg.runs.start({ sourceId: source, engine: 'api' });
    run.log.info('orphan 1');
    run.log.info('orphan 2');
    await f.admin.query('delete from public.scraping_runs where id = $1', [run.id]);
    await expect(run.flush()).rejects.toBeInstanceOf(UnknownRunError);
    expect(run.pending).toBe(0);
    expect(run.stats.refused).toBe(2);
    await expect(run.finish({ status: 'failed' })).rejects.toBeInstanceOf(UnknownRunError);
    expect(errors).toEqual([]);
  });

  test('a refused entry alone in a batch of 200 costs a few calls and loses nothing else', async () => {
    const { transport, sg } = setup();
    const source = await f.createSource('One Bad Apple');
    const run = await sg.runs.start({ sourceId: source, engine: 'api' }, { maxBatch: 200 });
    // Bypass the normaliser for one entry, as a future database limit the SDK does not know would.
    const original = transport.rpc.bind(transport);
    transport.rpc = (fn, args) => {
      if (fn !== 'append_logs') return original(fn, args);
      const { entries } = args as RpcArgs<'append_logs'>;
      const spoiled = (entries as Array<{ message: string }>).map((e) => (e.message === 'm137' ? { ...e, extra: 1 } : e));
      return original(fn, { ...args, entries: spoiled });
    };
    for (let i = 0; i < 199; i += 1) run.log.info(`m${i}`);
    const before = transport.appendCalls;
    const row = await run.finish({ status: 'succeeded' });
    expect(transport.appendCalls - before).toBeLessThanOrEqual(2 * Math.ceil(Math.log2(199)) + 2);
    const messages = (await logged(run.id)).map((l) => l.message);
    expect(messages.filter((m) => /^m\d+$/.test(m))).toEqual(
      Array.from({ length: 199 }, (_, i) => `m${i}`).filter((m) => m !== 'm137'),
    );
    expect(messages.filter((m) => m.startsWith('scrapeguard: a info log entry was refused'))).toHaveLength(1);
    expect(row.metadata).toMatchObject({ scrapeguard_logs: { refused: 1, unwritten: 0 } });
  });
});
