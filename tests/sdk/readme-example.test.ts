/** The scraper example shown in the README is examples/scraper.ts, and it runs as written. */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { PROJECT_ROOT } from '../../scripts/lib/paths.js';
import { sdkFixture } from './support.js';

const f = await sdkFixture();
const example = readFileSync(join(PROJECT_ROOT, 'examples', 'scraper.ts'), 'utf8');

function runExample(sourceId: string) {
  // `scrapeguard` resolves to the TypeScript sources here (the package's scrapeguard-source
  // condition); tests/package.test.ts runs the same kind of worker against the packed package.
  const args = ['--conditions=scrapeguard-source', '--import', 'tsx', join(PROJECT_ROOT, 'examples', 'scraper.ts'), sourceId];
  return spawnSync(process.execPath, args, {
    cwd: PROJECT_ROOT,
    env: { ...process.env, DATABASE_URL: f.db.appUrl },
    encoding: 'utf8',
  });
}

describe('README example', () => {
  test('the README shows examples/scraper.ts verbatim', () => {
    expect(readFileSync(join(PROJECT_ROOT, 'README.md'), 'utf8')).toContain(example.trim());
  });

  test('it scrapes, records the run and attributes the insert to it', async () => {
    const source = await f.createSource('Example Source');
    const r = runExample(source);
    expect(r.stderr).toBe('');
    expect(r.stdout).toContain('scraped 1 event(s)');
    const { rows } = await f.admin.query<{ status: string; revisions: number }>(
      `select r.status, (select count(*)::int from public.event_revisions v where v.run_id = r.id) as revisions
         from public.scraping_runs r where r.source_id = $1`,
      [source],
    );
    expect(rows).toEqual([{ status: 'succeeded', revisions: 1 }]);
  });

  test('with the breaker open it skips', async () => {
    const source = await f.createSource('Example Down');
    for (let i = 0; i < 3; i += 1) await f.sg.breaker.recordFailure(source, 'down');
    const r = runExample(source);
    expect(r.stdout).toMatch(/skipped: breaker open, retry at \d{4}-/);
  });
});
