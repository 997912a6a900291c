export { createScrapeguard, type Scrapeguard, type ScrapeguardOptions } from './client.js';
export {
  Breaker,
  type BreakerMode,
  type BreakerOptions,
  type BreakerState,
  type BreakerStateRow,
  type Permit,
  type RecordFailureOptions,
  type WithCircuitOptions,
  isScrapeguardOwnError,
} from './breaker.js';
export {
  ENGINES,
  RunHandle,
  Runs,
  type LogStats,
  type Engine,
  type FinishedStatus,
  type LogBufferOptions,
  type LogEntry,
  type LogLevel,
  type Metadata,
  type RunLogger,
  type RunOutcome,
  type RunRow,
  type RunStatus,
  type StartRunOptions,
} from './runs.js';
export { RETRY_AFTER_MAX_SECONDS, type RetryAfter } from './retry-after.js';
export { History, type EventRow, type RevisionOperation, type RevisionRow } from './history.js';
export {
  Health,
  type FleetHealthOptions,
  type FleetHealthRow,
  type WorkerHealthOptions,
  type WorkerHealthRow,
} from './health.js';
export {
  ingestEvents,
  INGEST_MAX_BATCH,
  RUN_ID_HEADER,
  runHeaders,
  type IngestItem,
  type IngestItemError,
  type IngestOptions,
  type IngestResult,
} from './ingest.js';
export { Logs, type RunLogLine, type RunLogPage, type RunLogsOptions } from './logs.js';
export { Transitions, type RecentTransitionsOptions, type TransitionRow } from './transitions.js';
export { TestClock, type ClockConnection, type ClockMoveOptions, type ClockReading } from './clock.js';
export {
  CircuitOpenError,
  ConnectionLostError,
  RetryableError,
  PermissionDeniedError,
  RunAlreadyFinishedError,
  ScrapeguardError,
  toScrapeguardError,
  UnknownRunError,
  UnknownSourceError,
  ValidationError,
} from './errors.js';
export {
  errorMessageOf,
  METADATA_MAX_BYTES,
  MESSAGE_MAX_CHARS,
  storableLogEntry,
  storableMetadata,
  storableText,
  toStorableJson,
  type JsonObject,
} from './log-entry.js';
export type {
  ChangeContext,
  ChangeContextScope,
  FunctionName,
  FunctionRow,
  RelationName,
  ResultShape,
  ReturnShape,
  RowOf,
  RpcArgs,
  RpcResult,
  SelectOptions,
  Transport,
} from './transport.js';
export { PgTransport, type PgTransportOptions } from './transports/pg.js';
export { SupabaseTransport, type SupabaseLike } from './transports/supabase.js';
export type { Database, Json } from './database.types.js';
export { FUNCTION_RETURNS } from './database.functions.js';
