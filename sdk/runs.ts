/**
 * Scraping runs and their logs: startRun() records the run and returns a handle whose
 * logger normalises each entry when it is logged (sdk/log-entry.ts), buffers it and ships
 * batches through append_logs (by size, by interval, on finish and on close).
 *
 * The logger never throws and never blocks the scraper:
 *  - a batch the database refuses (a data error) is split and retried until the refused
 *    entry is isolated; the rest is written, the refused entry is counted and replaced by a
 *    warn line saying so;
 *  - a batch that fails for another reason (connection lost, deadlock) stays buffered, in
 *    order, for the next flush;
 *  - the buffer is bounded (`maxBuffered` entries, `maxBufferedBytes`): when full, the oldest debug entry is dropped
 *    first, then info, then warn, then error; drops are counted;
 *  - finish() records the run even when logs could not be written, and records in the run's
 *    metadata (`scrapeguard_logs`) what was dropped, refused or still unwritten;
 *  - lines logged after finish() are written too (flushed right away); close() flushes
 *    every open run.
 */
import {
  invalidArgument,
  RunAlreadyFinishedError,
  ScrapeguardError,
  UnknownRunError,
  ValidationError,
} from './errors.js';
import {
  codePointLength,
  errorMessageOf,
  jsonbTextBytes,
  storableLogEntry,
  storableMessage,
  storableMetadata,
  storableText,
  type JsonObject,
  type LogLevel,
  type StorableLogEntry,
} from './log-entry.js';
import type { ChangeContextScope, RowOf, RpcArgs, Transport } from './transport.js';
import { addIngestResult, emptyIngestResult, ingestEvents, runHeaders, type IngestItem, type IngestOptions, type IngestResult } from './ingest.js';

export type { LogLevel } from './log-entry.js';
export type Engine = 'firecrawl' | 'devtools' | 'playwright' | 'api' | 'feed';
export type RunStatus = 'running' | 'succeeded' | 'partial' | 'failed' | 'cancelled';
export type FinishedStatus = Exclude<RunStatus, 'running'>;
export type Metadata = Record<string, unknown>;

export const ENGINES: readonly Engine[] = ['firecrawl', 'devtools', 'playwright', 'api', 'feed'];
const FINISHED_STATUSES: readonly FinishedStatus[] = ['succeeded', 'partial', 'failed', 'cancelled'];
/** start_run / acquire_permit: a worker name is at most 200 characters. */
export const WORKER_MAX_CHARS = 200;
/** scraping_runs.metadata (start_run's and finish_run's merged): at most 64 KiB as JSON text. */
export const RUN_METADATA_MAX_BYTES = 65536;
/** finish_run: error_code is at most 200 characters. */
const ERROR_CODE_MAX_CHARS = 200;
const INT4_MAX = 2_147_483_647;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export interface StartRunOptions {
  sourceId: string;
  engine: Engine;
  scrapeJobId?: string | null;
  worker?: string | null;
  metadata?: Metadata;
}

export interface RunOutcome {
  status: FinishedStatus;
  fieldCoverage?: number | null;
  eventsFound?: number;
  eventsCreated?: number;
  eventsUpdated?: number;
  eventsSkipped?: number;
  eventsFailed?: number;
  errorCode?: string | null;
  errorMessage?: string | null;
  metadata?: Metadata;
}

/** A row of public.scraping_runs (its CHECKs keep engine and status to the known values, metadata to an object). */
export type RunRow = Omit<RowOf<'scraping_runs'>, 'engine' | 'status' | 'metadata'> & {
  engine: Engine;
  status: RunStatus;
  metadata: JsonObject;
};

/** An entry as append_logs takes it (after normalisation). */
export type LogEntry = StorableLogEntry;

export interface LogBufferOptions {
  /** Flush when this many entries are waiting (default 200). */
  maxBatch?: number;
  /** Flush at least this often, in ms (default 2000; 0 disables the timer). */
  intervalMs?: number;
  /** Stamp entries with the client's clock when logged (default false: the database clock). */
  clientTimestamps?: boolean;
  /**
   * Entries kept while the database cannot take them (default 10,000). When full, the oldest
   * debug entry is dropped first, then the oldest info, warn, error.
   */
  maxBuffered?: number;
  /**
   * The same bound in memory (default 32 MiB, at least 1 MiB), counting a message as two
   * bytes a UTF-16 unit and metadata as its JSON size.
   */
  maxBufferedBytes?: number;
  /** Errors of flushes nobody awaits (timer, size, after finish) and refused entries; never thrown. */
  onError?: (error: unknown) => void;
}

