/** Fleet health: one row per source (breaker state, last run, success rate, p95, coverage), and one per worker. */
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

/** A row of public.worker_health(): one worker's failures across sources, next to the others'. */
export interface WorkerHealthRow {
  /** Null: runs and failures reported without a worker name. */
  worker: string | null;
  /** Finished runs (succeeded, partial, failed) started in the window. */
  runs: number;
  failed_runs: number;
  /** Percent of its runs that failed (null without runs). */
  failure_share: number | null;
  /** Sources it ran, and those it failed on at least once. */
  sources: number;
  failing_sources: number;
  /** The other workers' runs on the same sources, and the percent of those that failed. */
  others_runs: number;
  others_failure_share: number | null;
  /** Breakers whose current streak of failures names this worker (now, not in the window). */
  streak_sources: number;
  last_failure_at: string | null;
}

export interface WorkerHealthOptions {
  /** Window of runs, as a PostgreSQL interval (default '24 hours'). */
  recent?: string;
}

export class Health {
  constructor(private readonly transport: Transport) {}

  async fleet(options: FleetHealthOptions = {}): Promise<FleetHealthRow[]> {
    const rows = await this.transport.rpc('fleet_health', { last_n: options.lastN, recent: options.recent });
    return rows as FleetHealthRow[];
  }

  /** Per worker, its share of failed runs across sources next to the other workers' share: the worker that fails everywhere stands out. */
  async workers(options: WorkerHealthOptions = {}): Promise<WorkerHealthRow[]> {
    const rows = await this.transport.rpc('worker_health', { recent: options.recent });
    return rows as WorkerHealthRow[];
  }
}
