// A scraper worker: one permit check, one run with logs, writes attributed to the run.
import { CircuitOpenError, createScrapeguard } from 'scrapeguard';

const sg = createScrapeguard({ connectionString: process.env.DATABASE_URL! });
const sourceId = process.argv[2]!; // an event_sources.id

try {
  const events = await sg.breaker.withCircuit(sourceId, async (permit) => {
    const run = await sg.runs.start({ sourceId, engine: 'playwright', worker: 'worker-1' });
    run.log.info('fetching listing', { probe: permit.probeId !== null });
    try {
      const scraped = [{ title: 'Macao International Music Festival', start: '2026-10-02T20:00:00+08:00' }];
      // Writes to events inside run.transaction() are attributed to this run in event_revisions.
      await run.transaction(async (tx) => {
        for (const e of scraped) {
          await tx.query(
            `insert into public.events (title, start_time, source_type, status) values ($1, $2, 'scraped', 'published')`,
            [e.title, e.start],
          );
        }
      });
      await run.finish({ status: 'succeeded', fieldCoverage: 100, eventsFound: scraped.length, eventsCreated: scraped.length });
      return scraped;
    } catch (err) {
      run.log.error('scrape failed', { error: String(err) });
      await run.finish({ status: 'failed', errorMessage: String(err) });
      throw err; // withCircuit records the failure on the breaker
    }
  });
  console.log(`scraped ${events.length} event(s)`);
} catch (err) {
  if (!(err instanceof CircuitOpenError)) throw err;
  console.log(`skipped: breaker ${err.state}, retry at ${err.retryAt?.toISOString() ?? 'operator decision'}`);
} finally {
  await sg.close();
}
