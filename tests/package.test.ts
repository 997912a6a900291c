/**
 * The package as a scraper's own repository gets it: `npm pack`, the tarball installed
 * into a fresh project next to nothing else (its runtime dependencies come from the npm
 * cache or registry), `scrapeguard` imported from plain ESM JavaScript and from
 * type-checked TypeScript, its shipped SQL applied with `npx scrapeguard migrate`, a
 * small worker run, and `npx scrapeguard status` reading what it did.
 */
import { spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { PROJECT_ROOT } from '../scripts/lib/paths.js';
import { BARE_TEMPLATE, createTestDatabase, type TestDatabase } from './support/db.js';

const dir = mkdtempSync(join(tmpdir(), 'scrapeguard-consumer-'));
const app = join(dir, 'app');
let db: TestDatabase;
let tarball: string;

/** Without the variables `npm test` sets for itself, so the child npm acts as in a fresh shell. */
function cleanEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !/^npm_/i.test(k)));
  return { ...env, NO_COLOR: '1', ...extra };
}

function run(cmd: string, args: string[], cwd: string, env: Record<string, string> = {}): SpawnSyncReturns<string> {
  const r = spawnSync(cmd, args, { cwd, env: cleanEnv(env), encoding: 'utf8', timeout: 240_000 });
  if (r.error) throw r.error;
  return r;
}

function ok(r: SpawnSyncReturns<string>, what: string): string {
  expect(r.status, `${what} failed:\n${r.stdout}\n${r.stderr}`).toBe(0);
  return r.stdout;
}

beforeAll(async () => {
  // `npm pack` runs the prepare script (npm run build) first.
  const packed = ok(run('npm', ['pack', '--json', '--pack-destination', dir], PROJECT_ROOT), 'npm pack');
  const info = JSON.parse(packed.slice(packed.indexOf('['))) as { filename: string; files: { path: string }[] }[];
  tarball = join(dir, info[0]!.filename);
  (globalThis as { packedFiles?: string[] }).packedFiles = info[0]!.files.map((f) => f.path);

  mkdirApp();
  ok(
    run('npm', ['install', '--no-audit', '--no-fund', '--prefer-offline', '--loglevel=error', tarball], app),
    'npm install <tarball>',
  );
  db = await createTestDatabase(BARE_TEMPLATE);
}, 300_000);

afterAll(async () => {
  await db?.drop();
  rmSync(dir, { recursive: true, force: true });
});

function mkdirApp(): void {
  run('mkdir', ['-p', app], dir);
  writeFileSync(join(app, 'package.json'), JSON.stringify({ name: 'consumer', private: true, type: 'module' }, null, 2));
}