export interface RunLogger {
  debug(message: string, metadata?: Metadata): void;
  info(message: string, metadata?: Metadata): void;
  warn(message: string, metadata?: Metadata): void;
  error(message: string, metadata?: Metadata): void;
}

/** What the logger of a run could and could not write. */
export interface LogStats {
  /** Entries written by append_logs (placeholders for refused entries included). */
  written: number;
  /** Entries dropped because the buffer was full, by level. */
  dropped: Record<LogLevel, number>;
  /** Entries the database refused even after normalisation (each isolated and replaced by a warn line). */
  refused: number;
  /** Entries still buffered. */
  pending: number;
  /** The last error of a flush or a refused entry. */
  lastError: unknown;
}

/** Where a Runs keeps the handles whose logs are not all written. */
interface RunRegistry {
  add(run: RunHandle): void;
  delete(run: RunHandle): void;
}

const LEVEL_ORDER: readonly LogLevel[] = ['debug', 'info', 'warn', 'error'];

function requireUuid(value: unknown, argument: string, call: string): string {
  if (value === undefined || value === null || value === '') throw invalidArgument(argument, `${call}: ${argument} is required`);
  if (typeof value !== 'string' || !UUID.test(value)) {
    throw invalidArgument(argument, `${call}: ${argument} must be a uuid (got ${JSON.stringify(storableText(String(value)))})`);
  }
  return value;
}

/** A worker name as start_run and acquire_permit take it: storable text of at most 200 characters. */
export function storableWorker(worker: unknown, call: string): string | null {
  if (worker === undefined || worker === null) return null;
  if (typeof worker !== 'string') throw invalidArgument('worker', `${call}: worker must be a string`);
  const clean = storableText(worker);
  if (codePointLength(clean) > WORKER_MAX_CHARS) {
    throw invalidArgument('worker', `${call}: worker must be at most ${WORKER_MAX_CHARS} characters (got ${codePointLength(clean)})`);
  }
  return clean;
}

function count(value: unknown, argument: string): number {
  if (value === undefined) return 0;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 0 || value > INT4_MAX) {
    throw invalidArgument(argument, `finish: ${argument} must be an integer from 0 to ${INT4_MAX} (got ${String(value)})`);
  }
  return value;
}

function isEntryError(err: unknown): boolean {
  return err instanceof ValidationError || (err instanceof ScrapeguardError && (err.code ?? '').startsWith('54'));
}

export class RunHandle {
  readonly log: RunLogger;
  private readonly buffer: LogEntry[] = [];
  private readonly buffered: Record<LogLevel, number> = { debug: 0, info: 0, warn: 0, error: 0 };
  private chain: Promise<void> = Promise.resolve();
  private timer: NodeJS.Timeout | undefined;
  private lateFlush = false;
  private readonly maxBatch: number;
  private readonly maxBuffered: number;
  private readonly maxBufferedBytes: number;
  private bufferedBytes = 0;
  private readonly sizes = new WeakMap<LogEntry, number>();
  private readonly clientTimestamps: boolean;
  private readonly onError: ((error: unknown) => void) | undefined;
  private finishCalled = false;
  /** Entries taken from the buffer by the flush under way and not yet written or refused. */
  private inFlight = 0;
  private row: RunRow | undefined;
  private readonly counts = { written: 0, refused: 0, dropped: { debug: 0, info: 0, warn: 0, error: 0 } };
  /** The last error of a flush nobody awaited (timer, size, after finish); the entries are still buffered. */
  lastFlushError: unknown;
  /** What run.ingest() has written so far (the database adds the same counts to the run). */
  readonly ingested: IngestResult = emptyIngestResult();

