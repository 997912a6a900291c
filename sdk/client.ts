/** Entry point: one object with the breaker, runs, history and health APIs over a transport. */
import type pg from 'pg';
import { Breaker, type BreakerOptions } from './breaker.js';
import { Health } from './health.js';
import { History } from './history.js';
import { Runs, type LogBufferOptions } from './runs.js';
import type { Transport } from './transport.js';
import { PgTransport } from './transports/pg.js';
import { SupabaseTransport, type SupabaseLike } from './transports/supabase.js';

export type ScrapeguardOptions = (
  | { transport: Transport }
  | { pool: pg.Pool }
  | { connectionString: string }
  | { supabase: SupabaseLike }
) & {
  breaker?: BreakerOptions;
  logs?: LogBufferOptions;
};

export interface Scrapeguard {
  transport: Transport;
  breaker: Breaker;
  runs: Runs;
  history: History;
  health: Health;
  /**
   * Flushes the logs of every run started here that still has lines to write (running or
   * finished), then closes the pool if scrapeguard created it. What could not be written
   * stays in each run's `stats` and goes to its `onError`; close() does not throw for it.
   * Runs not finished stay `running` in the database.
   */
  close(): Promise<void>;
}

function transportFor(options: ScrapeguardOptions): Transport {
  if ('transport' in options) return options.transport;
  if ('pool' in options) return new PgTransport({ pool: options.pool });
  if ('connectionString' in options) return new PgTransport({ connectionString: options.connectionString });
  return new SupabaseTransport(options.supabase);
}

export function createScrapeguard(options: ScrapeguardOptions): Scrapeguard {
  const transport = transportFor(options);
  const runs = new Runs(transport, options.logs);
  return {
    transport,
    breaker: new Breaker(transport, options.breaker),
    runs,
    history: new History(transport),
    health: new Health(transport),
    async close() {
      await runs.flushAll();
      for (const run of runs.openRuns) run.stop();
      await transport.close();
    },
  };
}
