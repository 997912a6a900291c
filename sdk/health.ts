/** Fleet health: one row per source (breaker state, last run, success rate, p95, coverage). */
import type { Transport } from './transport.js';

/** A row of public.fleet_health (the columns the SDK relies on; the row has more). */
export interface FleetHealthRow {
  source_id: string;
  source_name: string;
  [column: string]: unknown;
}

export class Health {
  constructor(private readonly transport: Transport) {}

  fleet(): Promise<FleetHealthRow[]> {
    return this.transport.select<FleetHealthRow>('fleet_health', { orderBy: { column: 'source_name' } });
  }
}
