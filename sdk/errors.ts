/**
 * Typed errors, chosen by SQLSTATE (never by the wording of the message); for a foreign-key
 * violation also by the key's name, which PostgREST reports only inside its message.
 *
 * | SQLSTATE                 | class                     | raised when                                        |
 * |--------------------------|---------------------------|----------------------------------------------------|
 * | SG001                    | UnknownSourceError        | the source id has no event_sources row             |
 * | SG002                    | UnknownRunError           | the run id has no scraping_runs row                |
 * | 23503                    | UnknownSourceError / UnknownRunError | the source or run was deleted by another transaction between the RPC's check and its write (by foreign key) |
 * | SG003                    | RunAlreadyFinishedError   | finish_run or set_change_context on a run that is no longer running |
 * | 22023, 22004, 22P02, 22P05, 22021, 22009, 22003, 22007, 22008, 22001, any other 22xxx, 23502, 23514 | ValidationError | a value the database refuses |
 * | 42501                    | PermissionDeniedError     | the role may not do this (RLS / privileges)        |
 * | 08xxx, 57P01–57P03       | ConnectionLostError       | the connection dropped or the server shut down (also socket errors without a SQLSTATE) |
 * | 40001, 40P01, 55P03, 57014, 53xxx | RetryableError   | serialization failure, deadlock, lock or statement timeout, server out of resources |
 * | —                        | ValidationError           | raised by the SDK before the call: a required argument is missing or malformed |
 * | —                        | CircuitOpenError          | raised by the SDK when a permit is denied          |
 */

export interface DatabaseErrorFields {
  code?: string | undefined;
  message: string;
  /** The violated constraint (pg's DatabaseError has it; PostgREST names it only in the message). */
  constraint?: string | undefined;
  detail?: string | undefined;
  hint?: string | undefined;
}

export class ScrapeguardError extends Error {
  /** SQLSTATE of the database error, when there was one. */
  readonly code: string | undefined;
  readonly detail: string | undefined;
  readonly hint: string | undefined;
  /** Whether the same call may succeed if made again (connection loss, deadlock, timeout). */
  readonly retryable: boolean = false;

  constructor(fields: DatabaseErrorFields, options?: { cause?: unknown }) {
    super(fields.message, options);
    this.name = new.target.name;
    this.code = fields.code;
    this.detail = fields.detail;
    this.hint = fields.hint;
  }
}

export class UnknownSourceError extends ScrapeguardError {}
export class UnknownRunError extends ScrapeguardError {}
export class RunAlreadyFinishedError extends ScrapeguardError {}
export class PermissionDeniedError extends ScrapeguardError {}

/** A value the database refused, or a required argument the SDK found missing before the call. */
export class ValidationError extends ScrapeguardError {
  /** The argument at fault, when the SDK checked it before the call. */
  readonly argument: string | undefined;

  constructor(fields: DatabaseErrorFields & { argument?: string }, options?: { cause?: unknown }) {
    super(fields, options);
    this.argument = fields.argument;
  }
}

/** A call that may succeed if made again: deadlock, serialization failure, lock or statement timeout. */
export class RetryableError extends ScrapeguardError {
  override readonly retryable: boolean = true;
}

/**
 * The connection dropped while the call was pending (server restart, pg_terminate_backend, network).
 * `mayHaveCommitted` is true when the write may have been committed all the same (the connection
 * died after the commit or the one-statement call was sent, and its answer never came): check before
 * repeating a write that is not idempotent. The connection was discarded; the pool opens a new one.
 */
export class ConnectionLostError extends RetryableError {
  readonly mayHaveCommitted: boolean;

  constructor(fields: DatabaseErrorFields & { mayHaveCommitted: boolean }, options?: { cause?: unknown }) {
    super(fields, options);
    this.mayHaveCommitted = fields.mayHaveCommitted;
  }
}

/** A permit was denied: the breaker of `sourceId` is open, half-open with a probe out, or forced open. */
export class CircuitOpenError extends ScrapeguardError {
  constructor(
    readonly sourceId: string,
    readonly state: string,
    readonly retryAt: Date | null,
  ) {
    super({
      message: `circuit for source ${sourceId} is ${state}${retryAt ? `; retry at ${retryAt.toISOString()}` : ''}`,
    });
  }
}

type ErrorClass = new (f: DatabaseErrorFields, o?: { cause?: unknown }) => ScrapeguardError;

const BY_SQLSTATE: Record<string, ErrorClass> = {
  SG001: UnknownSourceError,
  SG002: UnknownRunError,
  SG003: RunAlreadyFinishedError,
  '23502': ValidationError,
  '23514': ValidationError,
  '42501': PermissionDeniedError,
  '40001': RetryableError,
  '40P01': RetryableError,
  '55P03': RetryableError,
  '57014': RetryableError,
};

/** By SQLSTATE class (the first two characters), when the code itself is not listed. */
const BY_CLASS: Record<string, ErrorClass> = {
  // Data exceptions: 22004 null, 22023 invalid value, 22P02 bad text form, 22P05 \u0000 in JSON,
  // 22021 a NUL byte in text, 22009 UTC offset out of range, 22003/22008 out of range…
  '22': ValidationError,
  '53': RetryableError,
};

/**
 * Foreign keys whose violation (23503) means what SG001/SG002 mean: the RPCs check that the
 * source or run exists before writing, and one deleted in between is caught by the key instead.
 */
