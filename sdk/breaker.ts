/**
 * The circuit breaker API. All state lives in the database (public.circuit_breaker_state),
 * shared by every worker; each call is one RPC.
 */
import { CircuitOpenError, invalidArgument, ScrapeguardError } from './errors.js';
import { errorMessageOf, storableMessage } from './log-entry.js';
import { retryAfterInterval, retryAfterOfError, type RetryAfter } from './retry-after.js';
import { storableWorker } from './runs.js';
import type { FunctionRow, RowOf, Transport } from './transport.js';

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

/** A row of public.circuit_breaker_state (its CHECK keeps `state` to the five states). */
export type BreakerStateRow = Omit<RowOf<'circuit_breaker_state'>, 'state'> & { state: BreakerState };

type StateRowFunction = 'record_success' | 'record_failure' | 'force_breaker' | 'reset_breaker';

/** The state row these functions return (they raise rather than return none). */
function stateRow(row: FunctionRow<StateRowFunction> | null, fn: StateRowFunction): BreakerStateRow {
  if (!row) throw new ScrapeguardError({ message: `${fn} returned no row` });
  return row as BreakerStateRow;
}

export interface RecordFailureOptions {
  /** Who failed: counted toward the source's quorum (min_failing_workers). At most 200 characters. */
  worker?: string | null;
  /**
   * The site's Retry-After: seconds, or the time to come back. When this failure (or a
   * later one of the same streak) opens the breaker, it stays open at least that long
   * (capped by max_open_duration), for every worker.
   */
  retryAfter?: RetryAfter | null;
}

export interface WithCircuitOptions {
  /** This worker's name: sent with the permit request and with a failure (the quorum counts it). */
  worker?: string;
  /**
   * Whether an error thrown by the scrape means the source is failing. Errors that
   * are not failures (say a 404 of one page) are recorded as successes: the site
   * answered. Default: every error is a failure. Never asked about scrapeguard's own
   * errors (ScrapeguardError, or an error caused by one): those are not the site's.
   */
  isFailure?: (error: unknown) => boolean;
  /** Where errors of recording the outcome go (default: the Breaker's `onBookkeepingError`). */
  onBookkeepingError?: (error: unknown) => void;
}

export interface BreakerOptions {
  /**
   * Where withCircuit reports an error of recording the outcome (record_success /
   * record_failure failing, say on a lost connection): the scrape's own result or error
   * is what withCircuit returns or throws, so this is the only place it appears.
   * Default: a process warning (process.emitWarning).
   */
  onBookkeepingError?: (error: unknown) => void;
  /**
   * Read the state row directly and call acquire_permit only when the breaker is not
   * closed/disabled (default true). A closed breaker's permit check is then a
   * primary-key read; a permit granted just before another worker opens the breaker
   * is the same as a call already in flight.
   */
  fastPath?: boolean;
}

/** record_failure keeps the first 2000 characters of an error text. */
const ERROR_MAX_CHARS = 2000;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

function requireSource(sourceId: unknown, call: string): string {
  if (sourceId === undefined || sourceId === null || sourceId === '') {
    throw invalidArgument('sourceId', `${call}: sourceId is required`);
  }
  if (typeof sourceId !== 'string' || !UUID.test(sourceId)) {
    throw invalidArgument('sourceId', `${call}: sourceId must be a uuid (got ${JSON.stringify(errorMessageOf(String(sourceId)))})`);
  }
  return sourceId;
}

/**
 * Whether an error comes from scrapeguard itself (a ScrapeguardError, or an error caused by
 * one): a failed log flush, finish, transaction or permit is bookkeeping, not the site.
 */
export function isScrapeguardOwnError(error: unknown): boolean {
  let e: unknown = error;
  for (let depth = 0; depth < 8 && e !== null && typeof e === 'object'; depth += 1) {
    if (e instanceof ScrapeguardError) return true;
    e = (e as { cause?: unknown }).cause;
  }
  return false;
}

function defaultBookkeepingError(error: unknown): void {
  process.emitWarning(`scrapeguard could not record a breaker outcome: ${errorMessageOf(error)}`, {
    type: 'ScrapeguardWarning',
  });
}

export class Breaker {
  private readonly fastPath: boolean;
  private readonly onBookkeepingError: (error: unknown) => void;

  constructor(
    private readonly transport: Transport,
    options: BreakerOptions = {},
  ) {
    this.fastPath = options.fastPath ?? true;
    this.onBookkeepingError = options.onBookkeepingError ?? defaultBookkeepingError;
  }

  async acquire(sourceId: string, worker?: string): Promise<Permit> {
    requireSource(sourceId, 'breaker.acquire');
    const storableName = storableWorker(worker, 'breaker.acquire') ?? undefined;
    if (this.fastPath) {
      const [row] = await this.transport.select('circuit_breaker_state', { eq: { source_id: sourceId } });
      if (row && (row.state === 'closed' || row.state === 'disabled')) {
        return { allowed: true, state: row.state, probeId: null, retryAt: null };
      }
    }
    const rows = await this.transport.rpc('acquire_permit', { source_id: sourceId, worker: storableName });
    const p = rows[0];
    if (!p) throw new Error('acquire_permit returned no row');
    // acquire_permit sets allowed and state on every row it returns.
    return { allowed: p.allowed === true, state: p.state as BreakerState, probeId: p.probe_id, retryAt: p.retry_at };
  }