  constructor(
    private readonly transport: Transport,
    readonly id: string,
    options: LogBufferOptions = {},
    private readonly startMetadataBytes = 2,
    private readonly registry: RunRegistry = { add: () => undefined, delete: () => undefined },
  ) {
    this.maxBatch = Math.max(1, Math.trunc(options.maxBatch ?? 200));
    this.maxBuffered = Math.max(1, Math.trunc(options.maxBuffered ?? 10_000));
    this.maxBufferedBytes = Math.max(1 << 20, Math.trunc(options.maxBufferedBytes ?? 32 << 20));
    this.clientTimestamps = options.clientTimestamps ?? false;
    this.onError = options.onError;
    const intervalMs = options.intervalMs ?? 2000;
    if (intervalMs > 0) {
      this.timer = setInterval(() => this.background(), intervalMs);
      this.timer.unref();
    }
    const at = (level: LogLevel) => (msg: string, metadata?: Metadata) => this.push(level, msg, metadata);
    this.log = { debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') };
  }

  /** Entries logged but not yet written (buffered or being sent). */
  get pending(): number {
    return this.buffer.length + this.inFlight;
  }

  /** Whether finish() has recorded the run. */
  get finished(): boolean {
    return this.row !== undefined;
  }

  get stats(): LogStats {
    return {
      written: this.counts.written,
      dropped: { ...this.counts.dropped },
      refused: this.counts.refused,
      pending: this.pending,
      lastError: this.lastFlushError,
    };
  }

  private report(err: unknown): void {
    this.lastFlushError = err;
    try {
      this.onError?.(err);
    } catch {
      // The caller's handler failing must not break logging.
    }
  }

  /** A flush nobody awaits: its error is reported, never thrown. */
  private background(): void {
    this.flush().catch((err: unknown) => this.report(err));
  }

  private push(level: LogLevel, message: unknown, metadata: unknown): void {
    const entry = storableLogEntry(level, message, metadata, this.clientTimestamps ? new Date().toISOString() : undefined);
    const size = 2 * entry.message.length + jsonbTextBytes(entry.metadata);
    if (this.buffer.length >= this.maxBuffered) this.dropOne();
    while (this.buffer.length > 0 && this.bufferedBytes + size > this.maxBufferedBytes) this.dropOne();
    this.sizes.set(entry, size);
    this.buffer.push(entry);
    this.buffered[entry.level] += 1;
    this.bufferedBytes += size;
    // A finished run's logger is forgotten by its Runs once empty: a late line brings it back.
    if (this.finishCalled) this.registry.add(this);
    if (this.buffer.length >= this.maxBatch) {
      this.background();
    } else if (this.finishCalled && !this.lateFlush) {
      // After finish() there is no timer: a late line is written on the next turn.
      this.lateFlush = true;
      setImmediate(() => {
        this.lateFlush = false;
        this.background();
      });
    }
  }

  /** The buffer is full: drop the oldest entry of the lowest level present. */
  private dropOne(): void {
    const level = LEVEL_ORDER.find((l) => this.buffered[l] > 0);
    if (!level) return;
    const i = this.buffer.findIndex((e) => e.level === level);
    const [dropped] = this.buffer.splice(i, 1);
    this.buffered[level] -= 1;
    this.bufferedBytes -= this.sizes.get(dropped!) ?? 0;
    this.counts.dropped[level] += 1;
  }

  private take(n: number): LogEntry[] {
    const batch = this.buffer.splice(0, n);
    for (const e of batch) {
      this.buffered[e.level] -= 1;
      this.bufferedBytes -= this.sizes.get(e) ?? 0;
    }
    return batch;
  }

  private putBack(entries: LogEntry[]): void {
    this.buffer.unshift(...entries);
    for (const e of entries) {
      this.buffered[e.level] += 1;
      this.bufferedBytes += this.sizes.get(e) ?? 0;
    }
  }

  /**
   * Write everything buffered so far. Flushes run one at a time, in order. Resolves when the
   * buffer is empty; rejects (entries kept) when the database could not be reached or refused
   * the call as a whole. Entries it refuses one by one are counted, not thrown.
   */
  flush(): Promise<void> {
    const next = this.chain.then(() => this.drain());
    this.chain = next.catch(() => undefined);
    return next;
  }

  private async append(entries: LogEntry[]): Promise<void> {
    await this.transport.rpc('append_logs', { run_id: this.id, entries });
    this.counts.written += entries.length;
  }

  private async drain(): Promise<void> {
    while (this.buffer.length > 0) {
      // Parts still to write, in order; a refused part is split in two until the refused entry is alone.
      const batch = this.take(this.maxBatch);
      this.inFlight = batch.length;
      const parts: LogEntry[][] = [batch];
      while (parts.length > 0) {
        const part = parts.shift()!;
        try {
          await this.append(part);
          this.inFlight -= part.length;
        } catch (err) {
          if (err instanceof UnknownRunError) {
            // The run is gone (deleted or pruned): nothing buffered for it can ever be written.
            this.counts.refused += this.inFlight + this.buffer.length;
            this.inFlight = 0;
            this.take(this.buffer.length);
            throw err;
          }
          if (!isEntryError(err)) {
            this.inFlight = 0;
            this.putBack([...part, ...parts.flat()]);
            throw err;
          }
          if (part.length > 1) {
            const mid = Math.ceil(part.length / 2);
            parts.unshift(part.slice(0, mid), part.slice(mid));
            continue;
          }
          this.inFlight -= 1;
          await this.refuse(part[0]!, err);
        }
      }
    }
  }

  /** One entry the database refused: counted, reported, and replaced by a warn line saying so. */
  private async refuse(entry: LogEntry, err: unknown): Promise<void> {
    this.counts.refused += 1;
    this.report(err);
    const note: LogEntry = storableLogEntry(
      'warn',
      `scrapeguard: a ${entry.level} log entry was refused by append_logs: ${errorMessageOf(err)}`,
      { refused_message: storableMessage(entry.message, 200) },
      entry.at,
    );
    await this.append([note]).catch((noteError: unknown) => this.report(noteError));
  }

  /**
   * Run `fn` in one transaction whose writes to `events` are attributed to this run
   * in event_revisions (pg transport only). Refused with RunAlreadyFinishedError once
   * the run is finished (set_change_context refuses it too, SG003).
   */
  transaction<T>(fn: (tx: ChangeContextScope) => Promise<T>, actor?: string): Promise<T> {
    if (this.row) {
      return Promise.reject(
        new RunAlreadyFinishedError({ code: 'SG003', message: `run ${this.id} is already finished (status ${this.row.status})` }),
      );
    }
    return this.transport.withChangeContext({ runId: this.id, actor: actor ?? null }, fn);
  }

  /**
   * Upsert scraped events by the source's own key through ingest_events, in batches
   * (sdk/ingest.ts), attributed to this run and counted into it by the database: the
   * counts given to finish() are added to those, so pass none for ingested events.
   * Refused with RunAlreadyFinishedError once the run is finished.
   */
  async ingest(items: readonly IngestItem[], options: IngestOptions = {}): Promise<IngestResult> {
    if (this.row) {
      throw new RunAlreadyFinishedError({ code: 'SG003', message: `run ${this.id} is already finished (status ${this.row.status})` });
    }
    const result = await ingestEvents(this.transport, this.id, items, options);
    const { missing_keys: _missing, ...counts } = result;
    addIngestResult(this.ingested, { ...counts, errors: result.errors, event_ids: [] }, 0);
    return result;
  }

  /**
   * The request header naming this run (`x-scrapeguard-run-id`): writes to events made
   * through PostgREST with it, as the service role, are attributed to the run while it runs.
   */
  get headers(): Record<string, string> {
    return runHeaders(this.id);
  }

  /**
   * Flush the logs, then record the outcome (once). Logs that could not be written do not
   * stop it: the run is recorded and its metadata gets `scrapeguard_logs` = {dropped,
   * refused, unwritten} when any entry was lost or is still unwritten (`stats` and
   * `onError` say the same). Throws only when the outcome itself could not be recorded
   * (invalid outcome: ValidationError before the call; RunAlreadyFinishedError;
   * ConnectionLostError — then finish() may be called again).
   */
  async finish(outcome: RunOutcome): Promise<RunRow> {
    if (this.row) {
      throw new RunAlreadyFinishedError({ code: 'SG003', message: `run ${this.id} is already finished (status ${this.row.status})` });
    }
    const args = this.finishArgs(outcome);
    this.finishCalled = true;
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    await this.flush().catch((err: unknown) => this.report(err));

    const lost = {
      dropped: Object.values(this.counts.dropped).reduce((a, b) => a + b, 0),
      refused: this.counts.refused,
      unwritten: this.pending,
    };
    if (lost.dropped + lost.refused + lost.unwritten > 0) {
      args.metadata = { ...args.metadata, scrapeguard_logs: { ...lost, dropped_by_level: { ...this.counts.dropped } } };
    }
    const row = await this.transport.rpc('finish_run', args);
    // finish_run raises rather than return no row.
    if (!row) throw new ScrapeguardError({ message: 'finish_run returned no row' });
    this.row = row as RunRow;
    if (this.pending === 0) this.registry.delete(this);
    else this.background();
    return this.row;
  }

  /**
   * Finish the run as failed with `error`'s message (made storable), unless it is finished
   * already. Never throws: resolves to the finished row, or to null when the run could not be
   * finished (the reason goes to `onError` and `lastFlushError`). For a catch block that must
   * rethrow the scrape's own error.
   */
  async fail(error: unknown, outcome: Omit<RunOutcome, 'status'> = {}): Promise<RunRow | null> {
    if (this.row) return this.row;
    try {
      return await this.finish({ errorMessage: errorMessageOf(error), ...outcome, status: 'failed' });
    } catch (err) {
      this.report(err);
      return null;
    }
  }

  /** Flush what is buffered, reporting instead of throwing; forgotten by its Runs once finished and empty. */
  async settle(): Promise<void> {
    await this.flush().catch((err: unknown) => this.report(err));
    if (this.row && this.pending === 0) this.registry.delete(this);
  }

  /** Stop the timer of a run that will not be finished by this process. */
  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }

