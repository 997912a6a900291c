/** Breaker transitions (public.circuit_breaker_transitions), newest last. */
import type { BreakerState } from './breaker.js';
import type { RowOf, Transport } from './transport.js';

/** A row of public.circuit_breaker_transitions (its CHECKs keep both states to the five). */
export type TransitionRow = Omit<RowOf<'circuit_breaker_transitions'>, 'from_state' | 'to_state' | 'reason' | 'workers' | 'actor'> & {
  from_state: BreakerState;
  to_state: BreakerState;
  /** failure_threshold | open_expired | probe_lease_expired | probe_succeeded | probe_failed | forced_open | disabled | auto | reset */
  reason: string;
  /**
   * failure_threshold and probe_failed: the distinct workers of the streak that opened the
   * breaker (null stands for failures reported without a worker); null otherwise.
   */
  workers: (string | null)[] | null;
  /** The operator behind forced_open/disabled/auto/reset; null for automatic transitions. */
  actor: string | null;
};

export interface RecentTransitionsOptions {
  /** Only this source's transitions. */
  sourceId?: string;
  /** The last N transitions (default 20). */
  limit?: number;
}

export class Transitions {
  constructor(private readonly transport: Transport) {}

  /** The last transitions (of one source or of all), in the order they were made. */
  async recent(options: RecentTransitionsOptions = {}): Promise<TransitionRow[]> {
    const rows = await this.transport.select('circuit_breaker_transitions', {
      ...(options.sourceId ? { eq: { source_id: options.sourceId } } : {}),
      orderBy: { column: 'id', ascending: false },
      limit: options.limit ?? 20,
    });
    return (rows as TransitionRow[]).reverse();
  }
}
