/** Reading one run's log lines back (public.run_logs): by minimum level, in a stable order. */
import type { LogLevel } from './runs.js';
import type { JsonObject } from './log-entry.js';
import type { Transport } from './transport.js';

/** A line of public.run_logs(). */
export interface RunLogLine {
  /** Append order (with logged_at, the order lines are listed in). */
  id: number;
  logged_at: string;
  level: LogLevel;
  message: string;
  metadata: JsonObject;
}

export interface RunLogsOptions {
  /** Lines at this level or above (debug < info < warn < error); default debug. */
  minLevel?: LogLevel;
  /** At most this many lines, the first ones (1–10000; default 200). */
  limit?: number;
}

export interface RunLogPage {
  lines: RunLogLine[];
  /** How many lines match in all (lines.length of them are here). */
  matching: number;
}

export class Logs {
  constructor(private readonly transport: Transport) {}

  /** The first lines of a run at or above a level; UnknownRunError for an unknown run. */
  async forRun(runId: string, options: RunLogsOptions = {}): Promise<RunLogPage> {
    const rows = await this.transport.rpc('run_logs', {
      run_id: runId,
      min_level: options.minLevel ?? 'debug',
      max_lines: options.limit ?? 200,
    });
    return {
      // Its columns come from scraping_logs, whose NOT NULLs and CHECK on level hold.
      lines: rows.map(({ matching: _matching, ...line }) => line as RunLogLine),
      matching: Number(rows[0]?.matching ?? 0),
    };
  }
}