const BY_FOREIGN_KEY: Record<string, typeof UnknownSourceError | typeof UnknownRunError | typeof ValidationError> = {
  circuit_breaker_state_source_id_fkey: UnknownSourceError,
  circuit_breaker_transitions_source_id_fkey: UnknownSourceError,
  scraping_runs_source_id_fkey: UnknownSourceError,
  // start_run refuses an unknown scrape job with 22023; one deleted meanwhile is the same mistake.
  scraping_runs_scrape_job_id_fkey: ValidationError,
  scraping_logs_run_id_fkey: UnknownRunError,
  event_revisions_run_id_fkey: UnknownRunError,
};

/** SQLSTATEs of a connection that is gone: class 08 and the server's shutdown/termination codes. */
function isConnectionSqlstate(code: string): boolean {
  return code.startsWith('08') || code === '57P01' || code === '57P02' || code === '57P03';
}

/** Node's socket error codes (err.code), which carry no SQLSTATE. */
const SOCKET_ERRORS = new Set(['ECONNRESET', 'ECONNREFUSED', 'EPIPE', 'ETIMEDOUT', 'ENOTFOUND', 'EHOSTUNREACH', 'ECONNABORTED']);

/**
 * Whether a driver error means the connection is unusable. node-postgres reports a socket that
 * closed without a server message as a plain Error with no code ("Connection terminated
 * unexpectedly", "… not queryable"): those are recognised by the driver's own sentinels, the
 * only place where no SQLSTATE exists.
 */
export function isConnectionError(err: unknown): boolean {
  if (err instanceof ConnectionLostError) return true;
  if (err instanceof ScrapeguardError) return false;
  if (typeof err !== 'object' || err === null) return false;
  const e = err as { code?: unknown; message?: unknown };
  if (typeof e.code === 'string') return isConnectionSqlstate(e.code) || SOCKET_ERRORS.has(e.code);
  const m = typeof e.message === 'string' ? e.message : '';
  return (
    m.startsWith('Connection terminated') ||
    m.includes('is not queryable') ||
    m.startsWith('timeout exceeded when trying to connect') ||
    m.startsWith('Query read timeout')
  );
}

/**
 * Whether the server answered the failing statement itself (an ErrorResponse with a SQLSTATE):
 * then it was rolled back. A socket that simply closed leaves the outcome unknown.
 */
function serverAnswered(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' && /^[0-9A-Z]{5}$/.test(code);
}

/**
 * Whether the call never reached the server: the connection could not be opened (refused,
 * unknown host, the server starting or shutting down, the pool's connect timeout).
 */
function neverSent(err: unknown): boolean {
  const e = (typeof err === 'object' && err !== null ? err : {}) as { code?: unknown; message?: unknown };
  if (typeof e.code === 'string' && ['ECONNREFUSED', 'ENOTFOUND', 'EHOSTUNREACH', '57P03'].includes(e.code)) return true;
  const m = typeof e.message === 'string' ? e.message : '';
  return m.startsWith('timeout exceeded when trying to connect') || m.includes('due to connection timeout');
}

function violatedConstraint(e: Partial<DatabaseErrorFields>): string | undefined {
  return e.constraint ?? /constraint "([^"]+)"/.exec(e.message ?? '')?.[1];
}

export interface ConnectionLossContext {
  /** Whether the failed call could have committed a write if its answer was lost (a commit, a one-statement call). */
  writeInFlight: boolean;
}

/** A connection error as ConnectionLostError; `writeInFlight` decides `mayHaveCommitted` when the server did not answer. */
export function toConnectionLostError(err: unknown, context: ConnectionLossContext): ConnectionLostError {
  if (err instanceof ConnectionLostError) return err;
  const e = (typeof err === 'object' && err !== null ? err : {}) as Partial<DatabaseErrorFields>;
  const code = typeof e.code === 'string' && serverAnswered(err) ? e.code : undefined;
  return new ConnectionLostError(
    {
      code,
      message: `connection lost: ${typeof e.message === 'string' ? e.message : String(err)}`,
      detail: e.detail ?? undefined,
      hint: e.hint ?? undefined,
      mayHaveCommitted: context.writeInFlight && !serverAnswered(err) && !neverSent(err),
    },
    { cause: err },
  );
}

/**
 * Wrap a driver error (pg's DatabaseError or PostgREST's error object) in the matching typed error.
 * `context` says whether a lost connection may have committed the call (default: yes, when the
 * server did not answer).
 */
export function toScrapeguardError(err: unknown, context: ConnectionLossContext = { writeInFlight: true }): unknown {
  if (err instanceof ScrapeguardError) return err;
  if (typeof err !== 'object' || err === null) return err;
  if (isConnectionError(err)) return toConnectionLostError(err, context);
  const e = err as Partial<DatabaseErrorFields>;
  if (typeof e.code !== 'string' || typeof e.message !== 'string') return err;
  const byKey = e.code === '23503' ? BY_FOREIGN_KEY[violatedConstraint(e) ?? ''] : undefined;
  const Cls = byKey ?? BY_SQLSTATE[e.code] ?? BY_CLASS[e.code.slice(0, 2)] ?? ScrapeguardError;
  return new Cls({ code: e.code, message: e.message, detail: e.detail ?? undefined, hint: e.hint ?? undefined }, { cause: err });
}

/** A ValidationError raised before the call, naming the argument. */
export function invalidArgument(argument: string, message: string): ValidationError {
  return new ValidationError({ message, argument });
}
