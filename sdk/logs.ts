/** Reading one run's log lines back (public.run_logs): by minimum level, in a stable order. */
import type { LogLevel } from './runs.js';
import type { Transport } from './transport.js';

/** A line of public.run_logs(). */
export interface RunLogLine {
  /** Append order (with logged_at, the order lines are listed in). */
  id: number;
  logged_at: string;
  level: LogLevel;
  message: string;
  metadata: Record<string, unknown>;
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

interface RunLogsRow extends RunLogLine {
  matching: number;
}

export class Logs {
  constructor(private readonly transport: Transport) {}

  /** The first lines of a run at or above a level; UnknownRunError for an unknown run. */
  async forRun(runId: string, options: RunLogsOptions = {}): Promise<RunLogPage> {
    const rows = await this.transport.rpc<RunLogsRow[]>(
      'run_logs',
      { run_id: runId, min_level: options.minLevel ?? 'debug', max_lines: options.limit ?? 200 },
      'rows',
    );
    return {
      lines: rows.map(({ matching: _matching, ...line }) => line),
      matching: Number(rows[0]?.matching ?? 0),
    };
  }
}
