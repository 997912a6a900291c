/** Entry point: one object with the breaker, runs, logs, transitions, history, health and clock APIs over a transport. */
import type pg from 'pg';
import { Breaker, type BreakerOptions } from './breaker.js';
import { TestClock } from './clock.js';
import { Health } from './health.js';
import { History } from './history.js';
import { Logs } from './logs.js';
import { Runs, type LogBufferOptions } from './runs.js';
import { Transitions } from './transitions.js';
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
  /** Reading one run's log lines back. */
  logs: Logs;
  /** The breakers' recorded transitions. */
  transitions: Transitions;
  history: History;
  health: Health;
  /**
   * The shared clock of a test or demo database. It lives outside what PostgREST exposes,
   * so it needs the pg transport: null over supabase-js (or a transport of your own).
   */
  clock: TestClock | null;
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
    logs: new Logs(transport),
    transitions: new Transitions(transport),
    history: new History(transport),
    health: new Health(transport),
    clock: transport instanceof PgTransport ? new TestClock(transport.pool) : null,
    async close() {
      await runs.flushAll();
      for (const run of runs.openRuns) run.stop();
      await transport.close();
    },
  };
}
