/** Every SQLSTATE scrapeguard raises arrives as its typed error class, over the pg transport. */
import { randomUUID } from 'node:crypto';
import { describe, expect, test } from 'vitest';
import pg from 'pg';
import {
  ConnectionLostError,
  createScrapeguard,
  PermissionDeniedError,
  RetryableError,
  RunAlreadyFinishedError,
  ScrapeguardError,
  UnknownRunError,
  UnknownSourceError,
  ValidationError,
} from '../../sdk/index.js';
import { sdkFixture } from './support.js';

const f = await sdkFixture();

describe('error mapping by SQLSTATE', () => {
  test('SG001 unknown source → UnknownSourceError', async () => {
    const err = await f.sg.breaker.recordFailure(randomUUID(), 'boom').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UnknownSourceError);
    expect((err as ScrapeguardError).code).toBe('SG001');
  });

  test('SG002 unknown run → UnknownRunError', async () => {
    const err = await f.sg.transport
      .rpc('finish_run', { run_id: randomUUID(), status: 'succeeded' })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UnknownRunError);
  });

  test('a change context naming a run that does not exist → UnknownRunError, before any write', async () => {
    let ran = false;
    const err = await f.sg.transport
      .withChangeContext({ runId: randomUUID(), actor: 'worker-1' }, async () => {
        ran = true;
      })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UnknownRunError);
    expect(ran).toBe(false);
  });

  test('SG003 finishing twice → RunAlreadyFinishedError', async () => {
    const source = await f.createSource('Twice');
    const run = await f.sg.runs.start({ sourceId: source, engine: 'api' }, { intervalMs: 0 });
    await run.finish({ status: 'succeeded' });
    await expect(run.finish({ status: 'failed' })).rejects.toBeInstanceOf(RunAlreadyFinishedError);
  });

  test('22023 invalid value → ValidationError', async () => {
    const source = await f.createSource('Bad engine');
    const err = await f.sg.transport
      .rpc('start_run', { source_id: source, engine: 'curl' })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ValidationError);
    expect((err as ScrapeguardError).code).toBe('22023');
  });

  test('22004 missing argument → ValidationError', async () => {
    await expect(f.sg.breaker.force(null as unknown as string, 'auto')).rejects.toBeInstanceOf(ValidationError);
  });

  test('42501 as anon → PermissionDeniedError', async () => {
    const pool = new pg.Pool({ connectionString: f.db.appUrl, max: 1, options: '-c role=anon' });
    const anon = createScrapeguard({ pool });
    try {
      await expect(anon.breaker.recordFailure(randomUUID())).rejects.toBeInstanceOf(PermissionDeniedError);
    } finally {
      await pool.end();
    }
  });

  test('a source deleted between the check and the write (23503 by its foreign key) → UnknownSourceError', async () => {
    const source = await f.createSource('Deleted meanwhile');
    const other = await f.db.client();
    try {
      // The delete is not committed yet: start_run finds the source, then its insert waits for the key check.
      await other.query('begin');
      await other.query('delete from public.event_sources where id = $1', [source]);
      const pending = f.sg.transport
        .rpc('start_run', { source_id: source, engine: 'api' })
        .catch((e: unknown) => e);
      await new Promise((r) => setTimeout(r, 200));
      await other.query('commit');
      const err = await pending;
      expect(err).toBeInstanceOf(UnknownSourceError);
      expect((err as ScrapeguardError).code).toBe('23503');
    } finally {
      await other.end();
    }
  });

  test('PostgREST names the violated key only in its message: the same mapping', async () => {
    const { toScrapeguardError } = await import('../../sdk/errors.js');
    const err = toScrapeguardError({
      code: '23503',
      message: 'insert or update on table "scraping_logs_p20261125" violates foreign key constraint "scraping_logs_run_id_fkey"',
      details: 'Key (run_id)=(…) is not present in table "scraping_runs".',
    });
    expect(err).toBeInstanceOf(UnknownRunError);
    const job = toScrapeguardError({
      code: '23503',
      message: 'insert or update on table "scraping_runs" violates foreign key constraint "scraping_runs_scrape_job_id_fkey"',
    });
    expect(job).toBeInstanceOf(ValidationError);
    const unrelated = toScrapeguardError({ code: '23503', message: 'violates foreign key constraint "app_fkey"' });
    expect(unrelated).toBeInstanceOf(ScrapeguardError);
    expect(unrelated).not.toBeInstanceOf(UnknownRunError);
  });

  test('errors that are not scrapeguard SQLSTATEs stay ScrapeguardError with their code', async () => {
    const source = await f.createSource('Wrong Argument');
    // @ts-expect-error no such argument: the types refuse it; the database answers 42883
    const err = await f.sg.transport.rpc('start_run', { source_id: source, engine: 'api', no_such_argument: 1 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ScrapeguardError);
    expect(err).not.toBeInstanceOf(ValidationError);
    expect((err as ScrapeguardError).code).toBe('42883');
    expect((err as Error).message).toMatch(/function public\.start_run\(.*\) does not exist/);
  });

  test('a function the generated schema does not know is refused before any call, with 42883', async () => {
    // @ts-expect-error not a function of the schema
    const err = await f.sg.transport.rpc('no_such_function', {}).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ScrapeguardError);
    expect((err as ScrapeguardError).code).toBe('42883');
    expect((err as Error).message).toMatch(/no_such_function is not a function this version of scrapeguard knows/);
  });

  test('22P05 (\\u0000 in JSON), 22021 (a NUL byte in text), 22009 (a UTC offset out of range) → ValidationError', async () => {
    const source = await f.createSource('Untranslatable');
    const run = await f.sg.runs.start({ sourceId: source, engine: 'api' }, { intervalMs: 0 });
    // Straight to the RPCs, past the SDK's normalisation: what a caller of transport.rpc would get.
    const jsonNul = await f.sg.transport
      .rpc('append_logs', { run_id: run.id, entries: [{ level: 'info', message: 'a\u0000b' }] })
      .catch((e: unknown) => e);
    expect(jsonNul).toBeInstanceOf(ValidationError);
    expect((jsonNul as ScrapeguardError).code).toBe('22P05');
    const textNul = await f.sg.transport
      .rpc('record_failure', { source_id: source, error: 'unexpected body: \u0000PK' })
      .catch((e: unknown) => e);
    expect(textNul).toBeInstanceOf(ValidationError);
    expect((textNul as ScrapeguardError).code).toBe('22021');
    const offset = await f.sg.transport
      .rpc('event_as_of', { event_id: randomUUID(), at: '2026-01-01T00:00:00+16:00' })
      .catch((e: unknown) => e);
    expect(offset).toBeInstanceOf(ValidationError);
    expect((offset as ScrapeguardError).code).toBe('22009');
    await run.finish({ status: 'succeeded' });
  });

  test('append_logs names the entry whose UTC offset is out of range (22023 → ValidationError)', async () => {
    const source = await f.createSource('Far East');
    const run = await f.sg.runs.start({ sourceId: source, engine: 'api' }, { intervalMs: 0 });
    const err = await f.sg.transport
      .rpc('append_logs', { run_id: run.id, entries: [{ level: 'info', message: 'ok' }, { level: 'info', message: 'x', at: '2026-01-01T00:00+14:60' }] })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ValidationError);
    expect(err).toMatchObject({ code: '22023', message: 'append_logs: entry 1 has an "at" that is not a valid timestamp' });
    await run.finish({ status: 'succeeded' });
  });

  test('required arguments are checked before the call: ValidationError naming the argument, nothing written', async () => {
    const source = await f.createSource('Missing Engine');
    const err = await f.sg.runs.start({ sourceId: source, engine: undefined as never }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ValidationError);
    expect(err).toMatchObject({ argument: 'engine', code: undefined });
    expect((err as Error).message).toMatch(/^runs\.start: engine is required/);
    await expect(f.sg.runs.start({ sourceId: undefined as never, engine: 'api' })).rejects.toMatchObject({ argument: 'sourceId' });
    await expect(f.sg.runs.start({ sourceId: 'not-a-uuid', engine: 'api' })).rejects.toMatchObject({ argument: 'sourceId' });
    await expect(f.sg.runs.start({ sourceId: source, engine: 'curl' as never })).rejects.toMatchObject({ argument: 'engine' });
    await expect(f.sg.breaker.acquire(undefined as never)).rejects.toMatchObject({ argument: 'sourceId' });
    await expect(f.sg.breaker.acquire(source, 'w'.repeat(201))).rejects.toMatchObject({ argument: 'worker' });
    await expect(f.sg.breaker.recordFailure('', 'down')).rejects.toMatchObject({ argument: 'sourceId' });
    const run = await f.sg.runs.start({ sourceId: source, engine: 'api' }, { intervalMs: 0 });
    await expect(run.finish({ status: 'running' as never })).rejects.toMatchObject({ argument: 'status' });
    await expect(run.finish({ status: 'succeeded', eventsFound: -1 })).rejects.toMatchObject({ argument: 'eventsFound' });
    await expect(run.finish({ status: 'succeeded', fieldCoverage: Number.NaN })).rejects.toMatchObject({ argument: 'fieldCoverage' });
    const rows = await f.admin.query('select status from public.scraping_runs where source_id = $1', [source]);
    expect(rows.rows).toEqual([{ status: 'running' }]);
  });

  test('a worker over 200 characters is refused by acquire_permit itself too (22023)', async () => {
    const source = await f.createSource('Long Worker');
    const err = await f.sg.transport
      .rpc('acquire_permit', { source_id: source, worker: 'w'.repeat(201) })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ValidationError);
    expect((err as ScrapeguardError).code).toBe('22023');
  });

  test('a change context for a finished run → RunAlreadyFinishedError (SG003), from the database and from the handle', async () => {
    const source = await f.createSource('Finished Context');
    const run = await f.sg.runs.start({ sourceId: source, engine: 'api' }, { intervalMs: 0 });
    await f.sg.transport.rpc('finish_run', { run_id: run.id, status: 'cancelled' });
    let ran = false;
    const fromDb = await run.transaction(async () => (ran = true)).catch((e: unknown) => e);
    expect(fromDb).toBeInstanceOf(RunAlreadyFinishedError);
    expect((fromDb as ScrapeguardError).code).toBe('SG003');
    expect((fromDb as Error).message).toMatch(/is already finished \(status cancelled\)/);
    expect(ran).toBe(false);

    const other = await f.sg.runs.start({ sourceId: source, engine: 'api' }, { intervalMs: 0 });
    await other.finish({ status: 'succeeded' });
    await expect(other.transaction(async () => undefined)).rejects.toBeInstanceOf(RunAlreadyFinishedError);
  });

  test('retryable SQLSTATEs and dropped sockets map to RetryableError / ConnectionLostError', async () => {
    const { toScrapeguardError } = await import('../../sdk/errors.js');
    for (const code of ['40001', '40P01', '55P03', '57014', '53300']) {
      const e = toScrapeguardError({ code, message: code });
      expect(e).toBeInstanceOf(RetryableError);
      expect(e).not.toBeInstanceOf(ConnectionLostError);
      expect((e as ScrapeguardError).retryable).toBe(true);
    }
    for (const code of ['08006', '57P01', '57P02', '57P03']) {
      expect(toScrapeguardError({ code, message: code })).toMatchObject({ name: 'ConnectionLostError', mayHaveCommitted: false });
    }
    expect(toScrapeguardError(new Error('Connection terminated unexpectedly'))).toMatchObject({
      name: 'ConnectionLostError',
      mayHaveCommitted: true,
    });
    expect(toScrapeguardError(new Error('Connection terminated unexpectedly'), { writeInFlight: false })).toMatchObject({
      mayHaveCommitted: false,
    });
    expect(toScrapeguardError(Object.assign(new Error('read ECONNRESET'), { code: 'ECONNRESET' }))).toBeInstanceOf(ConnectionLostError);
    expect((toScrapeguardError({ code: '22023', message: 'x' }) as ScrapeguardError).retryable).toBe(false);
  });
});
