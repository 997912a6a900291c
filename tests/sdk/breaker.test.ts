/** The breaker API over the pg transport, through a whole open → half-open → closed cycle. */
import { describe, expect, test } from 'vitest';
import { CircuitOpenError, createScrapeguard, ValidationError } from '../../sdk/index.js';
import { Transitions } from '../../sdk/index.js';
import { sdkFixture } from './support.js';

const f = await sdkFixture();

async function clock(sql: string): Promise<void> {
  await f.pool.query(sql);
}

class PageNotFound extends Error {}

describe('withCircuit', () => {
  test('opens after 3 failures, lets one probe through after the hold, closes on its success', async () => {
    await clock(`select scrapeguard.freeze_clock('2030-01-01 00:00+00')`);
    const source = await f.createSource('Flaky Arena');
    const failing = () => Promise.reject(new Error('HTTP 503'));

    for (let i = 0; i < 3; i += 1) {
      await expect(f.sg.breaker.withCircuit(source, failing)).rejects.toThrow('HTTP 503');
    }
    const denied = await f.sg.breaker.withCircuit(source, async () => 'never').catch((e: unknown) => e);
    expect(denied).toBeInstanceOf(CircuitOpenError);
    expect((denied as CircuitOpenError).state).toBe('open');
    const retryAt = (denied as CircuitOpenError).retryAt;
    expect(retryAt).not.toBeNull();
    // The hold is 1 hour ± jitter.
    const hold = (retryAt!.getTime() - Date.parse('2030-01-01T00:00:00Z')) / 60_000;
    expect(hold).toBeGreaterThan(40);
    expect(hold).toBeLessThan(80);

    await clock(`select scrapeguard.freeze_clock('2030-01-01 02:00+00')`);
    const probe = await f.sg.breaker.acquire(source, 'worker-a');
    expect(probe).toMatchObject({ allowed: true, state: 'half_open' });
    expect(probe.probeId).toMatch(/^[0-9a-f-]{36}$/);
    const other = await f.sg.breaker.acquire(source, 'worker-b');
    expect(other.allowed).toBe(false);

    await f.sg.breaker.recordSuccess(source, probe.probeId);
    const after = await f.sg.breaker.withCircuit(source, async (permit) => permit.state);
    expect(after).toBe('closed');
  });

  test('a probe run through withCircuit closes the breaker', async () => {
    await clock(`select scrapeguard.freeze_clock('2031-01-01 00:00+00')`);
    const source = await f.createSource('Recovering Theatre');
    for (let i = 0; i < 3; i += 1) await f.sg.breaker.recordFailure(source, 'timeout');
    await clock(`select scrapeguard.advance_clock('3 hours')`);
    const result = await f.sg.breaker.withCircuit(source, async (permit) => {
      expect(permit.state).toBe('half_open');
      expect(permit.probeId).not.toBeNull();
      return 'events';
    });
    expect(result).toBe('events');
    const [row] = await f.sg.transport.select('circuit_breaker_state', {
      eq: { source_id: source },
    });
    expect(row).toMatchObject({ state: 'closed', failure_count: 0 });
  });

  test('errors that are not failures do not trip the breaker, and are rethrown', async () => {
    const source = await f.createSource('Mostly Fine Museum');
    const notFound = () => Promise.reject(new PageNotFound('HTTP 404 for one page'));
    for (let i = 0; i < 5; i += 1) {
      await expect(
        f.sg.breaker.withCircuit(source, notFound, { isFailure: (e) => !(e instanceof PageNotFound) }),
      ).rejects.toBeInstanceOf(PageNotFound);
    }
    const permit = await f.sg.breaker.acquire(source);
    expect(permit).toMatchObject({ allowed: true, state: 'closed' });
  });

  test('operator overrides: forced_open denies, disabled permits and never trips, reset closes', async () => {
    const source = await f.createSource('Operated Hall');
    await f.sg.breaker.force(source, 'forced_open');
    await expect(f.sg.breaker.withCircuit(source, async () => 1)).rejects.toBeInstanceOf(CircuitOpenError);
    await f.sg.breaker.force(source, 'disabled');
    for (let i = 0; i < 5; i += 1) await f.sg.breaker.recordFailure(source, 'down');
    expect((await f.sg.breaker.acquire(source)).allowed).toBe(true);
    const reset = await f.sg.breaker.reset(source);
    expect(reset).toMatchObject({ state: 'closed', failure_count: 0 });
  });

  test('the fast path and the RPC path agree on a closed breaker', async () => {
    const source = await f.createSource('Agreeing Venue');
    const viaRpc = createScrapeguard({ pool: f.pool, breaker: { fastPath: false } });
    const a = await viaRpc.breaker.acquire(source);
    const b = await f.sg.breaker.acquire(source);
    expect(a).toEqual({ allowed: true, state: 'closed', probeId: null, retryAt: null });
    expect(b).toEqual(a);
  });
});

