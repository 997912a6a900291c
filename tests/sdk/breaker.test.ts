/** The breaker API over the pg transport, through a whole open → half-open → closed cycle. */
import { describe, expect, test } from 'vitest';
import { CircuitOpenError, createScrapeguard } from '../../sdk/index.js';
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
