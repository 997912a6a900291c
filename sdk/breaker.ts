/**
 * The circuit breaker API. All state lives in the database (public.circuit_breaker_state),
 * shared by every worker; each call is one RPC.
 */
import { CircuitOpenError } from './errors.js';
import type { Transport } from './transport.js';

export type BreakerState = 'closed' | 'open' | 'half_open' | 'forced_open' | 'disabled';
export type BreakerMode = 'forced_open' | 'disabled' | 'auto';

export interface Permit {
  allowed: boolean;
  state: BreakerState;
  /** Set when this caller is the half-open probe: pass it back with the outcome. */
  probeId: string | null;
  /** When a denied caller may ask again. */
  retryAt: string | null;
}

/** A row of public.circuit_breaker_state (the columns the SDK relies on; the row has more). */
export interface BreakerStateRow {
  source_id: string;
  state: BreakerState;
  failure_count: number;
  open_until: string | null;
  [column: string]: unknown;
}

interface PermitRow {
  allowed: boolean;
  state: BreakerState;
  probe_id: string | null;
  retry_at: string | null;
}

export interface WithCircuitOptions {
  worker?: string;
  /**
   * Whether an error thrown by the scrape means the source is failing. Errors that
   * are not failures (say a 404 of one page) are recorded as successes: the site
   * answered. Default: every error is a failure.
   */
  isFailure?: (error: unknown) => boolean;
}

export interface BreakerOptions {
  /**
   * Read the state row directly and call acquire_permit only when the breaker is not
   * closed/disabled (default true). A closed breaker's permit check is then a
   * primary-key read; a permit granted just before another worker opens the breaker
   * is the same as a call already in flight.
   */
  fastPath?: boolean;
}

function message(error: unknown): string {
  if (error instanceof Error) return error.message;
  return String(error);
}

export class Breaker {
  private readonly fastPath: boolean;

  constructor(
    private readonly transport: Transport,
    options: BreakerOptions = {},
  ) {
    this.fastPath = options.fastPath ?? true;
  }

  async acquire(sourceId: string, worker?: string): Promise<Permit> {
    if (this.fastPath) {
      const [row] = await this.transport.select<BreakerStateRow>('circuit_breaker_state', { eq: { source_id: sourceId } });
      if (row && (row.state === 'closed' || row.state === 'disabled')) {
        return { allowed: true, state: row.state, probeId: null, retryAt: null };
      }
    }
    const rows = await this.transport.rpc<PermitRow[]>('acquire_permit', { source_id: sourceId, worker }, 'rows');
    const p = rows[0];
    if (!p) throw new Error('acquire_permit returned no row');
    return { allowed: p.allowed, state: p.state, probeId: p.probe_id, retryAt: p.retry_at };
  }

  recordSuccess(sourceId: string, probeId?: string | null): Promise<BreakerStateRow> {
    return this.transport.rpc('record_success', { source_id: sourceId, probe_id: probeId ?? null }, 'row');
  }

  recordFailure(sourceId: string, error?: string | null, probeId?: string | null): Promise<BreakerStateRow> {
    return this.transport.rpc('record_failure', { source_id: sourceId, error: error ?? null, probe_id: probeId ?? null }, 'row');
  }

  /**
   * Operator override: `forced_open` denies every permit, `disabled` permits everything, `auto` resumes.
   * `actor` (who acts) is recorded in the transition; without it the database names the caller.
   */
  force(sourceId: string, mode: BreakerMode, actor?: string): Promise<BreakerStateRow> {
    return this.transport.rpc('force_breaker', { source_id: sourceId, mode, actor }, 'row');
  }

  /** Back to closed with no failures and no back-off; `actor` as for `force`. */
  reset(sourceId: string, actor?: string): Promise<BreakerStateRow> {
    return this.transport.rpc('reset_breaker', { source_id: sourceId, actor }, 'row');
  }

  /**
   * Ask for a permit, run `fn`, record its outcome (with the probe id when this call
   * is the half-open probe) and return or rethrow. Throws CircuitOpenError without
   * calling `fn` when the permit is denied.
   */
  async withCircuit<T>(sourceId: string, fn: (permit: Permit) => Promise<T>, options: WithCircuitOptions = {}): Promise<T> {
    const permit = await this.acquire(sourceId, options.worker);
    if (!permit.allowed) {
      throw new CircuitOpenError(sourceId, permit.state, permit.retryAt ? new Date(permit.retryAt) : null);
    }
    let result: T;
    try {
      result = await fn(permit);
    } catch (error) {
      const isFailure = options.isFailure ?? (() => true);
      if (isFailure(error)) await this.recordFailure(sourceId, message(error), permit.probeId);
      else await this.recordSuccess(sourceId, permit.probeId);
      throw error;
    }
    await this.recordSuccess(sourceId, permit.probeId);
    return result;
  }
}