  async recordSuccess(sourceId: string, probeId?: string | null): Promise<BreakerStateRow> {
    requireSource(sourceId, 'breaker.recordSuccess');
    return this.stateCall('record_success', this.transport.rpc('record_success', { source_id: sourceId, probe_id: probeId ?? null }));
  }

  private async stateCall(fn: StateRowFunction, call: Promise<FunctionRow<StateRowFunction> | null>): Promise<BreakerStateRow> {
    return stateRow(await call, fn);
  }

  /**
   * The error text is made storable first (NUL removed, lone surrogates replaced, cut to
   * 2000 characters). `options.worker` and `options.retryAfter` are sent only when given.
   */
  async recordFailure(
    sourceId: string,
    error?: string | null,
    probeId?: string | null,
    options: RecordFailureOptions = {},
  ): Promise<BreakerStateRow> {
    requireSource(sourceId, 'breaker.recordFailure');
    const text = error == null ? null : storableMessage(errorMessageOf(error), ERROR_MAX_CHARS);
    const worker = storableWorker(options.worker, 'breaker.recordFailure') ?? undefined;
    const retryAfter = retryAfterInterval(options.retryAfter, 'breaker.recordFailure') ?? undefined;
    return this.stateCall(
      'record_failure',
      this.transport.rpc('record_failure', { source_id: sourceId, error: text, probe_id: probeId ?? null, worker, retry_after: retryAfter }),
    );
  }

  /** record_failure with an interval already checked (withCircuit's, from the thrown error). */
  private recordFailureOf(sourceId: string, error: unknown, probeId: string | null, worker: string | undefined): Promise<BreakerStateRow> {
    const text = storableMessage(errorMessageOf(error), ERROR_MAX_CHARS);
    return this.stateCall(
      'record_failure',
      this.transport.rpc('record_failure', {
        source_id: sourceId,
        error: text,
        probe_id: probeId,
        worker,
        retry_after: retryAfterOfError(error) ?? undefined,
      }),
    );
  }

  /**
   * Operator override: `forced_open` denies every permit, `disabled` permits everything, `auto` resumes.
   * `actor` (who acts) is recorded in the transition; without it the database names the caller.
   */
  force(sourceId: string, mode: BreakerMode, actor?: string): Promise<BreakerStateRow> {
    return this.stateCall('force_breaker', this.transport.rpc('force_breaker', { source_id: sourceId, mode, actor }));
  }

  /** Back to closed with no failures and no back-off; `actor` as for `force`. */
  reset(sourceId: string, actor?: string): Promise<BreakerStateRow> {
    return this.stateCall('reset_breaker', this.transport.rpc('reset_breaker', { source_id: sourceId, actor }));
  }

  /**
   * Ask for a permit, run `fn`, record its outcome (with the probe id when this call
   * is the half-open probe) and return or rethrow. Throws CircuitOpenError without
   * calling `fn` when the permit is denied.
   *
   * Only errors of the scrape decide the outcome. An error of scrapeguard's own calls made
   * inside `fn` (a ScrapeguardError, or an error caused by one: finishing a run, a lost
   * connection, RunAlreadyFinishedError) is rethrown as it is and records nothing: it says
   * nothing about the site (a half-open probe's lease then runs out and another worker
   * probes). Errors of recording the outcome itself never replace the scrape's result or
   * error: they go to `onBookkeepingError`. The error text recorded is made storable first.
   * A failure is recorded with `options.worker` and the error's `retryAfter` (seconds or a
   * Date: the site's Retry-After, honoured by the whole fleet when the breaker opens).
   */
  async withCircuit<T>(sourceId: string, fn: (permit: Permit) => Promise<T>, options: WithCircuitOptions = {}): Promise<T> {
    const permit = await this.acquire(sourceId, options.worker);
    const worker = storableWorker(options.worker, 'breaker.withCircuit') ?? undefined;
    if (!permit.allowed) {
      throw new CircuitOpenError(sourceId, permit.state, permit.retryAt ? new Date(permit.retryAt) : null);
    }
    const report = options.onBookkeepingError ?? this.onBookkeepingError;
    const record = async (call: () => Promise<unknown>) => {
      try {
        await call();
      } catch (err) {
        try {
          report(err);
        } catch {
          // A failing reporter must not replace the scrape's outcome either.
        }
      }
    };
    let result: T;
    try {
      result = await fn(permit);
    } catch (error) {
      if (isScrapeguardOwnError(error)) throw error;
      const isFailure = options.isFailure ?? (() => true);
      if (isFailure(error)) await record(() => this.recordFailureOf(sourceId, error, permit.probeId, worker));
      else await record(() => this.recordSuccess(sourceId, permit.probeId));
      throw error;
    }
    await record(() => this.recordSuccess(sourceId, permit.probeId));
    return result;
  }
}
