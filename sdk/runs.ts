/**
 * Scraping runs and their logs: startRun() records the run and returns a handle whose
 * logger buffers entries and ships them in batches through append_logs (by size, by
 * interval, and on finish). Entries are never dropped: a failed batch goes back to
 * the front of the buffer and is retried by the next flush.
 */
import type { ChangeContextScope, Transport } from './transport.js';

export type Engine = 'firecrawl' | 'devtools' | 'playwright' | 'api' | 'feed';
export type RunStatus = 'running' | 'succeeded' | 'partial' | 'failed' | 'cancelled';
export type FinishedStatus = Exclude<RunStatus, 'running'>;
export type LogLevel = 'debug' | 'info' | 'warn' | 'error';
export type Metadata = Record<string, unknown>;

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

/** A row of public.scraping_runs (the columns the SDK relies on; the row has more). */
export interface RunRow {
  id: string;
  source_id: string;
  engine: Engine;
  status: RunStatus;
  started_at: string;
  finished_at: string | null;
  duration_ms: number | null;
  [column: string]: unknown;
}

export interface LogEntry {
  level: LogLevel;
  message: string;
  metadata?: Metadata;
  /** ISO time; omitted → the database clock at append time. */
  at?: string;
}

export interface LogBufferOptions {
  /** Flush when this many entries are waiting (default 200). */
  maxBatch?: number;
  /** Flush at least this often, in ms (default 2000; 0 disables the timer). */
  intervalMs?: number;
  /** Stamp entries with the client's clock when logged (default false: the database clock). */
  clientTimestamps?: boolean;
}

export interface RunLogger {
  debug(message: string, metadata?: Metadata): void;
  info(message: string, metadata?: Metadata): void;
  warn(message: string, metadata?: Metadata): void;
  error(message: string, metadata?: Metadata): void;
}

export class RunHandle {
  readonly log: RunLogger;
  private readonly buffer: LogEntry[] = [];
  private chain: Promise<void> = Promise.resolve();
  private timer: NodeJS.Timeout | undefined;
  private readonly maxBatch: number;
  private readonly clientTimestamps: boolean;
  /** The last error of a background (timer) flush; the entries are still buffered. */
  lastFlushError: unknown;

  constructor(
    private readonly transport: Transport,
    readonly id: string,
    options: LogBufferOptions = {},
  ) {
    this.maxBatch = Math.max(1, options.maxBatch ?? 200);
    this.clientTimestamps = options.clientTimestamps ?? false;
    const intervalMs = options.intervalMs ?? 2000;
    if (intervalMs > 0) {
      this.timer = setInterval(() => {
        this.flush().catch((err: unknown) => (this.lastFlushError = err));
      }, intervalMs);
      this.timer.unref();
    }
    const at = (level: LogLevel) => (msg: string, metadata?: Metadata) => this.push({ level, message: msg, metadata });
    this.log = { debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') };
  }

  /** Entries logged but not yet written. */
  get pending(): number {
    return this.buffer.length;
  }

  private push(entry: LogEntry): void {
    const e: LogEntry = { level: entry.level, message: entry.message, metadata: entry.metadata ?? {} };
    if (this.clientTimestamps) e.at = new Date().toISOString();
    this.buffer.push(e);
    if (this.buffer.length >= this.maxBatch) {
      this.flush().catch((err: unknown) => (this.lastFlushError = err));
    }
  }

  /** Write everything buffered so far. Flushes run one at a time, in order. */
  flush(): Promise<void> {
    const next = this.chain.then(() => this.drain());
    this.chain = next.catch(() => undefined);
    return next;
  }

  private async drain(): Promise<void> {
    while (this.buffer.length > 0) {
      const batch = this.buffer.splice(0, this.maxBatch);
      try {
        await this.transport.rpc<number>('append_logs', { run_id: this.id, entries: batch }, 'scalar');
      } catch (err) {
        this.buffer.unshift(...batch);
        throw err;
      }
    }
  }

  /**
   * Run `fn` in one transaction whose writes to `events` are attributed to this run
   * in event_revisions (pg transport only).
   */
  transaction<T>(fn: (tx: ChangeContextScope) => Promise<T>, actor?: string): Promise<T> {
    return this.transport.withChangeContext({ runId: this.id, actor: actor ?? null }, fn);
  }

  /**
   * Flush the logs, then record the outcome (once). If the logs cannot be written,
   * the run is still finished and the flush error is thrown; the entries stay in
   * the buffer (`pending`) for another flush().
   */
  async finish(outcome: RunOutcome): Promise<RunRow> {
    if (this.timer) clearInterval(this.timer);
    let flushError: unknown;
    try {
      await this.flush();
    } catch (err) {
      flushError = err;
    }
    const row = await this.transport.rpc<RunRow>(
      'finish_run',
      {
        run_id: this.id,
        status: outcome.status,
        field_coverage: outcome.fieldCoverage ?? null,
        events_found: outcome.eventsFound ?? 0,
        events_created: outcome.eventsCreated ?? 0,
        events_updated: outcome.eventsUpdated ?? 0,
        events_skipped: outcome.eventsSkipped ?? 0,
        events_failed: outcome.eventsFailed ?? 0,
        error_code: outcome.errorCode ?? null,
        error_message: outcome.errorMessage ?? null,
        metadata: outcome.metadata ?? {},
      },
      'row',
    );
    if (flushError !== undefined) throw flushError;
    return row;
  }
}

export class Runs {
  constructor(
    private readonly transport: Transport,
    private readonly logOptions: LogBufferOptions = {},
  ) {}

  async start(options: StartRunOptions, logOptions: LogBufferOptions = {}): Promise<RunHandle> {
    const id = await this.transport.rpc<string>(
      'start_run',
      {
        source_id: options.sourceId,
        engine: options.engine,
        scrape_job_id: options.scrapeJobId ?? null,
        worker: options.worker ?? null,
        metadata: options.metadata ?? {},
      },
      'scalar',
    );
    return new RunHandle(this.transport, id, { ...this.logOptions, ...logOptions });
  }

  /** Recent runs of a source, newest first. */
  list(sourceId: string, limit = 20): Promise<RunRow[]> {
    return this.transport.select<RunRow>('scraping_runs', {
      eq: { source_id: sourceId },
      orderBy: { column: 'started_at', ascending: false },
      limit,
    });
  }
}