describe('the packed package installed in another project', () => {
  test('ships compiled JavaScript, declarations and the SQL, and nothing of the development tree', () => {
    const files = (globalThis as { packedFiles?: string[] }).packedFiles ?? [];
    expect(files).toContain('dist/sdk/index.js');
    expect(files).toContain('dist/sdk/index.d.ts');
    expect(files).toContain('dist/cli/main.js');
    expect(files).toContain('bin/scrapeguard.mjs');
    expect(files).toContain('.gmrc');
    expect(files).toContain('migrations/committed/000001-foundation.sql');
    expect(files).toContain('migrations/rollback/000001.sql');
    expect(files).toContain('supabase/migrations/20260101000001_foundation.sql');
    expect(files.filter((f) => /^(scripts|tests|bench|sdk|cli)\//.test(f) || f.endsWith('.ts') && !f.endsWith('.d.ts'))).toEqual([]);
    // Runtime dependencies only: no TypeScript runner, compiler or test tools came with it.
    const installed = readdirSync(join(app, 'node_modules'));
    for (const dev of ['tsx', 'typescript', 'vitest', 'esbuild']) expect(installed).not.toContain(dev);
    expect(existsSync(join(app, 'node_modules', 'scrapeguard', 'dist', 'sdk', 'index.js'))).toBe(true);
  });

  test('`npx scrapeguard migrate` applies the shipped SQL; a plain ESM worker runs; `npx scrapeguard status` shows it', async () => {
    const migrated = run('npx', ['--no-install', 'scrapeguard', 'migrate'], app, { DATABASE_URL: db.appUrl });
    expect(ok(migrated, 'scrapeguard migrate')).toMatch(/committed migrations executed/);

    const admin = await db.client();
    const { rows } = await admin.query<{ id: string }>(
      `insert into public.event_sources (name, base_url) values ('Packed Source', 'https://packed.example/events') returning id`,
    );
    const sourceId = rows[0]!.id;

    writeFileSync(
      join(app, 'worker.mjs'),
      `import { CircuitOpenError, createScrapeguard } from 'scrapeguard';
const sg = createScrapeguard({ connectionString: process.env.DATABASE_URL });
try {
  const n = await sg.breaker.withCircuit(process.argv[2], async () => {
    const run = await sg.runs.start({ sourceId: process.argv[2], engine: 'api', worker: 'packed-worker' });
    run.log.info('fetched', { events: 2 });
    await run.finish({ status: 'succeeded', fieldCoverage: 100, eventsFound: 2 });
    return 2;
  });
  console.log('scraped ' + n + ' events; CircuitOpenError is ' + typeof CircuitOpenError);
} finally {
  await sg.close();
}
`,
    );
    const worker = run(process.execPath, ['worker.mjs', sourceId], app, { DATABASE_URL: db.appUrl });
    expect(ok(worker, 'worker.mjs')).toContain('scraped 2 events; CircuitOpenError is function');
    expect(worker.stderr).toBe('');

    const status = ok(run('npx', ['--no-install', 'scrapeguard', 'status'], app, { DATABASE_URL: db.appUrl }), 'scrapeguard status');
    expect(status).toMatch(/Packed Source.*closed.*succeeded.*100% of 1/s);
  }, 120_000);

  test('TypeScript sees the declarations: a typed worker compiles, and wrong calls (SDK and typed transport) do not', () => {
    writeFileSync(
      join(app, 'tsconfig.json'),
      JSON.stringify({
        compilerOptions: {
          target: 'ES2022', module: 'NodeNext', moduleResolution: 'NodeNext', strict: true,
          noEmit: true, skipLibCheck: false, types: ['node'],
        },
        files: ['worker.ts'],
      }),
    );
    writeFileSync(
      join(app, 'worker.ts'),
      `import { createScrapeguard, UnknownSourceError, type FleetHealthRow, type Permit, type RowOf, type Scrapeguard } from 'scrapeguard';

type EventSourceRow = RowOf<'event_sources'>;

const sg: Scrapeguard = createScrapeguard({ connectionString: process.env.DATABASE_URL ?? '' });
export async function scrape(sourceId: string): Promise<number> {
  const found: number = await sg.breaker.withCircuit(sourceId, async (permit: Permit) => {
    const run = await sg.runs.start({ sourceId, engine: 'playwright', metadata: { probe: permit.probeId !== null } });
    run.log.warn('slow page', { ms: 1200 });
    await run.finish({ status: 'succeeded', eventsFound: 3 });
    return 3;
  });
  const fleet: FleetHealthRow[] = await sg.health.fleet({ lastN: 10 });
  const name: string = fleet[0]?.source_name ?? '';
  // @ts-expect-error: engine is one of the known engines
  await sg.runs.start({ sourceId, engine: 'curl' });
  // @ts-expect-error: withCircuit needs a function
  await sg.breaker.withCircuit(sourceId, 42);
  // The transport is typed by the generated schema: names, arguments and results.
  const [permit] = await sg.transport.rpc('acquire_permit', { source_id: sourceId, worker: 'typed' });
  const allowed: boolean | null = permit?.allowed ?? null;
  const [source]: EventSourceRow[] = await sg.transport.select('event_sources', { eq: { id: sourceId } });
  const page = await sg.logs.forRun(sourceId, { minLevel: 'warn', limit: 5 });
  // @ts-expect-error: no such function
  await sg.transport.rpc('acquire_permits', { source_id: sourceId });
  // @ts-expect-error: the argument is source_id
  await sg.transport.rpc('acquire_permit', { sourceId });
  // @ts-expect-error: worker is text
  await sg.transport.rpc('acquire_permit', { source_id: sourceId, worker: 7 });
  // @ts-expect-error: the result column is probe_id
  void permit?.probeId;
  // @ts-expect-error: event_sources has no title column
  void source?.title;
  return found + name.length + page.matching + (allowed ? 1 : 0) + (new UnknownSourceError({ message: 'x' }) instanceof Error ? 0 : 1);
}
`,
    );
    // The repository's compiler, run on the consumer project (resolving from its node_modules).
    const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
    const r = run(process.execPath, [tsc, '-p', join(app, 'tsconfig.json')], app);
    expect(r.stdout + r.stderr).toBe('');
    expect(r.status).toBe(0);
  }, 120_000);
});
