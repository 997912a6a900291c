/** Fleet health: one row per source (breaker state, last run, success rate, p95, coverage), and one per worker. */
import type { Transport } from './transport.js';

/** A row of public.fleet_health(). */
export interface FleetHealthRow {
  source_id: string;
  source_name: string;
  is_active: boolean;
  breaker_state: string | null;
  breaker_failure_count: number | null;
  breaker_open_until: string | null;
  last_run_id: string | null;
  last_run_status: string | null;
  last_run_started_at: string | null;
  last_run_finished_at: string | null;
  last_run_error_code: string | null;
  recent_runs: number;
  recent_success_rate: number | null;
  last_n_runs: number;
  last_n_success_rate: number | null;
  p50_duration_ms: number | null;
  p95_duration_ms: number | null;
  mean_field_coverage: number | null;
}

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

  fleet(options: FleetHealthOptions = {}): Promise<FleetHealthRow[]> {
    return this.transport.rpc('fleet_health', { last_n: options.lastN, recent: options.recent }, 'rows');
  }

  /** Per worker, its share of failed runs across sources next to the other workers' share: the worker that fails everywhere stands out. */
  workers(options: WorkerHealthOptions = {}): Promise<WorkerHealthRow[]> {
    return this.transport.rpc('worker_health', { recent: options.recent }, 'rows');
  }
}
