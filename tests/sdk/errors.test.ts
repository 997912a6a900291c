/** Every SQLSTATE scrapeguard raises arrives as its typed error class, over the pg transport. */
import { randomUUID } from 'node:crypto';
import { describe, expect, test } from 'vitest';
import pg from 'pg';
import {
  createScrapeguard,
  PermissionDeniedError,
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
      .rpc('finish_run', { run_id: randomUUID(), status: 'succeeded' }, 'row')
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
      .rpc('start_run', { source_id: source, engine: 'curl' }, 'scalar')
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
        .rpc('start_run', { source_id: source, engine: 'api' }, 'scalar')
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
    const err = await f.sg.transport.rpc('no_such_function', {}, 'scalar').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ScrapeguardError);
    expect((err as ScrapeguardError).code).toBe('42883');
  });
});
