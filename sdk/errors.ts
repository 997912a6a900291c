/**
 * Typed errors, chosen by SQLSTATE (never by the wording of the message); for a foreign-key
 * violation also by the key's name, which PostgREST reports only inside its message.
 *
 * | SQLSTATE | class                     | raised when                                        |
 * |----------|---------------------------|----------------------------------------------------|
 * | SG001    | UnknownSourceError        | the source id has no event_sources row             |
 * | SG002    | UnknownRunError           | the run id has no scraping_runs row                |
 * | 23503    | UnknownSourceError / UnknownRunError | the source or run was deleted by another transaction between the RPC's check and its write (by foreign key) |
 * | SG003    | RunAlreadyFinishedError   | finish_run on a run that is already finished       |
 * | 22023    | ValidationError           | invalid parameter value (range, enum, log entry…)  |
 * | 22004    | ValidationError           | a required argument is null                        |
 * | 42501    | PermissionDeniedError     | the role may not do this (RLS / privileges)        |
 * | —        | CircuitOpenError          | raised by the SDK when a permit is denied          |
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
export class ValidationError extends ScrapeguardError {}
export class PermissionDeniedError extends ScrapeguardError {}

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

const BY_SQLSTATE: Record<string, new (f: DatabaseErrorFields, o?: { cause?: unknown }) => ScrapeguardError> = {
  SG001: UnknownSourceError,
  SG002: UnknownRunError,
  SG003: RunAlreadyFinishedError,
  '22023': ValidationError,
  '22004': ValidationError,
  '23502': ValidationError,
  '23514': ValidationError,
  '22P02': ValidationError,
  '42501': PermissionDeniedError,
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

function violatedConstraint(e: Partial<DatabaseErrorFields>): string | undefined {
  return e.constraint ?? /constraint "([^"]+)"/.exec(e.message ?? '')?.[1];
}

/** Wrap a driver error (pg's DatabaseError or PostgREST's error object) in the matching typed error. */
export function toScrapeguardError(err: unknown): unknown {
  if (err instanceof ScrapeguardError) return err;
  if (typeof err !== 'object' || err === null) return err;
  const e = err as Partial<DatabaseErrorFields>;
  if (typeof e.code !== 'string' || typeof e.message !== 'string') return err;
  const byKey = e.code === '23503' ? BY_FOREIGN_KEY[violatedConstraint(e) ?? ''] : undefined;
  const Cls = byKey ?? BY_SQLSTATE[e.code] ?? ScrapeguardError;
  return new Cls({ code: e.code, message: e.message, detail: e.detail ?? undefined, hint: e.hint ?? undefined }, { cause: err });
}