  private finishArgs(outcome: RunOutcome): Omit<RpcArgs<'finish_run'>, 'metadata'> & { metadata: JsonObject } {
    if (outcome === null || typeof outcome !== 'object') throw invalidArgument('outcome', 'finish: an outcome is required');
    if (!FINISHED_STATUSES.includes(outcome.status)) {
      throw invalidArgument(
        'status',
        `finish: status must be one of ${FINISHED_STATUSES.join(', ')} (got ${JSON.stringify(storableText(String(outcome.status)))})`,
      );
    }
    const coverage = outcome.fieldCoverage ?? null;
    if (coverage !== null && (typeof coverage !== 'number' || !Number.isFinite(coverage) || coverage < 0 || coverage > 100)) {
      throw invalidArgument('fieldCoverage', `finish: fieldCoverage must be a number from 0 to 100 (got ${String(coverage)})`);
    }
    // The merged metadata must stay under 64 KiB: finish's own gets what start's left over.
    const budget = Math.max(1024, RUN_METADATA_MAX_BYTES - this.startMetadataBytes - 512);
    return {
      run_id: this.id,
      status: outcome.status,
      field_coverage: coverage,
      events_found: count(outcome.eventsFound, 'eventsFound'),
      events_created: count(outcome.eventsCreated, 'eventsCreated'),
      events_updated: count(outcome.eventsUpdated, 'eventsUpdated'),
      events_skipped: count(outcome.eventsSkipped, 'eventsSkipped'),
      events_failed: count(outcome.eventsFailed, 'eventsFailed'),
      error_code: outcome.errorCode == null ? null : storableMessage(String(outcome.errorCode), ERROR_CODE_MAX_CHARS),
      error_message: outcome.errorMessage == null ? null : storableText(String(outcome.errorMessage)),
      metadata: storableMetadata(outcome.metadata, budget).value,
    };
  }
}