describe('quorum and Retry-After through the SDK', () => {
  class TooManyRequests extends Error {
    constructor(readonly retryAfter: number | Date | string) {
      super('HTTP 429');
    }
  }
  const row = async (source: string) =>
    (
      await f.admin.query<{ state: string; streak_workers: (string | null)[]; open_until: Date | null; retry_after_until: Date | null }>(
        'select state::text, streak_workers::text[], open_until, retry_after_until from public.circuit_breaker_state where source_id = $1',
        [source],
      )
    ).rows[0]!;

  test('withCircuit records the failing worker; a quorum of 2 keeps one bad worker from opening the source', async () => {
    await clock(`select scrapeguard.freeze_clock('2032-01-01 00:00+00', force => true)`);
    const source = await f.createSource('Quorum Hall');
    await f.admin.query('select public.configure_breaker($1, min_failing_workers => 2, jitter => 0)', [source]);
    const banned = () => Promise.reject(new Error('HTTP 403 (banned IP)'));
    for (let i = 0; i < 5; i += 1) {
      await expect(f.sg.breaker.withCircuit(source, banned, { worker: 'worker-3' })).rejects.toThrow('HTTP 403');
    }
    expect(await row(source)).toMatchObject({ state: 'closed', streak_workers: ['worker-3'] });
    expect((await f.sg.breaker.acquire(source, 'worker-1')).allowed).toBe(true);
    await expect(f.sg.breaker.withCircuit(source, banned, { worker: 'worker-5' })).rejects.toThrow('HTTP 403');
    expect(await row(source)).toMatchObject({ state: 'open', streak_workers: ['worker-3', 'worker-5'] });
    const [t] = await new Transitions(f.sg.transport).recent({ sourceId: source });
    expect(t).toMatchObject({ reason: 'failure_threshold', worker: 'worker-5', workers: ['worker-3', 'worker-5'] });
  });

  test('the thrown error\'s retryAfter (seconds or a Date) holds the breaker open for the whole fleet, capped', async () => {
    await clock(`select scrapeguard.freeze_clock('2032-02-01 00:00+00', force => true)`);
    const seconds = await f.createSource('Retry Seconds Arena');
    await f.admin.query('select public.configure_breaker($1, jitter => 0)', [seconds]);
    for (let i = 0; i < 3; i += 1) {
      await expect(f.sg.breaker.withCircuit(seconds, () => Promise.reject(new TooManyRequests(3 * 3600)))).rejects.toThrow('HTTP 429');
    }
    expect((await row(seconds)).open_until).toEqual(new Date('2032-02-01T03:00:00Z'));
    const denied = await f.sg.breaker.withCircuit(seconds, async () => 1).catch((e: unknown) => e);
    expect((denied as CircuitOpenError).retryAt).toEqual(new Date('2032-02-01T03:00:00Z'));

    // A Date counts from this process's clock: 5 hours from now, and max_open_duration 4 hours caps it.
    const date = await f.createSource('Retry Date Arena');
    await f.admin.query(`select public.configure_breaker($1, jitter => 0, max_open_duration => '4 hours')`, [date]);
    for (let i = 0; i < 3; i += 1) {
      const at = new Date(Date.now() + 5 * 3600 * 1000);
      await expect(f.sg.breaker.withCircuit(date, () => Promise.reject(new TooManyRequests(at)))).rejects.toThrow('HTTP 429');
    }
    const capped = await row(date);
    expect(capped.open_until).toEqual(new Date('2032-02-01T04:00:00Z'));
    const asked = (capped.retry_after_until!.getTime() - Date.parse('2032-02-01T00:00:00Z')) / 1000;
    expect(asked).toBeGreaterThan(5 * 3600 - 60);
    expect(asked).toBeLessThanOrEqual(5 * 3600);

    // What a site sent that is not a time is ignored, never a reason to lose the failure.
    const junk = await f.createSource('Retry Junk Arena');
    await expect(f.sg.breaker.withCircuit(junk, () => Promise.reject(new TooManyRequests('soon')))).rejects.toThrow('HTTP 429');
    await expect(f.sg.breaker.withCircuit(junk, () => Promise.reject(new TooManyRequests(-5)))).rejects.toThrow('HTTP 429');
    expect(await row(junk)).toMatchObject({ state: 'closed', retry_after_until: null });
    const [j] = await f.admin.query('select failure_count from public.circuit_breaker_state where source_id = $1', [junk]).then((r) => r.rows);
    expect(j.failure_count).toBe(2);
  });

  test('recordFailure takes worker and retryAfter, and refuses bad ones before calling the database', async () => {
    await clock(`select scrapeguard.freeze_clock('2032-03-01 00:00+00', force => true)`);
    const source = await f.createSource('Direct Report Stadium');
    const r = await f.sg.breaker.recordFailure(source, 'HTTP 503', null, { worker: 'worker-9', retryAfter: 90 });
    expect(r).toMatchObject({ state: 'closed', failure_count: 1, streak_workers: ['worker-9'] });
    expect(new Date(String(r.retry_after_until))).toEqual(new Date('2032-03-01T00:01:30Z'));
    await expect(f.sg.breaker.recordFailure(source, 'x', null, { worker: 'w'.repeat(201) })).rejects.toBeInstanceOf(ValidationError);
    await expect(f.sg.breaker.recordFailure(source, 'x', null, { retryAfter: -1 })).rejects.toBeInstanceOf(ValidationError);
    await expect(f.sg.breaker.recordFailure(source, 'x', null, { retryAfter: new Date('not a date') })).rejects.toBeInstanceOf(ValidationError);
    // Longer than the database takes (365 days): cut, since the hold is capped at max_open_duration anyway.
    const long = await f.sg.breaker.recordFailure(source, 'x', null, { retryAfter: 10 * 365 * 24 * 3600 });
    expect(new Date(String(long.retry_after_until))).toEqual(new Date('2033-03-01T00:00:00Z'));
    expect((await row(source)).state).toBe('closed');
  });
});
