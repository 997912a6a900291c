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
  /** Closes the pool if scrapeguard created it. */
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
  return {
    transport,
    breaker: new Breaker(transport, options.breaker),
    runs: new Runs(transport, options.logs),
    history: new History(transport),
    health: new Health(transport),
    close: () => transport.close(),
  };
}
