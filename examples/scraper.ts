// A scraper worker: one permit check, one run with logs, writes attributed to the run.
import { pathToFileURL } from 'node:url';
import { CircuitOpenError, createScrapeguard, type RunLogger, type Scrapeguard } from 'scrapeguard';

export interface Listing {
  title: string;
  start: string;
}

/** The site's part: fetch and parse. Only its errors count against the source's breaker. */
export type FetchListing = (log: RunLogger) => Promise<Listing[]>;

export async function scrapeSource(sg: Scrapeguard, sourceId: string, fetchListing: FetchListing, worker = 'worker-1') {
  return sg.breaker.withCircuit(
    sourceId,
    async (permit) => {
      const run = await sg.runs.start({ sourceId, engine: 'playwright', worker });
      run.log.info('fetching listing', { probe: permit.probeId !== null });
      try {
        const scraped = await fetchListing(run.log);
        // Writes to events inside run.transaction() are attributed to this run in event_revisions.
        await run.transaction(async (tx) => {
          for (const e of scraped) {
            await tx.query(
              `insert into public.events (title, start_time, source_type, status) values ($1, $2, 'scraped', 'published')`,
              [e.title, e.start],
            );
          }
        });
        // Records the run even if some log lines could not be written (see run.stats).
        await run.finish({ status: 'succeeded', fieldCoverage: 100, eventsFound: scraped.length, eventsCreated: scraped.length });
        return scraped;
      } catch (err) {
        run.log.error('scrape failed', { error: err });
        await run.fail(err); // never throws; does nothing if the run is already finished
        // withCircuit records the site's errors as failures; scrapeguard's own (ScrapeguardError) never.
        throw err;
      }
    },
    { worker },
  );
}

// As a script: `DATABASE_URL=… tsx examples/scraper.ts <event_sources.id>`.
if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const sg = createScrapeguard({ connectionString: process.env.DATABASE_URL! });
  const sourceId = process.argv[2]!; // an event_sources.id
  try {
    const events = await scrapeSource(sg, sourceId, async () => [
      { title: 'Macao International Music Festival', start: '2026-10-02T20:00:00+08:00' },
    ]);
    console.log(`scraped ${events.length} event(s)`);
  } catch (err) {
    if (!(err instanceof CircuitOpenError)) throw err;
    console.log(`skipped: breaker ${err.state}, retry at ${err.retryAt?.toISOString() ?? 'operator decision'}`);
  } finally {
    await sg.close(); // flushes the logs of every run started here
  }
}
