/** Fleet health: one row per source (breaker state, last run, success rate, p95, coverage). */
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

export class Health {
  constructor(private readonly transport: Transport) {}

  fleet(options: FleetHealthOptions = {}): Promise<FleetHealthRow[]> {
    return this.transport.rpc('fleet_health', { last_n: options.lastN, recent: options.recent }, 'rows');
  }
}
