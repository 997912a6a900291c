/**
 * Connections dropped under the SDK (pg_terminate_backend, as a server restart or a pooler
 * would): the pending call rejects with ConnectionLostError, no 'error' event goes unhandled,
 * the process lives on and the next call succeeds on a new connection.
 */
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { ConnectionLostError, type ScrapeguardError } from '../../sdk/index.js';
import { sdkFixture } from './support.js';

const f = await sdkFixture();

const unhandled: unknown[] = [];
const onUnhandled = (e: unknown) => unhandled.push(e);
beforeAll(() => {
  process.on('uncaughtException', onUnhandled);
  process.on('unhandledRejection', onUnhandled);
});
afterAll(() => {
  process.off('uncaughtException', onUnhandled);
  process.off('unhandledRejection', onUnhandled);
});

async function terminate(pid: number): Promise<void> {
  await f.admin.query('select pg_terminate_backend($1)', [pid]);
  await expect
    .poll(async () => (await f.admin.query('select 1 from pg_stat_activity where pid = $1', [pid])).rowCount, {
      timeout: 10_000,
      interval: 20,
    })
    .toBe(0);
}

async function eventCount(title: string): Promise<number> {
  const r = await f.admin.query<{ n: number }>('select count(*)::int as n from public.events where title = $1', [title]);
  return r.rows[0]!.n;
}

/** Lets the server's FATAL and the socket's end reach the client before the next statement. */
const settle = () => new Promise((r) => setTimeout(r, 100));

describe('connection loss', () => {
  test('terminated between two statements of run.transaction(): ConnectionLostError, nothing committed, next call works', async () => {
    const source = await f.createSource('Dropped Between Statements');
    const run = await f.sg.runs.start({ sourceId: source, engine: 'api' }, { intervalMs: 0 });
    let reached = false;
    const err = await run
      .transaction(async (tx) => {
        await tx.query(`insert into public.events (title, start_time) values ('Before the drop', now())`);
        const [row] = await tx.query<{ pid: number }>('select pg_backend_pid() as pid');
        await terminate(row!.pid);
        await settle();
        await tx.query(`insert into public.events (title, start_time) values ('After the drop', now())`);
        reached = true;
      })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConnectionLostError);
    expect(err).toMatchObject({ retryable: true, mayHaveCommitted: false });
    expect(reached).toBe(false);
    expect(await eventCount('Before the drop')).toBe(0);

    await run.transaction(async (tx) => {
      await tx.query(`insert into public.events (title, start_time) values ('After the reconnect', now())`);
    });
    const revisions = await f.admin.query('select 1 from public.event_revisions where run_id = $1', [run.id]);
    expect(revisions.rowCount).toBe(1);
    expect((await run.finish({ status: 'succeeded' })).status).toBe('succeeded');
    expect(unhandled).toEqual([]);
  });

  test('terminated during a statement of run.transaction(): the statement rejects typed, the pool carries on', async () => {
    const source = await f.createSource('Dropped Mid-Statement');
    const run = await f.sg.runs.start({ sourceId: source, engine: 'api' }, { intervalMs: 0 });
    const err = await run
      .transaction(async (tx) => {
        const [row] = await tx.query<{ pid: number }>('select pg_backend_pid() as pid');
        const sleeping = tx.query('select pg_sleep(30)');
        sleeping.catch(() => undefined); // awaited below; handled now so its rejection is never "unhandled" meanwhile
        await expect
          .poll(async () => (await f.admin.query(`select 1 from pg_stat_activity where pid = $1 and query like '%pg_sleep%'`, [row!.pid])).rowCount)
          .toBe(1);
        await f.admin.query('select pg_terminate_backend($1)', [row!.pid]);
        await sleeping;
      })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConnectionLostError);
    expect((err as ScrapeguardError).code).toBe('57P01');
    expect(err).toMatchObject({ mayHaveCommitted: false });
    await settle();
    expect(await f.sg.breaker.acquire(source)).toMatchObject({ allowed: true });
    await run.finish({ status: 'succeeded' });
    expect(unhandled).toEqual([]);
  });

  test('terminated during a log flush: typed error, entries kept, the next flush writes them all once', async () => {
    const source = await f.createSource('Dropped Mid-Flush');
    const run = await f.sg.runs.start({ sourceId: source, engine: 'feed' }, { intervalMs: 0 });
    run.log.info('line 1');
    run.log.info('line 2');
    // Hold the run's row so append_logs' foreign-key check waits, then terminate that backend.
    const locker = await f.db.client();
    await locker.query('begin');
    await locker.query('select 1 from public.scraping_runs where id = $1 for update', [run.id]);
    const flushing = run.flush().catch((e: unknown) => e);
    let pid = 0;
    await expect
      .poll(async () => {
        const r = await f.admin.query<{ pid: number }>(
          `select pid from pg_stat_activity where wait_event_type = 'Lock' and query like '%append_logs%'`,
        );
        pid = r.rows[0]?.pid ?? 0;
        return pid;
      })
      .toBeGreaterThan(0);
    await terminate(pid);
    const err = await flushing;
    await locker.query('rollback');
    await locker.end();
    expect(err).toBeInstanceOf(ConnectionLostError);
    expect(err).toMatchObject({ code: '57P01', mayHaveCommitted: false, retryable: true });
    expect(run.pending).toBe(2);

    await settle();
    run.log.info('line 3');
    await run.flush();
    const logs = await f.admin.query<{ message: string }>('select message from public.scraping_logs where run_id = $1 order by id', [run.id]);
    expect(logs.rows.map((r) => r.message)).toEqual(['line 1', 'line 2', 'line 3']);
    const row = await run.finish({ status: 'succeeded' });
    expect(row.metadata).toEqual({});
    expect(unhandled).toEqual([]);
  });

  test('idle pooled connections terminated: no unhandled error event, the next calls open new ones', async () => {
    const source = await f.createSource('Idle Pool');
    // Open a few pooled connections and leave them idle.
    await Promise.all(Array.from({ length: 4 }, () => f.pool.query('select pg_sleep(0.05)')));
    const idle = await f.admin.query<{ pid: number }>(
      `select pid from pg_stat_activity where datname = current_database() and pid <> pg_backend_pid() and state = 'idle'`,
    );
    expect(idle.rowCount).toBeGreaterThan(0);
    for (const { pid } of idle.rows) await terminate(pid);
    await settle();
    const run = await f.sg.runs.start({ sourceId: source, engine: 'api' }, { intervalMs: 0 });
    run.log.info('after the restart');
    expect((await run.finish({ status: 'succeeded' })).status).toBe('succeeded');
    expect(unhandled).toEqual([]);
  });
});
