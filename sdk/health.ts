/** Fleet health: one row per source (breaker state, last run, success rate, p95, coverage). */
import type { BreakerState } from './breaker.js';
import type { FunctionRow, Transport } from './transport.js';

/**
 * A row of public.fleet_health(). Its RETURNS TABLE columns are typed nullable; these are
 * never null (every source has an id, a name and is_active; a source without a breaker row
 * reads as closed with no failures; the run counts are count()s).
 */
export type FleetHealthRow = FunctionRow<'fleet_health'> & {
  source_id: string;
  source_name: string;
  is_active: boolean;
  breaker_state: BreakerState;
  breaker_failure_count: number;
  recent_runs: number;
  last_n_runs: number;
};

export interface FleetHealthOptions {
  /** Success rate (percent) and durations over the last N runs of each source (default 20). */
  lastN?: number;
  /** Window of the "recent" success rate, as a PostgreSQL interval (default '24 hours'). */
  recent?: string;
}

export class Health {
  constructor(private readonly transport: Transport) {}

  async fleet(options: FleetHealthOptions = {}): Promise<FleetHealthRow[]> {
    const rows = await this.transport.rpc('fleet_health', { last_n: options.lastN, recent: options.recent });
    return rows as FleetHealthRow[];
  }
}
