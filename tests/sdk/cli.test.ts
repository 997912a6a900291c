/** The operator CLI against a real database: each command's output. */
import { describe, expect, test } from 'vitest';
import { buildProgram } from '../../cli/main.js';
import { createScrapeguard } from '../../sdk/index.js';
import { sdkFixture } from './support.js';

const f = await sdkFixture();

async function cli(...args: string[]): Promise<string> {
  const out: string[] = [];
  const program = buildProgram(async () => createScrapeguard({ connectionString: f.db.appUrl }), (s) => out.push(s));
  program.exitOverride();
  await program.parseAsync(['node', 'scrapeguard', ...args]);
  // Colours are off when not on a terminal; strip any that a forced-colour env adds.
  return out.join('\n').replace(/\u001b\[[0-9;]*m/g, '');
}

describe('scrapeguard CLI', () => {
  test('status, breaker overrides, runs, logs and history', async () => {
    const healthy = await f.createSource('Macao Science Center');
    const dead = await f.createSource('Old Portal');
    const run = await f.sg.runs.start({ sourceId: healthy, engine: 'firecrawl' }, { intervalMs: 0 });
    run.log.info('listing fetched', { events: 9 });
    run.log.warn('one event without a date', { title: 'Planetarium Show' });
    await run.finish({ status: 'succeeded', fieldCoverage: 92.5, eventsFound: 9, eventsCreated: 1 });
    for (let i = 0; i < 3; i += 1) await f.sg.breaker.recordFailure(dead, 'HTTP 502');

    const status = await cli('status');
    expect(status).toMatch(/Macao Science Center.*closed.*succeeded.*100% of 1/s);
    expect(status).toMatch(/Old Portal.*open/);

    expect(await cli('breaker', 'force', 'Macao Science Center')).toBe('Macao Science Center: breaker forced_open');
    expect(await cli('breaker', 'auto', healthy)).toBe('Macao Science Center: breaker closed');
    expect(await cli('breaker', 'reset', 'Old Portal')).toBe('Old Portal: breaker closed');

    const runs = await cli('runs', 'Macao Science Center');
    expect(runs).toContain(run.id);
    expect(runs).toMatch(/firecrawl.*succeeded.*92\.5%.*9\/1\/0\/0/s);

    const warnings = await cli('logs', run.id, '--level', 'warn');
    expect(warnings).toContain('one event without a date');
    expect(warnings).not.toContain('listing fetched');

    const { rows } = await f.admin.query<{ id: string }>(
      `insert into public.events (title, start_time) values ('Planetarium Show', '2026-12-01 15:00+08') returning id`,
    );
    await f.admin.query(`update public.events set title = 'Planetarium: Cosmic Voyage' where id = $1`, [rows[0]!.id]);
    const history = await cli('history', rows[0]!.id);
    expect(history).toMatch(/title.*"Planetarium Show".*"Planetarium: Cosmic Voyage"/s);
    expect(history).toContain('insert');
  });

  test('an unknown source is a clear error', async () => {
    await expect(cli('runs', 'No Such Source')).rejects.toThrow(/no event source "No Such Source"/);
  });
});
