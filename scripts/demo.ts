/**
 * `npm run demo`: a scraping fleet end to end, on the embedded PostgreSQL (or DATABASE_URL).
 *
 * It migrates a fresh database, loads seed.sql, then simulates twelve Macau event
 * sources scraped by several concurrent workers through the SDK — healthy, flaky,
 * recovering and dead sources, a rate-limited site's Retry-After, one worker whose IP is
 * banned everywhere, pages whose events change between scrapes — for eight simulated
 * hours (the shared scrapeguard clock jumps ten minutes per round), and prints the fleet,
 * the workers (the banned one's failure share stands out while the sources it fails on
 * stay closed: every source needs two failing workers to open), the breaker transitions,
 * and one event's history and earlier state.
 * Workers write what they scraped with run.ingest(): one call per page, keyed by each
 * event's URL, attributed to the run and counted into it by the database. One worker
 * uses the supabase-js transport, answered by the PostgREST stand-in of the SDK's tests
 * (a real PostgREST server cannot be installed here): the same calls as a worker that
 * only has the project URL and the service-role key.
 *
 * It runs on its own throwaway cluster (a temporary directory, fast non-durable settings)
 * or, with DATABASE_URL set, on a throwaway database created on that server; either is
 * removed at the end, also when interrupted. A running development database is never used.
 */
import { mkdtempSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import cliProgress from 'cli-progress';
import { createClient } from '@supabase/supabase-js';
import pg from 'pg';
import pc from 'picocolors';
import { CircuitOpenError, createScrapeguard, type Database, type Scrapeguard } from '../sdk/index.js';
import { historyCommand, runsCommand, statusCommand, workersCommand } from '../cli/commands.js';
import { makeJwt, PostgrestStandIn } from '../tests/sdk/postgrest-standin.js';
import { table, time } from '../cli/format.js';
import { applyCurrent, applyShim, bootstrapCluster, migrate, withClient, withDatabase } from './lib/database.js';
import { APP_USER, startCluster, stopCluster, SUPERUSER } from './lib/local-postgres.js';
import { PROJECT_ROOT } from './lib/paths.js';
import {
  BAD_WORKER,
  DEMO_QUORUM,
  DEMO_RETRY_AFTER_S,
  demoSources,
  initialEvents,
  nextPage,
  sourceAnswers,
  type DemoEvent,
  type DemoSource,
} from './demo/fleet.js';
import { prng } from './lib/prng.js';

const ROUNDS = 48; // × 10 simulated minutes = 8 hours
const WORKERS = 6;
/** The worker on the supabase-js transport: a healthy one, not BAD_WORKER. */
const SUPABASE_WORKER = 'worker-5';
const DEMO_DATABASE = 'scrapeguard_demo';

interface DemoTarget {
  url: string;
  /** Removes the throwaway cluster or database. */
  remove: () => Promise<void>;
}

class HttpError extends Error {
  /** The site's Retry-After (seconds), which withCircuit records with the failure. */
  readonly retryAfter?: number;
  constructor(readonly status: number, retryAfter?: number) {
    super(`HTTP ${status}`);
    if (retryAfter !== undefined) this.retryAfter = retryAfter;
  }
}

/** Realtime is not used by the SDK; it only needs a WebSocket constructor to exist. */
class NoRealtime {
  constructor() {
    throw new Error('realtime is not used by the demo');
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function prepareDatabase(): Promise<DemoTarget> {
  const server = process.env.DATABASE_URL;
  if (server) {
    // A database of its own on that server (the role needs CREATEDB), dropped afterwards.
    const name = `${DEMO_DATABASE}_${process.pid}_${Math.random().toString(36).slice(2, 8)}`;
    await withClient(server, (c) => c.query(`create database ${pg.escapeIdentifier(name)}`));
    const remove = () =>
      withClient(server, async (c) => {
        await c.query(`drop database if exists ${pg.escapeIdentifier(name)} with (force)`);
      });
    const url = withDatabase(server, name);
    try {
      console.log(pc.dim(`throwaway database ${name} on the DATABASE_URL server`));
      await applyShim(url);
      await migrate(url, { quiet: true });
      await applyCurrent(url); // the migration being developed, if any (as the tests apply it)
    } catch (err) {
      await remove();
      throw err;
    }
    return { url, remove };
  }
  const dir = mkdtempSync(join(tmpdir(), 'scrapeguard-demo-'));
  const remove = async () => void stopCluster(dir, { remove: true });
  try {
    const cluster = await startCluster(dir); // disposable: fast, non-durable settings
    await bootstrapCluster(cluster);
    await withClient(cluster.rootUrl, (c) => c.query(`create database ${DEMO_DATABASE} owner ${APP_USER}`));
    console.log(pc.dim(`throwaway PostgreSQL ${cluster.major} on 127.0.0.1:${cluster.port} in ${dir}`));
    await applyShim(cluster.urlFor(DEMO_DATABASE, SUPERUSER));
    const url = cluster.urlFor(DEMO_DATABASE);
    await migrate(url, { quiet: true });
    await applyCurrent(url); // the migration being developed, if any (as the tests apply it)
    return { url, remove };
  } catch (err) {
    await remove();
    throw err;
  }
}

async function upsertSources(db: pg.Pool, sources: DemoSource[]): Promise<void> {
  for (const s of sources) {
    await db.query(
      `insert into public.event_sources (id, name, base_url, source_type)
       values ($1, $2, $3, $4)
       on conflict (id) do update set name = excluded.name, base_url = excluded.base_url`,
      [s.id, s.name, s.baseUrl, s.engine === 'api' || s.engine === 'feed' ? 'api' : 'website'],
    );
  }
}

/** One scrape of one source by one worker, through withCircuit and a run handle. */
async function scrape(
  sg: Scrapeguard,
  source: DemoSource,
  pages: Map<string, DemoEvent[]>,
  worker: string,
  progress: number,
  rnd: () => number,
): Promise<'ok' | 'failed' | 'denied'> {
  try {
    await sg.breaker.withCircuit(
      source.id,
      async (permit) => {
        const run = await sg.runs.start(
          { sourceId: source.id, engine: source.engine, worker, metadata: { probe: permit.probeId !== null } },
          { intervalMs: 0 },
        );
        run.log.debug('permit granted', { state: permit.state, probe: permit.probeId });
        await sleep(15 + Math.floor(rnd() * 60)); // the fetch
        const banned = worker === BAD_WORKER;
        if (banned || !sourceAnswers(source.profile, progress, rnd)) {
          // A banned IP gets 403 everywhere; a flaky site sometimes rate-limits with a Retry-After.
          const r = rnd();
          const status = banned ? 403 : source.profile === 'dead' ? 404 : r < 0.4 ? 503 : r < 0.75 ? 500 : 429;
          run.log.error('fetch failed', { url: source.baseUrl, status });
          await run.finish({ status: 'failed', errorCode: `HTTP_${status}`, errorMessage: `GET ${source.baseUrl}: HTTP ${status}` });
          throw new HttpError(status, status === 429 ? DEMO_RETRY_AFTER_S : undefined);
        }
        const page = nextPage(pages.get(source.id) ?? [], rnd);
        pages.set(source.id, page);
        // The page's events, keyed by their URL on the site: created, updated where they
        // changed, left alone where they did not; attributed to the run and counted into it.
        const result = await run.ingest(
          page.map((e) => ({
            key: e.sourceUrl,
            title: e.title,
            start_time: e.startTime,
            status: e.status,
            source_url: e.sourceUrl,
            source_type: 'scraped',
            price_range: e.priceRange,
            tags: e.tags,
          })),
          { actor: `scraper:${worker}` },
        );
        if (result.failed > 0) run.log.warn('events refused', { errors: result.errors });
        const missing = page.filter((e) => !e.priceRange).length;
        const coverage = Math.round((100 - (missing / page.length) * 25 - rnd() * 5) * 10) / 10;
        run.log.info('page scraped', { events: page.length, coverage });
        if (missing > 0) run.log.warn('events without a price', { count: missing });
        // Now and then a page renders incompletely: the run is partial.
        const incomplete = rnd() < 0.06;
        if (incomplete) run.log.warn('detail pages timed out; some fields missing', { events: 1 });
        // No counts: ingest_events counted the page into the run already.
        await run.finish({ status: incomplete ? 'partial' : 'succeeded', fieldCoverage: coverage });
      },
      { worker },
    );
    return 'ok';
  } catch (err) {
    if (err instanceof CircuitOpenError) return 'denied';
    if (err instanceof HttpError) return 'failed';
    throw err;
  }
}

async function simulate(sg: Scrapeguard, viaSupabase: Scrapeguard, db: pg.Pool, sources: DemoSource[]): Promise<void> {
  const pages = new Map(sources.map((s, i) => [s.id, initialEvents(s, i)]));
  const rnd = prng(42);
  const bar = new cliProgress.SingleBar(
    {
      format: ' {bar} {percentage}% | {value}/{total} rounds | sim {clock} | runs {runs} ok {ok} failed {failed} skipped {denied} | open breakers {open}',
      noTTYOutput: true,
      notTTYSchedule: 4000,
      hideCursor: true,
    },
    cliProgress.Presets.shades_classic,
  );
  const totals = { runs: 0, ok: 0, failed: 0, denied: 0 };
  bar.start(ROUNDS, 0, { ...totals, clock: '', open: 0 });
  for (let round = 0; round < ROUNDS; round += 1) {
    // Sources in a different order each round, so every worker meets every source.
    const queue = [...sources];
    for (let i = queue.length - 1; i > 0; i -= 1) {
      const j = Math.floor(rnd() * (i + 1));
      [queue[i], queue[j]] = [queue[j] as DemoSource, queue[i] as DemoSource];
    }
    await Promise.all(
      Array.from({ length: WORKERS }, async (_, w) => {
        for (let s = queue.shift(); s; s = queue.shift()) {
          // One healthy worker talks to the database through supabase-js (PostgREST), so its
          // runs, logs and ingests take that path (the banned worker's never get that far).
          const worker = `worker-${w + 1}`;
          const client = worker === SUPABASE_WORKER ? viaSupabase : sg;
          const outcome = await scrape(client, s, pages, worker, round / ROUNDS, rnd);
          totals[outcome] += 1;
          if (outcome !== 'denied') totals.runs += 1;
        }
      }),
    );
    const { rows } = await db.query<{ clock: string; open: number }>(
      `select to_char(scrapeguard.advance_clock('10 minutes') at time zone 'Asia/Macau', 'HH24:MI') as clock,
              (select count(*)::int from public.circuit_breaker_state where state <> 'closed') as open`,
    );
    bar.update(round + 1, { ...totals, clock: rows[0]?.clock ?? '', open: rows[0]?.open ?? 0 });
  }
  bar.stop();
}

async function report(sg: Scrapeguard, db: pg.Pool, demoStart: string): Promise<void> {
  console.log(`\n${pc.bold('Fleet')} (scrapeguard status)`);
  console.log(await statusCommand(sg));

  console.log(`\n${pc.bold('Workers')} (scrapeguard workers: each worker's failed runs next to the others' on the same sources)`);
  console.log(await workersCommand(sg, '8 hours'));
  const bad = (await sg.health.workers({ recent: '8 hours' })).find((w) => w.worker === BAD_WORKER);
  const closed = await db.query<{ n: number; of: number }>(
    `select count(*) filter (where b.state = 'closed')::int as n, count(*)::int as of
       from public.circuit_breaker_state b
      where exists (select from public.scraping_runs r
                     where r.source_id = b.source_id and r.worker = $1 and r.status = 'failed')
        and not exists (select from public.circuit_breaker_transitions t
                         where t.source_id = b.source_id and t.reason = 'failure_threshold')`,
    [BAD_WORKER],
  );
  if (bad) {
    console.log(
      `${pc.bold(BAD_WORKER)} failed ${bad.failed_runs} of its ${bad.runs} runs (${bad.failure_share ?? 0}%) on ` +
        `${bad.failing_sources} of ${bad.sources} sources, where the other workers failed ${bad.others_failure_share ?? 0}%. ` +
        `With min_failing_workers = ${DEMO_QUORUM}, ${closed.rows[0]?.n ?? 0} sources it failed on never opened at all.`,
    );
  }

  const transitions = await db.query<{
    at: string; source: string; from_state: string; to_state: string; reason: string; open_until: string | null;
    worker: string | null; workers: (string | null)[] | null; retry_after_until: string | null;
  }>(
    `select t.at, s.name as source, t.from_state, t.to_state, t.reason, t.open_until, t.worker,
            t.workers::text[] as workers, t.retry_after_until
       from public.circuit_breaker_transitions t join public.event_sources s on s.id = t.source_id
      where t.at >= $1 order by t.at, t.id`,
    [demoStart],
  );
  console.log(`\n${pc.bold('Breaker transitions')} (${transitions.rowCount} in 8 simulated hours)`);
  console.log(
    table(
      ['at', 'source', 'from → to', 'reason', 'open until', 'worker', 'streak workers', 'retry-after until'],
      transitions.rows.map((t) => [
        time(t.at),
        t.source,
        `${t.from_state} → ${t.to_state}`,
        t.reason,
        time(t.open_until),
        t.worker ?? '',
        t.workers ? t.workers.map((w) => w ?? '(no name)').join(', ') : '',
        time(t.retry_after_until),
      ]),
    ),
  );

  const { rows } = await db.query<{ event_id: string; title: string; first_change: string }>(
    `select r.event_id, e.title, min(r.changed_at) filter (where r.operation = 'update') as first_change
       from public.event_revisions r join public.events e on e.id = r.event_id
      where r.run_id is not null
      group by r.event_id, e.title
      order by count(*) desc, r.event_id limit 1`,
  );
  const pick = rows[0];
  if (!pick) return;
  const src = await db.query<{ name: string }>(
    `select s.name from public.event_source_keys k join public.event_sources s on s.id = k.source_id where k.event_id = $1`,
    [pick.event_id],
  );
  if (src.rows[0]) {
    console.log(`\n${pc.bold('Last runs of')} ${src.rows[0].name} (counts kept by ingest_events)`);
    console.log(await runsCommand(sg, src.rows[0].name, 6));
  }
  console.log(`\n${pc.bold('History of one event')}: ${pick.title}`);
  console.log(await historyCommand(sg, pick.event_id));
  const before = new Date(new Date(pick.first_change).getTime() - 1000);
  const then = await sg.history.asOf(pick.event_id, before);
  const now = await sg.history.asOf(pick.event_id, new Date(Date.now() + 3600_000 * 24));
  console.log(`\n${pc.bold('As of')} ${time(before.toISOString())} (just before its first change) and now:`);
  const fields = ['title', 'start_time', 'status', 'price_range', 'tags'] as const;
  console.log(
    table(
      ['field', 'then', 'now'],
      fields.map((f) => [f, JSON.stringify(then?.[f] ?? null), JSON.stringify(now?.[f] ?? null)]),
    ),
  );
}

async function main(): Promise<void> {
  const started = Date.now();
  const target = await prepareDatabase();
  // Interrupted (Ctrl-C, kill): remove the throwaway cluster or database all the same.
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => {
      void target.remove().finally(() => process.exit(130));
    });
  }
  const db = new pg.Pool({ connectionString: target.url, max: WORKERS + 2, options: '-c role=service_role' });
  const sg = createScrapeguard({ pool: db });
  const standIn = new PostgrestStandIn(db);
  const viaSupabase = createScrapeguard({
    supabase: createClient<Database>('http://demo.supabase.test', makeJwt({ role: 'service_role' }), {
      global: { fetch: standIn.fetch },
      auth: { persistSession: false, autoRefreshToken: false },
      // Realtime is not used; Node 20 has no WebSocket, so give it a constructor that is never called.
      realtime: { transport: NoRealtime as never },
    }),
  });
  try {
    const seed = await readFile(join(PROJECT_ROOT, 'seed.sql'), 'utf8');
    await withClient(target.url, (c) => c.query(seed));
    const sources = demoSources();
    await upsertSources(db, sources);
    // One bad worker must not open a source for the whole fleet: two distinct failing workers.
    for (const s of sources) await db.query('select public.configure_breaker($1, min_failing_workers => $2)', [s.id, DEMO_QUORUM]);
    const { rows } = await db.query<{ start: string }>(`select scrapeguard.reset_clock()::text as start`);
    const demoStart = rows[0]!.start;
    console.log(`${pc.bold('Simulating')} ${sources.length} sources × ${ROUNDS} rounds of 10 minutes with ${WORKERS} concurrent workers`);
    await simulate(sg, viaSupabase, db, sources);
    await report(sg, db, demoStart);
  } finally {
    await viaSupabase.close();
    await sg.close();
    await db.end();
    await target.remove();
  }
  console.log(pc.dim(`\ndone in ${((Date.now() - started) / 1000).toFixed(1)} s`));
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? err.stack ?? err.message : err);
  process.exit(1);
});