export class Runs {
  private readonly open = new Set<RunHandle>();

  constructor(
    private readonly transport: Transport,
    private readonly logOptions: LogBufferOptions = {},
  ) {}

  /**
   * Open a run. Arguments are checked before the call (ValidationError naming the argument);
   * the worker is made storable, metadata normalised like log metadata (64 KiB limit).
   */
  async start(options: StartRunOptions, logOptions: LogBufferOptions = {}): Promise<RunHandle> {
    if (options === null || typeof options !== 'object') throw invalidArgument('options', 'runs.start: options are required');
    const sourceId = requireUuid(options.sourceId, 'sourceId', 'runs.start');
    if (options.engine === undefined || options.engine === null) {
      throw invalidArgument('engine', `runs.start: engine is required (one of ${ENGINES.join(', ')})`);
    }
    if (!ENGINES.includes(options.engine)) {
      throw invalidArgument(
        'engine',
        `runs.start: engine must be one of ${ENGINES.join(', ')} (got ${JSON.stringify(storableText(String(options.engine)))})`,
      );
    }
    const scrapeJobId = options.scrapeJobId == null ? null : requireUuid(options.scrapeJobId, 'scrapeJobId', 'runs.start');
    const worker = storableWorker(options.worker, 'runs.start');
    const metadata = storableMetadata(options.metadata, RUN_METADATA_MAX_BYTES);
    const id = await this.transport.rpc('start_run', {
      source_id: sourceId,
      engine: options.engine,
      scrape_job_id: scrapeJobId,
      worker,
      metadata: metadata.value,
    });
    const handle = new RunHandle(this.transport, id, { ...this.logOptions, ...logOptions }, jsonbTextBytes(metadata.value), this.open);
    this.open.add(handle);
    return handle;
  }

  /** Runs started here whose logs are not all written yet (running, or finished with lines pending). */
  get openRuns(): RunHandle[] {
    return [...this.open];
  }

  /**
   * Flush every open run's logs (close() calls this). Never throws: what could not be written
   * stays in each run's `stats` and goes to its `onError`. Runs not finished stay running.
   */
  async flushAll(): Promise<void> {
    await Promise.all([...this.open].map((run) => run.settle()));
  }

  /** Recent runs of a source, newest first. */
  async list(sourceId: string, limit = 20): Promise<RunRow[]> {
    requireUuid(sourceId, 'sourceId', 'runs.list');
    const rows = await this.transport.select('scraping_runs', {
      eq: { source_id: sourceId },
      orderBy: { column: 'started_at', ascending: false },
      limit,
    });
    return rows as RunRow[];
  }
}
