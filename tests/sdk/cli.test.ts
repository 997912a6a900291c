/** The operator CLI against a real database: each command's output. */
import { userInfo } from 'node:os';
import type { Command } from 'commander';
import { describe, expect, test, vi } from 'vitest';
import { buildProgram, main } from '../../cli/main.js';
import { createScrapeguard, UnknownRunError } from '../../sdk/index.js';
import { sdkFixture } from './support.js';

const f = await sdkFixture();

async function cli(...args: string[]): Promise<string> {
  const out: string[] = [];
  const program = buildProgram(async () => createScrapeguard({ connectionString: f.db.appUrl }), (s) => out.push(s));
  // Usage errors throw (instead of exiting) in every subcommand, quietly.
  const quiet = (c: Command): void => {
    c.exitOverride().configureOutput({ writeErr: () => undefined });
    c.commands.forEach(quiet);
  };
  quiet(program);
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

  test('logs: --limit, a minimum level, the order lines were logged in, and how many more there are', async () => {
    const source = await f.createSource('Logs Source');
    const run = await f.sg.runs.start({ sourceId: source, engine: 'api' }, { intervalMs: 0 });
    // One batch of 40 lines sent in one append_logs call: they share logged_at.
    const batch = Array.from({ length: 40 }, (_, i) => ({
      level: i % 10 === 9 ? 'error' : i % 4 === 3 ? 'warn' : 'info',
      message: `line ${String(i + 1).padStart(2, '0')}`,
    }));
    await f.admin.query('select public.append_logs($1, $2)', [run.id, JSON.stringify(batch)]);
    const shared = await f.admin.query('select count(distinct logged_at)::int as n from public.scraping_logs where run_id = $1', [run.id]);
    expect(shared.rows[0].n).toBe(1);

    const all = await cli('logs', run.id, '--limit', '40');
    const order = [...all.matchAll(/line (\d\d)/g)].map((m) => m[1]);
    expect(order).toEqual(batch.map((b) => b.message.slice(5)));
    expect(all).toMatch(/^40 lines$/m);

    const first = await cli('logs', run.id, '-n', '5');
    expect([...first.matchAll(/line (\d\d)/g)].map((m) => m[1])).toEqual(['01', '02', '03', '04', '05']);
    expect(first).toContain('35 more lines not shown (40 in all; --limit 40 shows them all)');

    const errors = await cli('logs', run.id, '--level', 'error', '--limit', '2');
    expect([...errors.matchAll(/line (\d\d)/g)].map((m) => m[1])).toEqual(['10', '20']);
    expect(errors).toContain('2 more lines at error or above not shown (4 in all');
    const warnings = await cli('logs', run.id, '--level', 'warn');
    expect(warnings).toMatch(/^12 lines at warn or above$/m);
    expect(warnings).not.toContain('line 01');

    await expect(cli('logs', '00000000-0000-4000-8000-00000000dead')).rejects.toBeInstanceOf(UnknownRunError);
    await expect(cli('logs', 'not-a-run')).rejects.toThrow(/not a run id: "not-a-run"/);
    await expect(cli('logs', run.id, '--level', 'fatal')).rejects.toThrow(/Allowed choices are debug, info, warn, error/);
  });

  test('scraped text cannot drive the terminal, and a 16,000-character line is cut', async () => {
    const source = await f.createSource('Ugly \u001b[2J Source');
    const run = await f.sg.runs.start({ sourceId: source, engine: 'devtools' }, { intervalMs: 0 });
    const long = `${'é'.repeat(15_987)}<end-of-line>`; // 16,000 characters (lines hold at most 16,384)
    await f.admin.query('select public.append_logs($1, $2)', [
      run.id,
      JSON.stringify([
        { level: 'warn', message: 'title was \u001b]0;pwned\u0007 \r\u0008 here', metadata: { raw: '\u001b[31m' } },
        { level: 'info', message: long },
      ]),
    ]);
    const out = await cli('logs', run.id);
    expect(out).not.toMatch(/[\u0000-\u0009\u000b-\u001f\u007f]/); // no control character left but newlines
    expect(out).toContain('title was \\u001b]0;pwned\\u0007 \\u000d\\u0008 here');
    expect(out).toContain('{"raw":"\\u001b[31m"}');
    expect(out).toContain('… (+15,000 characters)');
    expect(out).not.toContain('<end-of-line>');
    expect(await cli('breaker', 'force', source)).toBe('Ugly \\u001b[2J Source: breaker forced_open');
    expect(await cli('status')).toContain('Ugly \\u001b[2J Source');
  });

  test('logs of an unknown run: an error and a non-zero exit', async () => {
    const errors: string[] = [];
    const spy = vi.spyOn(console, 'error').mockImplementation((s: unknown) => void errors.push(String(s)));
    const before = process.env.DATABASE_URL;
    process.env.DATABASE_URL = f.db.appUrl;
    try {
      const code = await main(['node', 'scrapeguard', 'logs', '00000000-0000-4000-8000-00000000dead']);
      expect(code).toBe(1);
      expect(errors.join('\n')).toMatch(/error \[SG002\]: run_logs: unknown run 00000000-0000-4000-8000-00000000dead/);
    } finally {
      spy.mockRestore();
      if (before === undefined) delete process.env.DATABASE_URL;
      else process.env.DATABASE_URL = before;
    }
  });

  test('breaker commands record the operator; transitions lists them', async () => {
    const source = await f.createSource('Operated Source');
    const other = await f.createSource('Other Source');
    await cli('breaker', 'force', 'Operated Source', '--actor', 'alice@ops');
    await cli('breaker', 'auto', 'Operated Source');
    for (let i = 0; i < 3; i += 1) await f.sg.breaker.recordFailure(other, 'HTTP 503');
    await cli('breaker', 'reset', 'Other Source', '--actor', 'bob');

    const { rows } = await f.admin.query<{ reason: string; actor: string | null }>(
      'select reason, actor from public.circuit_breaker_transitions where source_id = $1 order by id',
      [source],
    );
    expect(rows).toEqual([
      { reason: 'forced_open', actor: 'alice@ops' },
      { reason: 'auto', actor: userInfo().username },
    ]);

    const one = await cli('transitions', 'Operated Source');
    expect(one).toMatch(/closed → forced_open.*forced_open.*alice@ops/);
    expect(one).toMatch(/forced_open → closed.*auto/);
    expect(one).not.toContain('Other Source');
    expect(one.indexOf('alice@ops')).toBeLessThan(one.indexOf('→ closed'));

    const everyone = await cli('transitions', '-n', '3');
    expect(everyone).toMatch(/Other Source.*closed → open.*failure_threshold/);
    expect(everyone).toMatch(/Other Source.*open → closed.*reset.*bob/);
    expect(everyone).not.toContain('alice@ops'); // the last three only
    await expect(cli('transitions', 'No Such Source')).rejects.toThrow(/no event source "No Such Source"/);
  });

  test('workers: the worker failing everywhere stands out while its sources stay closed; transitions name the streak', async () => {
    const names = ['Quorum Gallery', 'Quorum Museum', 'Quorum Theatre'];
    const sources: string[] = [];
    for (const name of names) {
      const id = await f.createSource(name);
      sources.push(id);
      await f.admin.query('select public.configure_breaker($1, min_failing_workers => 2)', [id]);
      // cli-bad-worker (a banned IP) fails every run and every call; the others succeed.
      for (let i = 0; i < 3; i += 1) {
        const bad = await f.sg.runs.start({ sourceId: id, engine: 'api', worker: 'cli-bad-worker' }, { intervalMs: 0 });
        await bad.finish({ status: 'failed', errorCode: 'HTTP_403', errorMessage: 'HTTP 403' });
        await f.sg.breaker.recordFailure(id, 'HTTP 403', null, { worker: 'cli-bad-worker' });
      }
      for (const good of ['cli-good-1', 'cli-good-1', 'cli-good-2']) {
        const run = await f.sg.runs.start({ sourceId: id, engine: 'api', worker: good }, { intervalMs: 0 });
        await run.finish({ status: 'succeeded' });
      }
      await f.sg.breaker.recordFailure(id, 'HTTP 403', null, { worker: 'cli-bad-worker' });
    }

    const workers = await cli('workers');
    // bad: 9 runs, all failed; the others on the same sources: 0 of 9 failed.
    expect(workers).toMatch(/cli-bad-worker\s*│\s*9\s*│\s*9\s*│\s*100% ◀\s*│\s*0%\s*│\s*3 of 3 sources\s*│\s*3\s*│/);
    // good-1: 6 runs, none failed; the others on its sources: 9 of 12 failed (all bad's).
    expect(workers).toMatch(/cli-good-1\s*│\s*6\s*│\s*0\s*│\s*0%\s*│\s*75%\s*│\s*0 of 3 sources\s*│\s*0\s*│/);
    expect(workers).not.toMatch(/cli-good-1.*◀/);
    expect(workers.indexOf('cli-bad-worker')).toBeLessThan(workers.indexOf('cli-good-1'));
    // Its sources stayed closed: four failures each, one worker, quorum 2.
    const status = await cli('status');
    for (const name of names) expect(status).toMatch(new RegExp(`${name}\\s*│\\s*closed\\s*│\\s*4\\s*│`));

    // A second worker's failure, with the site's Retry-After, opens one of them.
    await f.sg.breaker.recordFailure(sources[0]!, 'HTTP 429', null, { worker: 'cli-good-2', retryAfter: 2 * 3600 });
    const transitions = await cli('transitions', 'Quorum Gallery');
    expect(transitions).toMatch(/closed → open.*failure_threshold.*cli-good-2.*cli-bad-worker, cli-good-2/);
    const [t] = await f.admin.query<{ open_until: Date; retry_after_until: Date; at: Date }>(
      'select open_until, retry_after_until, at from public.circuit_breaker_transitions where source_id = $1',
      [sources[0]],
    ).then((r) => r.rows);
    expect(t!.retry_after_until.getTime() - t!.at.getTime()).toBe(2 * 3600 * 1000);
    expect(t!.open_until.getTime()).toBeGreaterThanOrEqual(t!.retry_after_until.getTime());
    await expect(cli('workers', '--recent', 'soon')).rejects.toThrow(/interval/);
  });

  test('clock: freeze, advance, reset; never back behind recorded times unless --force', async () => {
    expect(await cli('clock', 'freeze', '2032-01-01T00:00:00Z')).toBe('scrapeguard clock: 2032-01-01 00:00:00Z (frozen)');
    expect(await cli('clock', 'advance', '90 minutes')).toBe('scrapeguard clock: 2032-01-01 01:30:00Z (frozen)');
    const source = await f.createSource('Clock Source');
    await cli('breaker', 'force', source); // a transition at 2032-01-01 01:30
    await expect(cli('clock', 'advance', '--', '-1 hour')).rejects.toMatchObject({ code: '55000' });
    await expect(cli('clock', 'reset')).rejects.toThrow(/the clock would go back to .* before the latest recorded time 2032-01-01 01:30:00\+00/);
    expect(await cli('clock')).toBe('scrapeguard clock: 2032-01-01 01:30:00Z (frozen)');
    expect(await cli('clock', 'reset', '--force')).toMatch(/^scrapeguard clock: \d{4}-.*\(wall clock\)$/);
  });
});
